/** The public surface of `@sse/test-utils`: a change to it shows up here, never by accident. */
import { expect, it } from 'vitest'
import * as testUtils from '../src/index.ts'

it('exports the same names', () => {
  expect(Object.keys(testUtils).sort()).toMatchInlineSnapshot(`
    [
      "DEFAULT_TIMEOUT_MS",
      "DeadlineError",
      "createMemorySink",
      "describeAdapterContract",
      "expectPacedAnswer",
      "expectReadmeShowsExamples",
      "expectReadmeShowsFiles",
      "liveBytes",
      "openEventStream",
      "pollUntil",
      "readAnswer",
      "readWithEventSource",
      "readmeCodeBlocks",
      "runExample",
      "startHttp2Server",
      "startHttpServer",
      "withTimeout",
    ]
  `)
})
