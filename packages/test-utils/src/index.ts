/**
 * `@sse/test-utils` (private): what every `@sse/*` package tests with. A reader that parses event
 * streams from real sockets with `eventsource-parser`, a reader on the `eventsource` client,
 * servers on port 0 that always close, deadlines for every await, and the adapter contract
 * suite that each framework adapter runs against its real framework.
 */
export { createMemorySink, type MemorySink, type MemorySinkOptions } from '@sse/core/testing'
export {
  type AdapterContractOptions,
  type AdapterFixture,
  type ContractAuthorize,
  type ContractKey,
  type ContractStreamOptions,
  describeAdapterContract,
  type StartContractServer,
} from './contract.ts'
export { expectPacedAnswer } from './expect-paced-answer.ts'
export { type LiveBytes, liveBytes } from './live-bytes.ts'
export { type PlainAnswer, type ReadAnswerOptions, readAnswer } from './read-answer.ts'
export {
  type EndKind,
  type EventStreamReader,
  type OpenEventStreamOptions,
  openEventStream,
  type ReceivedEvent,
} from './read-events.ts'
export {
  type EventSourceReader,
  type ReadWithEventSourceOptions,
  readWithEventSource,
  type SourceMessage,
} from './read-with-event-source.ts'
export { expectReadmeShowsExamples, expectReadmeShowsFiles, readmeCodeBlocks } from './readme.ts'
export { type RunningExample, runExample } from './run-example.ts'
export { type StartedServer, startHttp2Server, startHttpServer, type TestServer } from './server.ts'
export { DEFAULT_TIMEOUT_MS, DeadlineError, pollUntil, withTimeout } from './with-timeout.ts'
