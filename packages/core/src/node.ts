/**
 * `@sse/core/node`: the `SseSink` for Node's `ServerResponse` (HTTP/1.1) and the HTTP/2
 * compatibility response. Express, Fastify (after `reply.hijack()`), Koa and plain `node:http`
 * all end up here, so the Node glue is written and tested once; so is ending a server's open
 * streams, and their HTTP/2 sessions, on shutdown (`createNodeStreamTracker`).
 */
import { Buffer } from 'node:buffer'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Http2ServerRequest, Http2ServerResponse, Http2Session } from 'node:http2'
import type { DefaultEventMap } from './event-map.ts'
import { createEventStream, type EventStream, type EventStreamOptions } from './event-stream.ts'
import type { SseHead, SseSink } from './sink.ts'

export type NodeRequest = IncomingMessage | Http2ServerRequest
export type NodeResponse = ServerResponse | Http2ServerResponse

export interface NodeSinkOptions {
  /** Pushes bytes through buffering middleware after each write. Default: `res.flush` when present (Express `compression`). */
  flush?: (() => void) | undefined
}

/** The minimal shape of either response we touch, so both types fit one code path. */
interface AnyResponse {
  readonly headersSent: boolean
  readonly writableEnded: boolean
  readonly destroyed: boolean
  readonly writableNeedDrain?: boolean
  readonly writableLength: number
  readonly writableHighWaterMark: number
  /** HTTP/2 compat only: the stream; the response itself has no `destroyed`. */
  readonly stream?: { readonly destroyed: boolean }
  writeHead(status: number, headers: Record<string, string>): unknown
  flushHeaders?(): void
  write(chunk: Uint8Array): boolean
  end(): unknown
  destroy(): unknown
  flush?(): void
  on(event: string, listener: (...args: unknown[]) => void): unknown
  once(event: string, listener: (...args: unknown[]) => void): unknown
}

/** How long `close()` waits for a client that stopped reading before destroying its response. */
const CLOSE_GRACE_MS = 1000

/**
 * A hub writes the same `Uint8Array` to every response; Node's streams wrap each non-Buffer
 * chunk in a new Buffer view per write (one per client per batch). One view per chunk instead:
 * the last chunk's view is kept (a one-slot cache; the bytes are never modified).
 */
let lastChunk: Uint8Array | undefined
let lastBuffer: Buffer | undefined
function asBuffer(chunk: Uint8Array): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk
  if (chunk !== lastChunk) {
    lastChunk = chunk
    lastBuffer = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
  }
  return lastBuffer!
}

/**
 * One sink per open response, so it is kept small: methods on the prototype, one closure for the
 * response's `close`/`error`, and the `AbortSignal` (an EventTarget with two Maps, ~1 KB once a
 * listener is on it) only created when someone reads `signal`. Core listens through `onAbort`.
 */
class NodeSink implements SseSink {
  readonly #req: NodeRequest
  readonly #res: AnyResponse
  #controller: AbortController | undefined
  #aborted = false
  #onAbort: (() => void) | undefined
  #onDrain: (() => void) | undefined
  /**
   * A `drain` listener goes on the response at the first write that comes back false, and stays:
   * an idle stream never pays for one, and a congested stream does not allocate a listener (and
   * a closure, which live as long as the congestion) every time its client falls behind.
   */
  #drainListening = false
  flush?: () => void

  constructor(req: NodeRequest, res: AnyResponse, flush: (() => void) | undefined) {
    this.#req = req
    this.#res = res
    if (flush) this.flush = flush
    // The client may have left while the app awaited something before opening the stream.
    const gone =
      res.destroyed ||
      res.writableEnded ||
      res.stream?.destroyed === true ||
      (req.httpVersionMajor === 1 && req.socket?.destroyed === true)
    if (gone) {
      this.#aborted = true
    } else {
      const abort = () => this.#abort()
      res.on('close', abort)
      // A write error means the peer is gone: abort instead of crashing on an unhandled 'error'.
      res.on('error', abort)
    }
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController()
      if (this.#aborted) this.#controller.abort()
    }
    return this.#controller.signal
  }

  onAbort(listener: () => void): void {
    if (this.#aborted) listener()
    else this.#onAbort = listener
  }

  open(head: SseHead): void {
    const response = this.#res
    if (this.#aborted || response.headersSent) return
    const headers: Record<string, string> = { ...head.headers }
    if (this.#req.httpVersionMajor === 1) headers.Connection = 'keep-alive'
    response.writeHead(head.status, headers)
    if (this.#req.method === 'HEAD') {
      // A HEAD response has no body: answer with the headers and end, or the stream would stay
      // open (and subscribed) behind a response nobody reads.
      response.end()
      this.#abort()
      return
    }
    response.flushHeaders?.()
  }

  write(chunk: Uint8Array): boolean {
    if (this.#aborted || this.#res.writableEnded) return true
    const ok = this.#res.write(asBuffer(chunk))
    if (!ok && !this.#drainListening && this.#onDrain) {
      this.#drainListening = true
      this.#res.on('drain', () => this.#onDrain?.())
    }
    return ok
  }

  onDrain(listener: () => void): void {
    this.#onDrain = listener
  }

  close(): void {
    const response = this.#res
    if (!response.writableEnded && !response.destroyed) {
      const stuck = response.writableNeedDrain ?? response.writableLength >= response.writableHighWaterMark
      response.end()
      if (stuck) {
        // The client stopped reading: it gets a moment to take the last bytes (a final event, a
        // retry), then it is cut off, so a shutdown never waits on it.
        const timer = setTimeout(() => response.destroy(), CLOSE_GRACE_MS)
        timer.unref?.()
        response.once('close', () => clearTimeout(timer))
      }
    }
    this.#abort()
  }

  #abort(): void {
    if (this.#aborted) return
    this.#aborted = true
    this.#controller?.abort()
    const listener = this.#onAbort
    this.#onAbort = undefined
    listener?.()
  }
}

/**
 * The request's `Last-Event-ID`, as `readLastEventId` expects it: an array when the header was
 * sent more than once (which `readLastEventId` treats as absent). `req.headers` joins repeats
 * with ', ', which would pass for one odd id.
 */
export function lastEventIdOf(req: NodeRequest): string | string[] | undefined {
  const distinct = (req as { headersDistinct?: Record<string, string[] | undefined> }).headersDistinct
  const values = distinct?.['last-event-id']
  if (values) return values.length === 1 ? values[0] : values
  return req.headers['last-event-id']
}

/**
 * An event stream on a Node response: `createEventStream(createNodeSink(req, res), …)` with the
 * request's `Last-Event-ID`. What `@sse/express`, `@sse/fastify` and `@sse/koa` build on.
 *
 * @example
 * http.createServer((req, res) => {
 *   const stream = createNodeEventStream(req, res)
 *   hub.subscribe(stream, { topics: ['news'] })
 * })
 */
export function createNodeEventStream<M extends object = DefaultEventMap>(
  req: NodeRequest,
  res: NodeResponse,
  options?: Omit<EventStreamOptions, 'lastEventId'> & NodeSinkOptions,
): EventStream<M> {
  return createEventStream<M>(createNodeSink(req, res, options), {
    ...options,
    lastEventId: lastEventIdOf(req),
  })
}

/**
 * Wraps a Node response as an `SseSink`.
 * - Headers are sent at once; `Connection: keep-alive` only on HTTP/1.x (it is illegal on HTTP/2).
 *   Headers already set on `res` (CORS middleware and the like) are kept.
 * - `write` reports `res.write()`'s backpressure; the drain listener follows `'drain'`.
 * - The sink aborts when the response closes: the client left, or the response ended.
 * - `close()` ends the response; one whose client stopped reading is destroyed a second later,
 *   so a shutdown never waits on a stuck client. A HEAD request is answered with the headers only.
 *
 * @example
 * http.createServer((req, res) => {
 *   const stream = createEventStream(createNodeSink(req, res), { lastEventId: lastEventIdOf(req) })
 * })
 */
export function createNodeSink(req: NodeRequest, res: NodeResponse, options: NodeSinkOptions = {}): SseSink {
  const response = res as unknown as AnyResponse
  const flush = options.flush ?? (typeof response.flush === 'function' ? () => response.flush?.() : undefined)
  return new NodeSink(req, response, flush)
}

/**
 * The event streams of one server, so that a shutdown ends them promptly; see `createNodeStreamTracker`.
 */
export interface NodeStreamTracker {
  /** Tracks `stream` (any `EventStream`), opened on `res`, and its HTTP/2 session; once `close()` has begun, closes it at once. Returns `stream`. */
  track<S extends Pick<EventStream, 'close' | 'closed' | 'onClose'>>(stream: S, res: NodeResponse): S
  /**
   * Runs `before` (a hub's `close()`, so that its streams get their last event and `retry:`) with
   * streams tracked from then on closed at once, then closes every stream still open and every
   * HTTP/2 session that carried one, even when `before` throws (its error is then rethrown).
   */
  close(before?: () => unknown): Promise<void>
}

/**
 * Tracks the streams a server opens, so that shutting it down does not wait on them: an event
 * stream never ends by itself, and an HTTP/2 client keeps its session open after its stream ended
 * (Node before 24 does not close sessions on `server.close()`, which then waits on them). Only the
 * sessions that carried a stream are closed, gracefully: other requests on them finish.
 * `@sse/fastify`'s `ssePlugin` runs one on `fastify.close()`.
 *
 * @example
 * const streams = createNodeStreamTracker()
 * const server = http2.createSecureServer(tls, (req, res) => {
 *   hub.subscribe(streams.track(createNodeEventStream(req, res), res), { topics: ['news'] })
 * })
 * process.on('SIGTERM', () => streams.close(() => hub.close()).then(() => server.close()))
 */
export function createNodeStreamTracker(): NodeStreamTracker {
  const streams = new Set<Pick<EventStream, 'close'>>()
  const sessions = new Set<Http2Session>()
  let state: 'open' | 'closing' | 'closed' = 'open'
  const closeAll = () => {
    for (const stream of streams) stream.close()
    for (const session of sessions) session.close()
  }
  return {
    track(stream, res) {
      if (!stream.closed) {
        streams.add(stream)
        stream.onClose(() => streams.delete(stream))
      }
      const session = 'stream' in res ? res.stream.session : undefined
      if (session && !sessions.has(session)) {
        sessions.add(session)
        session.once('close', () => sessions.delete(session))
      }
      // A handler that was still awaiting when shutdown began: end at once, the client reconnects elsewhere.
      if (state === 'closing') stream.close()
      else if (state === 'closed') closeAll()
      return stream
    },
    async close(before) {
      state = 'closing'
      try {
        await before?.()
      } finally {
        state = 'closed'
        closeAll()
      }
    },
  }
}
