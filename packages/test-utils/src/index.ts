/**
 * `@sse/test-utils` (private): what every `@sse/*` package tests with. A reader that parses event
 * streams from real sockets with `eventsource-parser`, a reader on the `eventsource` client,
 * servers on port 0 that always close, deadlines for every await, and the adapter contract
 * suite that each framework adapter runs against its real framework.
 */
export { createMemorySink, type MemorySink, type MemorySinkOptions } from '@sse/core/testing'
export { type Certificate, selfSignedCertificate } from './certificate.ts'
export { CHROMIUM_ARGS, findChromium, isCI } from './chromium.ts'
export { describeAdapterContract } from './contract/describe-adapter-contract.ts'
export type {
  AdapterContractOptions,
  AdapterFixture,
  ContractAuthorize,
  ContractHubOptions,
  ContractKey,
  ContractStreamOptions,
  StartContractServer,
} from './contract/fixture.ts'
export { codeOf, type ErrorCodeOf, rejectionCodeOf } from './error-code.ts'
export { expectFeedResumed } from './expect-feed-resumed.ts'
export { expectGracefulShutdown } from './expect-graceful-shutdown.ts'
export { expectKeyedByAddress, expectKeyedByForwardedFor } from './expect-keyed-streams.ts'
export { expectPacedAnswer } from './expect-paced-answer.ts'
export { type FetchedJson, type FetchedText, fetchJson, fetchText, postJson } from './fetch-text.ts'
export { type HeldAuthorize, heldAuthorize } from './held-authorize.ts'
export { type LiveBytes, liveBytes } from './live-bytes.ts'
export { type PlainAnswer, type ReadAnswerOptions, readAnswer } from './read-answer.ts'
export {
  type EndKind,
  type EventStreamReader,
  headerNames,
  type OpenEventStreamOptions,
  openEventStream,
  type ReceivedEvent,
} from './read-events.ts'
export { type ResponseReader, readResponse } from './read-response.ts'
export {
  type EventSourceReader,
  type ReadWithEventSourceOptions,
  readWithEventSource,
  type SourceMessage,
} from './read-with-event-source.ts'
export { expectReadmeShowsExamples, expectReadmeShowsFiles, readmeCodeBlocks } from './readme.ts'
export {
  type ExampleStarter,
  type ReadmeExamples,
  type RunExample,
  type StartedExample,
  useReadmeExamples,
} from './readme-examples.ts'
export {
  type ExampleServer,
  type RunningExample,
  runExample,
  runningServer,
} from './run-example.ts'
export {
  type AnyServer,
  type StartedServer,
  serveStarted,
  startHttp2SecureServer,
  startHttp2Server,
  startHttpServer,
  type TestServer,
  trackConnections,
} from './server.ts'
export { type TestScope, useTestScope } from './test-scope.ts'
export { DEFAULT_TIMEOUT_MS, DeadlineError, pollUntil, withTimeout } from './with-timeout.ts'
