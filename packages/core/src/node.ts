/**
 * `@sse/core/node`: the `SseSink` for Node's `ServerResponse` (HTTP/1.1) and the HTTP/2
 * compatibility response. Express, Fastify (after `reply.hijack()`), Koa and plain `node:http`
 * all end up here, so the Node glue is written and tested once.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2'
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

/**
 * Wraps a Node response as an `SseSink`.
 * - Headers are sent at once; `Connection: keep-alive` only on HTTP/1.x (it is illegal on HTTP/2).
 *   Headers already set on `res` (CORS middleware and the like) are kept.
 * - `write` reports `res.write()`'s backpressure; `onDrain` follows `'drain'`.
 * - The signal aborts when the response closes: the client left, or the response ended.
 * - `close()` ends the response, or destroys it when the client has stopped reading, so a
 *   shutdown never waits on a stuck client.
 *
 * @example
 * http.createServer((req, res) => {
 *   const stream = createEventStream(createNodeSink(req, res), { lastEventId: req.headers['last-event-id'] })
 * })
 */
export function createNodeSink(req: NodeRequest, res: NodeResponse, options: NodeSinkOptions = {}): SseSink {
  const response = res as unknown as AnyResponse
  const controller = new AbortController()
  const abort = () => controller.abort()
  // The client may have left while the app awaited something before opening the stream.
  const gone =
    response.destroyed ||
    response.writableEnded ||
    response.stream?.destroyed === true ||
    (req.httpVersionMajor === 1 && req.socket?.destroyed === true)
  if (gone) {
    abort()
  } else {
    response.once('close', abort)
    // A write error means the peer is gone: abort instead of crashing on an unhandled 'error'.
    response.on('error', abort)
  }
  const flush = options.flush ?? (typeof response.flush === 'function' ? () => response.flush?.() : undefined)

  const sink: SseSink = {
    signal: controller.signal,
    open(head: SseHead): void {
      if (controller.signal.aborted || response.headersSent) return
      const headers: Record<string, string> = { ...head.headers }
      if (req.httpVersionMajor === 1) headers.Connection = 'keep-alive'
      response.writeHead(head.status, headers)
      response.flushHeaders?.()
    },
    write(chunk: Uint8Array): boolean {
      if (controller.signal.aborted || response.writableEnded) return true
      return response.write(chunk)
    },
    onDrain(listener: () => void): void {
      response.on('drain', listener)
    },
    close(): void {
      if (!response.writableEnded && !response.destroyed) {
        const stuck = response.writableNeedDrain ?? response.writableLength >= response.writableHighWaterMark
        if (stuck) response.destroy()
        else response.end()
      }
      abort()
    },
  }
  if (flush) sink.flush = flush
  return sink
}
