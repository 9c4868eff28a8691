/**
 * A `node:http2` client over TLS for the examples' `HTTPS=1` mode, accepting the self-signed
 * certificate: what a browser does over HTTP/2, without a browser. Reads event streams with a
 * real parser (`eventsource-parser`); every wait has a deadline.
 */
import http2 from 'node:http2'
import { withTimeout } from '@sse/test-utils'
import { createParser, type EventSourceMessage } from 'eventsource-parser'

export interface H2Client {
  /** A plain request: status and body text. */
  get(path: string): Promise<{ status: number; body: string }>
  /** Opens an event stream; resolves with its status once the head arrived. */
  events(path: string): Promise<H2EventStream>
  close(): Promise<void>
}

export interface H2EventStream {
  readonly status: number
  readonly contentType: string | undefined
  readonly events: readonly EventSourceMessage[]
  waitForEvent(match: (event: EventSourceMessage) => boolean, timeoutMs: number): Promise<EventSourceMessage>
}

/**
 * Connects to an `https://` origin over HTTP/2.
 *
 * @example
 * const client = await connectH2(running.url)
 * try { expect((await client.get('/health')).status).toBe(200) } finally { await client.close() }
 */
export async function connectH2(origin: string, timeoutMs = 10_000): Promise<H2Client> {
  const session = http2.connect(origin, { rejectUnauthorized: false })
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      session.once('connect', () => resolve())
      session.once('error', reject)
    }),
    timeoutMs,
    `HTTP/2 connection to ${origin}`,
  )
  session.on('error', () => {})

  return {
    get(path) {
      const request = session.request({ ':path': path })
      return withTimeout(
        new Promise((resolve, reject) => {
          let status = 0
          let body = ''
          request.setEncoding('utf8')
          request.on('response', (headers) => {
            status = Number(headers[':status'])
          })
          request.on('data', (chunk: string) => {
            body += chunk
          })
          request.on('end', () => resolve({ status, body }))
          request.on('error', reject)
        }),
        timeoutMs,
        `GET ${path} over HTTP/2`,
      )
    },
    events(path) {
      const request = session.request({ ':path': path, accept: 'text/event-stream' })
      const events: EventSourceMessage[] = []
      const waiters = new Set<() => void>()
      const parser = createParser({
        onEvent: (event) => {
          events.push(event)
          for (const waiter of [...waiters]) waiter()
        },
      })
      request.setEncoding('utf8')
      request.on('data', (chunk: string) => parser.feed(chunk))
      request.on('error', () => {})
      return withTimeout(
        new Promise<H2EventStream>((resolve, reject) => {
          request.once('error', reject)
          request.once('response', (headers) => {
            resolve({
              status: Number(headers[':status']),
              contentType: headers['content-type'],
              events,
              waitForEvent(match, ms) {
                let check = () => {}
                return withTimeout(
                  new Promise<EventSourceMessage>((found) => {
                    check = () => {
                      const event = events.find(match)
                      if (!event) return
                      waiters.delete(check)
                      found(event)
                    }
                    waiters.add(check)
                    check()
                  }),
                  ms,
                  () => `an event on ${path} over HTTP/2; got ${JSON.stringify(events)}`,
                ).finally(() => waiters.delete(check))
              },
            })
          })
        }),
        timeoutMs,
        `the head of ${path} over HTTP/2`,
      )
    },
    close() {
      return withTimeout(
        new Promise<void>((resolve) => {
          if (session.closed || session.destroyed) return resolve()
          session.close(() => resolve())
          session.destroy()
        }),
        timeoutMs,
        'closing the HTTP/2 session',
      )
    },
  }
}
