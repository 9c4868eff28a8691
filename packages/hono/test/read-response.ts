/**
 * Test helper: reads the body of a `Response` as a Web stream with `eventsource-parser`, as Bun,
 * Deno and Workers hand it to their clients. Every wait has a deadline; `cancel()` cancels the
 * body, which is how a Fetch-API runtime tells the stream its client left.
 */
import { pollUntil } from '@sse/test-utils'
import { createParser, type EventSourceMessage } from 'eventsource-parser'

export interface ResponseReader {
  readonly events: readonly EventSourceMessage[]
  readonly comments: readonly string[]
  readonly retries: readonly number[]
  readonly bytes: number
  /** `'end'` once the body ended, `'cancelled'` after `cancel()`, `'error'` if it errored. */
  readonly ended: 'end' | 'cancelled' | 'error' | undefined
  waitFor(count: number, timeoutMs?: number): Promise<EventSourceMessage[]>
  waitForComments(count: number, timeoutMs?: number): Promise<void>
  waitForEnd(timeoutMs?: number): Promise<'end' | 'cancelled' | 'error'>
  /** Cancels the body (the client leaves); resolves once the cancel went through. */
  cancel(): Promise<void>
}

/**
 * Starts reading `response.body` in the background.
 *
 * @example
 * const reader = readResponse(await app.request('/events'))
 * const [first] = await reader.waitFor(1)
 * await reader.cancel()
 */
export function readResponse(response: Response): ResponseReader {
  if (!response.body) throw new Error(`no body (status ${response.status})`)
  const body = response.body.getReader()
  const events: EventSourceMessage[] = []
  const comments: string[] = []
  const retries: number[] = []
  const parser = createParser({
    onEvent: (event) => events.push(event),
    onComment: (comment) => comments.push(comment),
    onRetry: (retry) => retries.push(retry),
  })
  const decoder = new TextDecoder()
  let bytes = 0
  let ended: ResponseReader['ended']
  const describe = () =>
    `${events.length} events (last ${JSON.stringify(events.at(-1))?.slice(0, 100)}), ${comments.length} comments, ${bytes} bytes, ended: ${ended ?? 'no'}`
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await body.read()
        if (done) break
        bytes += value.length
        parser.feed(decoder.decode(value, { stream: true }))
      }
      ended ??= 'end'
    } catch {
      ended ??= 'error'
    }
  })()
  return {
    events,
    comments,
    retries,
    get bytes() {
      return bytes
    },
    get ended() {
      return ended
    },
    async waitFor(count, timeoutMs = 5000) {
      await pollUntil(
        () => events.length >= count,
        timeoutMs,
        () => `${count} events; got ${describe()}`,
      )
      return events.slice(0, count)
    },
    waitForComments(count, timeoutMs = 5000) {
      return pollUntil(
        () => comments.length >= count,
        timeoutMs,
        () => `${count} comments; got ${describe()}`,
      )
    },
    async waitForEnd(timeoutMs = 5000) {
      await pollUntil(
        () => ended !== undefined,
        timeoutMs,
        () => `the end of the body; got ${describe()}`,
      )
      return ended!
    },
    async cancel() {
      ended ??= 'cancelled'
      await body.cancel()
    },
  }
}
