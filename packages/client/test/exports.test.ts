/** The public surface of `@sse/client`, never changed by accident. */
import { expect, it } from 'vitest'
import * as client from '../src/index.ts'

it('exports the same names', () => {
  // One line: the names, sorted, separated by spaces.
  expect(Object.keys(client).sort().join(' ')).toMatchInlineSnapshot(
    `"MAX_RECONNECT_DELAY_MS RESET_EVENT SseClientError connect isRetryableStatus"`,
  )
})
