/**
 * Test helper: reads an event stream over HTTP/2 with TLS through a `node:http2` client session
 * that trusts the test's own certificate, parsing the body with `eventsource-parser`. (The
 * shared `openEventStream` speaks h2c only.) Every wait has a deadline.
 */
import http2 from 'node:http2'
import { DEFAULT_TIMEOUT_MS, pollUntil, withTimeout } from '@sse/test-utils'
import { createParser, type EventSourceMessage } from 'eventsource-parser'

export interface H2Reader {
  readonly status: number
  /** Response header names as received (pseudo-headers left out), lower-case. */
  readonly headerNames: readonly string[]
  readonly headers: Readonly<Record<string, string | string[] | undefined>>
  readonly events: readonly EventSourceMessage[]
  readonly comments: readonly string[]
  readonly ended: boolean
  waitFor(count: number, timeoutMs?: number): Promise<EventSourceMessage[]>
  waitForEnd(timeoutMs?: number): Promise<void>
  /** Resets the stream and closes the session (the client leaves); resolves once it is closed. */
  close(): Promise<void>
}

/**
 * Opens `url` (https) over HTTP/2, trusting `ca`; resolves once the response head arrived.
 *
 * @example
 * const reader = await openH2(`${server.url}/events`, certificate.cert)
 * await reader.waitFor(1)
 * await reader.close()
 */
export async function openH2(
  url: string,
  ca: string,
  headers: Readonly<Record<string, string>> = {},
): Promise<H2Reader> {
  const target = new URL(url)
  const session = http2.connect(target.origin, { ca })
  const sessionClosed = new Promise<void>((resolve) => session.once('close', resolve))
  session.on('error', () => {})
  const stream = session.request({
    ':path': `${target.pathname}${target.search}`,
    accept: 'text/event-stream',
    ...headers,
  })
  stream.end()
  const events: EventSourceMessage[] = []
  const comments: string[] = []
  const parser = createParser({
    onEvent: (event) => events.push(event),
    onComment: (comment) => comments.push(comment),
  })
  const decoder = new TextDecoder()
  let ended = false
  let status = 0
  let received: http2.IncomingHttpHeaders = {}
  stream.on('data', (chunk: Buffer) => parser.feed(decoder.decode(chunk, { stream: true })))
  stream.once('close', () => {
    ended = true
  })
  stream.on('error', () => {})
  const close = async () => {
    if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL)
    session.destroy()
    await withTimeout(sessionClosed, DEFAULT_TIMEOUT_MS, `closing the HTTP/2 session to ${target.origin}`)
  }
  try {
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        stream.once('response', (head) => {
          status = Number(head[':status'])
          received = head
          resolve()
        })
        stream.once('close', () => reject(new Error('the HTTP/2 stream closed before the response head')))
        session.once('error', reject)
      }),
      DEFAULT_TIMEOUT_MS,
      `response head from ${url}`,
    )
  } catch (error) {
    await close()
    throw error
  }
  const describe = () => `${events.length} events, ${comments.length} comments, ended: ${ended}`
  return {
    status,
    headerNames: Object.keys(received).filter((name) => !name.startsWith(':')),
    headers: received,
    events,
    comments,
    get ended() {
      return ended
    },
    async waitFor(count, timeoutMs = DEFAULT_TIMEOUT_MS) {
      await pollUntil(
        () => events.length >= count,
        timeoutMs,
        () => `${count} events; got ${describe()}`,
      )
      return events.slice(0, count)
    },
    waitForEnd: (timeoutMs = DEFAULT_TIMEOUT_MS) =>
      pollUntil(
        () => ended,
        timeoutMs,
        () => `the end of the stream; got ${describe()}`,
      ),
    close,
  }
}
