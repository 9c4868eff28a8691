/**
 * `@sse/core/web`: the `SseSink` for Fetch-API runtimes (Hono, Bun, Deno, Workers, Next.js
 * route handlers): a `ReadableStream<Uint8Array>` to hand to a `Response`, with backpressure from
 * the stream's `desiredSize` and the client's departure seen both from the stream's cancel and
 * from the request's `AbortSignal` (some runtimes only deliver one of them).
 */

import type { DefaultEventMap } from './event-map.ts'
import { createEventStream, type EventStream, type EventStreamOptions } from './event-stream.ts'
import type { SseHead, SseSink } from './sink.ts'

/** How long `close()` lets a client that stopped reading take the last bytes before the body is errored. */
const CLOSE_GRACE_MS = 1000

/** Default queue size of the readable stream before `write()` reports full: 64 KiB. */
export const DEFAULT_WEB_HIGH_WATER_MARK: number = 64 * 1024

export interface WebSinkOptions {
  /** The request's signal (`request.signal`, `c.req.raw.signal`): aborts the sink when the client leaves. */
  signal?: AbortSignal | undefined
  /** Bytes the readable stream queues before `write()` reports full. Default 64 KiB. */
  highWaterMark?: number | undefined
}

/** A Web Streams sink: give `readable` to a `Response` with the `head` that `open` received. */
export interface WebSink extends SseSink {
  readonly readable: ReadableStream<Uint8Array>
  /** Status and headers from `open`, once called. */
  readonly head: SseHead | undefined
}

/**
 * Creates a Web Streams sink.
 *
 * @example
 * const sink = createWebSink({ signal: request.signal })
 * const stream = createEventStream(sink, { lastEventId: request.headers.get('last-event-id') })
 * return new Response(sink.readable, { status: sink.head!.status, headers: sink.head!.headers })
 */
export function createWebSink(options: WebSinkOptions = {}): WebSink {
  const abortController = new AbortController()
  const drainListeners: Array<() => void> = []
  let controller: ReadableStreamDefaultController<Uint8Array> | undefined
  let full = false
  let ended = false
  let head: SseHead | undefined

  const abort = () => abortController.abort()
  // Not a byte stream on purpose: byte streams transfer (detach) enqueued buffers, and a hub
  // writes the very same bytes to many streams.
  const readable = new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c
      },
      pull() {
        if (!full) return
        full = false
        for (const listener of drainListeners) listener()
      },
      cancel() {
        ended = true
        abort()
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: options.highWaterMark ?? DEFAULT_WEB_HIGH_WATER_MARK }),
  )
  if (options.signal?.aborted) abort()
  else options.signal?.addEventListener('abort', abort, { once: true })

  return {
    readable,
    get head() {
      return head
    },
    signal: abortController.signal,
    open(value: SseHead): void {
      head ??= value
    },
    write(chunk: Uint8Array): boolean {
      if (ended || abortController.signal.aborted || !controller) return true
      controller.enqueue(chunk)
      if ((controller.desiredSize ?? 0) <= 0) full = true
      return !full
    },
    onDrain(listener: () => void): void {
      drainListeners.push(listener)
    },
    close(): void {
      if (!ended) {
        ended = true
        try {
          controller?.close()
        } catch {
          // Already errored or cancelled: nothing left to end.
        }
        if (full) {
          // The client stopped reading: the body would end only after the queued chunks are read,
          // and a runtime reads the next one only once the socket drained (@hono/node-server), so
          // the connection would stay open for good. After a grace, error the body: the runtime
          // then aborts the response.
          const timer = setTimeout(() => {
            try {
              controller?.error(new Error('the client stopped reading; its event stream was closed'))
            } catch {
              // Already fully read or cancelled.
            }
          }, CLOSE_GRACE_MS)
          ;(timer as { unref?: () => void }).unref?.()
        }
      }
      abort()
    },
  }
}

export interface SseResponseOptions extends EventStreamOptions, WebSinkOptions {}

/**
 * An event stream and the `Response` that carries it, for any Fetch-API handler.
 *
 * @example
 * export function GET(request: Request) {
 *   const { stream, response } = createSseResponse({ signal: request.signal, lastEventId: request.headers.get('last-event-id') })
 *   stream.send({ data: 'hello' })
 *   return response
 * }
 */
export function createSseResponse<M extends object = DefaultEventMap>(
  options: SseResponseOptions = {},
): { stream: EventStream<M>; response: Response } {
  const sink = createWebSink(options)
  const stream = createEventStream<M>(sink, options)
  const head = sink.head ?? { status: 200, headers: {} }
  return { stream, response: new Response(sink.readable, { status: head.status, headers: head.headers }) }
}
