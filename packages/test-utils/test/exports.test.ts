/** The public surface of `@sse/test-utils`: a change to it shows up here, never by accident. */
import { expect, it } from 'vitest'
import * as testUtils from '../src/index.ts'

it('exports the same names', () => {
  // One line: the names, sorted, separated by spaces.
  expect(Object.keys(testUtils).sort().join(' ')).toMatchInlineSnapshot(
    `"CHROMIUM_ARGS DEFAULT_TIMEOUT_MS DeadlineError codeOf createMemorySink describeAdapterContract expectFeedResumed expectGracefulShutdown expectKeyedByAddress expectKeyedByForwardedFor expectPacedAnswer expectReadmeShowsExamples expectReadmeShowsFiles fetchJson fetchText findChromium headerNames heldAuthorize isCI liveBytes openEventStream pollUntil postJson readAnswer readResponse readWithEventSource readmeCodeBlocks rejectionCodeOf runExample runningServer selfSignedCertificate serveStarted startHttp2SecureServer startHttp2Server startHttpServer trackConnections useReadmeExamples useTestScope withTimeout"`,
  )
})
