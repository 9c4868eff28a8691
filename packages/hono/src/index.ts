/**
 * `@sse/hono`: Server-Sent Events for Hono, on `@sse/core`'s Web Streams sink, so the same hub,
 * heartbeats, bounded backpressure and replay work wherever Hono runs (Node through
 * `@hono/node-server`, Bun, Deno, Workers). Handlers return a `Response`, as Hono's do.
 * - `sse(c, run)` opens a per-client stream and hands it to `run`; the stream stays open after
 *   `run` returns, until the client leaves or `stream.close()` (unlike `streamSSE`, whose stream
 *   ends with its callback).
 * - `sseHub({ hub, topics, authorize })` subscribes the request to hub topics.
 * A client leaving is seen from the body's cancel and from the request's `AbortSignal`, since
 * some runtimes deliver only one of them. No `Connection` or `Transfer-Encoding` header is set.
 * A HEAD request gets the headers and no stream (Hono would drop its body without cancelling it).
 */

import type { DefaultEventMap, EventStream, EventStreamOptions, HubRouteOptions } from '@sse/core'
import { createEventStream, decideHubRoute } from '@sse/core'
import { createWebSink } from '@sse/core/web'
import type { Context, Handler } from 'hono'
import type { ContentfulStatusCode, StatusCode } from 'hono/utils/http-status'

/** Options of a stream (`Last-Event-ID` is read from the request), and the body's queue size in bytes. */
export type SseOptions = Omit<EventStreamOptions, 'lastEventId'> & { highWaterMark?: number | undefined }

/** Options of `sseHub`: the hub, `topics(c)`, optional `authorize(c, { topics })`, `key(c)` and `filter(c)`, and stream options. */
export type SseHubOptions<M extends object = DefaultEventMap> = HubRouteOptions<Context, M> & {
  highWaterMark?: number | undefined
}

/**
 * Opens an event stream for this request and returns its `Response`. `run` gets the stream; if
 * it throws (or rejects) the stream is closed. A HEAD request gets the headers only; `run` is not called.
 *
 * @example
 * app.get('/clock', (c) =>
 *   sse(c, (stream) => {
 *     const timer = setInterval(() => stream.send({ event: 'tick', data: new Date().toISOString() }), 1000)
 *     stream.onClose(() => clearInterval(timer))
 *   }),
 * )
 */
export function sse<M extends object = DefaultEventMap>(
  c: Context,
  run: (stream: EventStream<M>) => unknown,
  options?: SseOptions,
): Response {
  const sink = createWebSink({ signal: c.req.raw.signal, highWaterMark: options?.highWaterMark })
  const stream = createEventStream<M>(sink, { ...options, lastEventId: c.req.header('last-event-id') })
  const head = sink.head ?? { status: 200, headers: {} }
  if (c.req.method === 'HEAD') {
    // Hono answers HEAD with a GET route's response minus its body, neither read nor cancelled:
    // a stream would never learn that nobody reads it, and would stay open (and subscribed).
    stream.close()
    return c.body(null, head.status as StatusCode, head.headers)
  }
  let running: unknown
  try {
    running = run(stream)
  } catch (error) {
    stream.close()
    throw error
  }
  if (running instanceof Promise) {
    running.catch((error: unknown) => {
      // The response is already on its way: nothing left to answer with but closing the stream.
      console.error('[@sse/hono] the stream callback failed; the stream was closed:', error)
      stream.close()
    })
  }
  return c.body(sink.readable, head.status as ContentfulStatusCode, head.headers)
}

/**
 * The default `key` of `sseHub`: the client's address where the runtime says it (`@hono/node-server`
 * puts the Node request in `c.env.incoming`); elsewhere none, so pass `key` (a user, a session).
 */
const clientAddress = (c: Context): string | undefined =>
  (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming?.socket
    ?.remoteAddress

/**
 * A handler subscribing each request to hub topics chosen from it, after `authorize` (only `true`
 * allows) and within the hub's limits (`key` defaults to the client's address under
 * `@hono/node-server`). What `topics` or `authorize` throw is a 500 with a generic body, reported
 * on `hub.on('error')`, not to `app.onError`.
 *
 * @example
 * app.get('/events', sseHub({ hub, topics: (c) => (c.req.query('topics') ?? 'news').split(',') }))
 */
export function sseHub<M extends object = DefaultEventMap>(options: SseHubOptions<M>): Handler {
  const { hub, topics, authorize, filter, ...streamOptions } = options
  return async (c) => {
    const decision = await decideHubRoute(c, { ...options, key: options.key ?? clientAddress })
    if (decision.kind === 'subscribe')
      return sse<M>(c, (stream) => hub.subscribe(stream, decision), streamOptions)
    const { status, headers, body } = decision.response
    if (body === undefined) return c.body(null, status as StatusCode, headers)
    return c.body(body, status as ContentfulStatusCode, headers)
  }
}
