/**
 * Reads a response that should not be an event stream (a refusal: 400, 403, 429, 500, 503…) over
 * a real socket: status, headers and the whole body as text, under one deadline. HTTP/1.1 goes
 * through `node:http`, HTTP/2 through a `node:http2` client session (h2c), each on a connection of
 * its own that is closed once the answer is read.
 *
 * If the server answers with an event stream after all, the body is not waited for (a stream
 * never ends): the answer comes back at once with `stream: true` and the body read so far, and the
 * connection is closed, so a test fails on its expectations rather than on a deadline.
 */
import http, { type IncomingHttpHeaders } from 'node:http'
import http2 from 'node:http2'
import { onHttp2Response } from './read-events.ts'
import { DEFAULT_TIMEOUT_MS, withTimeout } from './with-timeout.ts'

export interface ReadAnswerOptions {
  /** Use HTTP/2 without TLS (h2c, prior knowledge). Default: HTTP/1.1. */
  http2?: boolean | undefined
  /** Request headers; `accept: text/event-stream` is sent unless given, as an `EventSource` would. */
  headers?: Readonly<Record<string, string>> | undefined
  /** Deadline for the whole answer, in ms. Default 5000. */
  timeoutMs?: number | undefined
}

/** A whole response. */
export interface PlainAnswer {
  readonly status: number
  /** Lower-case names (HTTP/2 pseudo-headers left out). */
  readonly headers: IncomingHttpHeaders
  /** The body, decoded as UTF-8 (only what arrived before the head said `text/event-stream`, if it did). */
  readonly body: string
  /** The response was an event stream (`Content-Type: text/event-stream`), which a refusal must never be. */
  readonly stream: boolean
}

function isEventStream(headers: IncomingHttpHeaders): boolean {
  return String(headers['content-type'] ?? '').startsWith('text/event-stream')
}

function requestHeaders(options: ReadAnswerOptions): Record<string, string> {
  const out: Record<string, string> = { accept: 'text/event-stream' }
  for (const [name, value] of Object.entries(options.headers ?? {})) out[name.toLowerCase()] = value
  return out
}

/**
 * Resolves with the answer once `body` ended; or at once, with what arrived so far, when the head
 * says it is an event stream (which never ends), closing the connection with `close`.
 */
function answerWith(
  resolve: (answer: PlainAnswer) => void,
  body: NodeJS.ReadableStream,
  status: number,
  headers: IncomingHttpHeaders,
  close: () => void,
): void {
  if (isEventStream(headers)) {
    resolve({ status, headers, body: '', stream: true })
    close()
    return
  }
  const chunks: Buffer[] = []
  body.on('data', (chunk: Buffer) => chunks.push(chunk))
  body.once('end', () =>
    resolve({ status, headers, body: Buffer.concat(chunks).toString('utf8'), stream: false }),
  )
}

function readHttp1(url: URL, options: ReadAnswerOptions): { answer: Promise<PlainAnswer>; close(): void } {
  const request = http.request(url, { agent: false, headers: requestHeaders(options) })
  const answer = new Promise<PlainAnswer>((resolve, reject) => {
    // `on`, not `once`: closing the connection may still report an error; a settled promise ignores it.
    request.on('error', reject)
    request.once('response', (response) => {
      response.on('error', reject)
      answerWith(resolve, response, response.statusCode ?? 0, response.headers, () => request.destroy())
    })
    request.end()
  })
  return { answer, close: () => request.destroy() }
}

function readHttp2(url: URL, options: ReadAnswerOptions): { answer: Promise<PlainAnswer>; close(): void } {
  const session = http2.connect(url.origin)
  const answer = new Promise<PlainAnswer>((resolve, reject) => {
    const stream = session.request({
      ':method': 'GET',
      ':path': `${url.pathname}${url.search}`,
      ...requestHeaders(options),
    })
    onHttp2Response(session, stream, reject, (status, headers) => {
      answerWith(resolve, stream, status, headers, () => stream.close(http2.constants.NGHTTP2_CANCEL))
    })
    stream.end()
  })
  return { answer, close: () => session.destroy() }
}

/**
 * GETs `url` and resolves with the whole answer; the connection is closed either way.
 *
 * @example
 * const answer = await readAnswer(`${server.url}/events?topics=secret`)
 * expect(answer.status).toBe(403)
 * expect(JSON.parse(answer.body)).toEqual({ error: 'forbidden' })
 */
export async function readAnswer(url: string | URL, options: ReadAnswerOptions = {}): Promise<PlainAnswer> {
  const target = new URL(url)
  const reading = options.http2 ? readHttp2(target, options) : readHttp1(target, options)
  try {
    return await withTimeout(
      reading.answer,
      options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      `the whole answer of GET ${target.pathname}${target.search}`,
    )
  } finally {
    reading.close()
  }
}
