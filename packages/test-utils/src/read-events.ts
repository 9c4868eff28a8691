/**
 * Reads an event stream over a real socket with a real parser (`eventsource-parser`): never by
 * splitting on '\n', which breaks wherever a chunk boundary falls inside a line or inside a
 * multi-byte character. HTTP/1.1 goes through `node:http` (raw headers, and reading can be
 * paused to play a slow client); HTTP/2 through a `node:http2` client session (h2c, or TLS for
 * an `https:` URL).
 *
 * Every wait has a deadline. Each reader owns its connection (its own agent or session), so
 * `close()` really closes the socket and a paused reader really stops reading.
 */
import http, { type IncomingHttpHeaders } from 'node:http'
import http2 from 'node:http2'
import { createParser, type EventSourceMessage } from 'eventsource-parser'
import { ChangeWaiter, DEFAULT_TIMEOUT_MS, withTimeout } from './with-timeout.ts'

/** One event as a client sees it: the parser leaves `event` undefined for the default `message` type. */
export type ReceivedEvent = EventSourceMessage

export interface OpenEventStreamOptions {
  /**
   * Request headers. Values go on the wire as latin1, one byte per char, so
   * `'â\x80¦'` sends the UTF-8 bytes of `…` (E2 80 A6), and a Buffer sends its bytes as they are.
   */
  headers?: Readonly<Record<string, string | Buffer>> | undefined
  /** Aborting closes the connection. */
  signal?: AbortSignal | undefined
  /** Use HTTP/2: without TLS (h2c, prior knowledge) for `http:` URLs, over TLS for `https:`. Default: HTTP/1.1. */
  http2?: boolean | undefined
  /** With `http2` and an `https:` URL: the certificate (PEM) to trust, such as the test's own self-signed one. */
  ca?: string | undefined
  /** Deadline for the response head, in ms. Default 5000. */
  timeoutMs?: number | undefined
  /**
   * Keep every event in `events`. Default true. Turn off for long streams and count with
   * `eventCount` or `onEvent` instead, so the reader holds no memory per event.
   */
  keepEvents?: boolean | undefined
  /** Called for every parsed event, in order. */
  onEvent?: ((event: ReceivedEvent) => void) | undefined
}

/** What a wait resolves to when the body is over. */
export type EndKind = 'end' | 'aborted'

/** A live event-stream response and everything parsed from it so far. */
export interface EventStreamReader {
  readonly status: number
  /** Response headers, lower-case names (HTTP/2 pseudo-headers left out). */
  readonly headers: IncomingHttpHeaders
  /** Header names and values as received, alternating, repeats kept (HTTP/2: names are lower-case). */
  readonly rawHeaders: readonly string[]
  /** `'1.1'` or `'2.0'`. */
  readonly httpVersion: string
  /** Parsed events, in order (empty when `keepEvents` is false). */
  readonly events: readonly ReceivedEvent[]
  /** Events parsed, kept or not. */
  readonly eventCount: number
  /** Comment lines, without the leading ':' (the parser strips one space after it). */
  readonly comments: readonly string[]
  /** `retry:` values received. */
  readonly retries: readonly number[]
  /** Body bytes received. */
  readonly bytesReceived: number
  /** `'end'` once the server ended the body cleanly, `'aborted'` once it broke off; else undefined. */
  readonly ended: EndKind | undefined
  /** The next event not yet taken by `next`. */
  next(timeoutMs?: number): Promise<ReceivedEvent>
  /** Resolves with the first `count` events once that many arrived. */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedEvent[]>
  /** Resolves with the first event matching `match`, once it arrived. */
  waitForEvent(match: (event: ReceivedEvent) => boolean, timeoutMs?: number): Promise<ReceivedEvent>
  /** Resolves once at least `count` comments arrived. */
  waitForComments(count: number, timeoutMs?: number): Promise<readonly string[]>
  /** Resolves once the body is over, with how it ended. */
  waitForEnd(timeoutMs?: number): Promise<EndKind>
  /** Resolves once `check` holds; it is re-checked on every frame. */
  waitUntil(check: () => boolean, timeoutMs?: number, label?: string): Promise<void>
  /** Stops reading from the socket: the server's writes back up, as with a slow phone. */
  pause(): void
  /** Reads again. */
  resume(): void
  /** Closes the connection (an abort, from the server's point of view); resolves once the socket is closed. */
  close(): Promise<void>
  /** Iterates the events not yet taken by `next`, until the stream ends; each step waits at most 5 s. */
  [Symbol.asyncIterator](): AsyncIterator<ReceivedEvent>
}

interface Transport {
  pause(): void
  resume(): void
  close(): Promise<void>
}

/** Collects the parsed body; shared by the HTTP/1.1 and HTTP/2 transports and `readResponse`. */
export class Reader implements EventStreamReader {
  status = 0
  headers: IncomingHttpHeaders = {}
  rawHeaders: string[] = []
  httpVersion = ''
  readonly events: ReceivedEvent[] = []
  readonly comments: string[] = []
  readonly retries: number[] = []
  eventCount = 0
  bytesReceived = 0
  ended: EndKind | undefined
  transport: Transport | undefined
  readonly #changes = new ChangeWaiter()
  readonly #decoder = new TextDecoder()
  readonly #keepEvents: boolean
  readonly #onEvent: ((event: ReceivedEvent) => void) | undefined
  readonly #parser = createParser({
    onEvent: (event) => {
      this.eventCount++
      if (this.#keepEvents) this.events.push(event)
      this.#onEvent?.(event)
      this.#changes.notify()
    },
    onComment: (comment) => {
      this.comments.push(comment)
      this.#changes.notify()
    },
    onRetry: (retry) => {
      this.retries.push(retry)
      this.#changes.notify()
    },
  })
  #cursor = 0

  constructor(options: OpenEventStreamOptions) {
    this.#keepEvents = options.keepEvents ?? true
    this.#onEvent = options.onEvent
  }

  /** Feeds body bytes: decoded as a stream, so a character split across chunks stays whole. */
  feed(chunk: Uint8Array): void {
    this.bytesReceived += chunk.length
    this.#parser.feed(this.#decoder.decode(chunk, { stream: true }))
  }

  finish(kind: EndKind): void {
    if (this.ended) return
    this.#parser.feed(this.#decoder.decode())
    this.ended = kind
    this.#changes.notify()
  }

  #describe(): string {
    const last = this.events.slice(-3).map((event) => JSON.stringify(event).slice(0, 120))
    return `${this.eventCount} events (last: ${last.join(', ') || 'none'}), ${this.comments.length} comments, ${this.bytesReceived} bytes, ended: ${this.ended ?? 'no'}`
  }

  #until<T>(done: () => boolean, read: () => T, timeoutMs: number, what: string): Promise<T> {
    return this.#changes.until(done, read, timeoutMs, () => `waiting for ${what}; got ${this.#describe()}`)
  }

  next(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ReceivedEvent> {
    const index = this.#cursor++
    return this.#until(
      () => this.events.length > index || this.ended !== undefined,
      () => {
        const event = this.events[index]
        if (!event) throw new Error(`the stream ended (${this.ended}) before event #${index + 1}`)
        return event
      },
      timeoutMs,
      `event #${index + 1}`,
    )
  }

  waitFor(count: number, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ReceivedEvent[]> {
    return this.#until(
      () => this.events.length >= count,
      () => this.events.slice(0, count),
      timeoutMs,
      `${count} events`,
    )
  }

  waitForEvent(
    match: (event: ReceivedEvent) => boolean,
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<ReceivedEvent> {
    let from = 0
    let found: ReceivedEvent | undefined
    return this.#until(
      () => {
        for (; from < this.events.length && !found; from++) {
          if (match(this.events[from]!)) found = this.events[from]
        }
        return found !== undefined
      },
      () => found!,
      timeoutMs,
      'a matching event',
    )
  }

  waitForComments(count: number, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<readonly string[]> {
    return this.#until(
      () => this.comments.length >= count,
      () => this.comments,
      timeoutMs,
      `${count} comments`,
    )
  }

  waitForEnd(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<EndKind> {
    return this.#until(
      () => this.ended !== undefined,
      () => this.ended!,
      timeoutMs,
      'the end of the stream',
    )
  }

  waitUntil(check: () => boolean, timeoutMs = DEFAULT_TIMEOUT_MS, label = 'a condition'): Promise<void> {
    return this.#until(check, () => undefined, timeoutMs, label)
  }

  pause(): void {
    this.transport?.pause()
  }

  resume(): void {
    this.transport?.resume()
  }

  close(): Promise<void> {
    return this.transport?.close() ?? Promise.resolve()
  }

  async *[Symbol.asyncIterator](): AsyncIterator<ReceivedEvent> {
    while (true) {
      const index = this.#cursor
      await this.waitUntil(() => this.events.length > index || this.ended !== undefined)
      if (this.events.length <= index) return
      yield await this.next()
    }
  }
}

/** A header value as the latin1 string Node writes byte for byte. */
function toWireValue(value: string | Buffer): string {
  return typeof value === 'string' ? value : value.toString('latin1')
}

function wireHeaders(headers: OpenEventStreamOptions['headers']): Record<string, string> {
  const out: Record<string, string> = { accept: 'text/event-stream' }
  for (const [name, value] of Object.entries(headers ?? {})) out[name.toLowerCase()] = toWireValue(value)
  return out
}

function openHttp1(url: URL, options: OpenEventStreamOptions, reader: Reader): Promise<void> {
  // A keep-alive agent of its own: the request says `Connection: keep-alive` like a browser's,
  // and closing the reader closes exactly this socket.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  const request = http.request(url, { agent, headers: wireHeaders(options.headers) })
  let closed = false
  const whenClosed = new Promise<void>((resolve) => {
    request.once('close', () => {
      closed = true
      resolve()
    })
  })
  let response: http.IncomingMessage | undefined
  reader.transport = {
    pause: () => response?.pause(),
    resume: () => response?.resume(),
    close: async () => {
      if (!closed) request.destroy()
      agent.destroy()
      await withTimeout(whenClosed, DEFAULT_TIMEOUT_MS, `closing the HTTP/1.1 request to ${url}`)
      reader.finish('aborted')
    },
  }
  return new Promise<void>((resolve, reject) => {
    request.on('error', (error) => {
      reader.finish('aborted')
      reject(error)
    })
    request.once('response', (res) => {
      response = res
      reader.status = res.statusCode ?? 0
      reader.headers = res.headers
      reader.rawHeaders = res.rawHeaders
      reader.httpVersion = res.httpVersion
      res.on('data', (chunk: Buffer) => reader.feed(chunk))
      res.once('end', () => reader.finish('end'))
      res.once('aborted', () => reader.finish('aborted'))
      res.once('close', () => reader.finish(res.complete ? 'end' : 'aborted'))
      res.on('error', () => reader.finish('aborted'))
      resolve()
    })
    request.end()
  })
}

/**
 * Calls `onHead` with the status and the headers (pseudo-headers left out; also as raw name,
 * value pairs) of the response to an HTTP/2 `stream`, or `fail` if the session or the stream
 * errors, or if the stream closes before the head: closing it first (a reader whose signal
 * aborted) emits no 'error', so it settles on 'close'.
 */
export function onHttp2Response(
  session: http2.ClientHttp2Session,
  stream: http2.ClientHttp2Stream,
  fail: (error: Error) => void,
  onHead: (status: number, headers: IncomingHttpHeaders, rawHeaders: string[]) => void,
): void {
  session.on('error', fail)
  stream.on('error', fail)
  let responded = false
  stream.once('close', () => {
    if (!responded) fail(new Error('the HTTP/2 stream closed before the response head'))
  })
  stream.once('response', (head) => {
    responded = true
    const headers: IncomingHttpHeaders = {}
    const rawHeaders: string[] = []
    for (const [name, value] of Object.entries(head)) {
      if (name.startsWith(':') || value === undefined) continue
      headers[name] = value as string | string[]
      for (const one of Array.isArray(value) ? value : [value]) rawHeaders.push(name, String(one))
    }
    onHead(Number(head[':status']), headers, rawHeaders)
  })
}

function openHttp2(url: URL, options: OpenEventStreamOptions, reader: Reader): Promise<void> {
  const session = http2.connect(url.origin, options.ca === undefined ? {} : { ca: options.ca })
  const sessionClosed = new Promise<void>((resolve) => session.once('close', resolve))
  const stream = session.request({
    ':method': 'GET',
    ':path': `${url.pathname}${url.search}`,
    ...wireHeaders(options.headers),
  })
  reader.transport = {
    pause: () => stream.pause(),
    resume: () => stream.resume(),
    close: async () => {
      if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL)
      session.destroy()
      await withTimeout(sessionClosed, DEFAULT_TIMEOUT_MS, `closing the HTTP/2 session to ${url.origin}`)
      reader.finish('aborted')
    },
  }
  return new Promise<void>((resolve, reject) => {
    const fail = (error: Error) => {
      reader.finish('aborted')
      reject(error)
    }
    onHttp2Response(session, stream, fail, (status, headers, rawHeaders) => {
      reader.rawHeaders.push(...rawHeaders)
      reader.status = status
      reader.headers = headers
      reader.httpVersion = '2.0'
      stream.on('data', (chunk: Buffer) => reader.feed(chunk))
      stream.once('end', () => reader.finish('end'))
      stream.once('close', () =>
        reader.finish(stream.rstCode === http2.constants.NGHTTP2_NO_ERROR ? 'end' : 'aborted'),
      )
      resolve()
    })
    stream.end()
  })
}

/**
 * Opens an event stream and resolves once the response head arrived (with a deadline). The
 * body is then read in the background and parsed with `eventsource-parser`.
 *
 * @example
 * const reader = await openEventStream(`${url}/events`, { headers: { 'last-event-id': '7' } })
 * expect(reader.status).toBe(200)
 * const [first] = await reader.waitFor(1)
 * await reader.close()
 */
export async function openEventStream(
  url: string | URL,
  options: OpenEventStreamOptions = {},
): Promise<EventStreamReader> {
  const target = new URL(url)
  const reader = new Reader(options)
  const opening = options.http2 ? openHttp2(target, options, reader) : openHttp1(target, options, reader)
  const { signal } = options
  if (signal) {
    if (signal.aborted) void reader.close()
    else signal.addEventListener('abort', () => void reader.close(), { once: true })
  }
  try {
    await withTimeout(opening, options.timeoutMs ?? DEFAULT_TIMEOUT_MS, `response head from ${target}`)
  } catch (error) {
    await reader.close().catch(() => {})
    throw error
  }
  return reader
}

/**
 * The response's header names as received, lower-case, a repeated header once per time it was
 * sent: a framework default sent next to the adapter's value shows up twice.
 *
 * @example
 * expect(headerNames(reader).filter((name) => name === 'cache-control')).toHaveLength(1)
 */
export function headerNames(reader: Pick<EventStreamReader, 'rawHeaders'>): string[] {
  return reader.rawHeaders.filter((_, i) => i % 2 === 0).map((name) => name.toLowerCase())
}
