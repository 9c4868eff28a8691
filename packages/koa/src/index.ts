/**
 * `@sse/koa`: Server-Sent Events for Koa 2 and 3, on `@sse/core`.
 * - `sse(ctx)` turns one request into an `EventStream`.
 * - `sseHub({ hub, topics, authorize })` is middleware subscribing the request to hub topics.
 * The stream writes to `ctx.res` directly (`ctx.respond = false`) rather than through a piped
 * `ctx.body` stream: Koa then neither buffers nor ends it, and a client leaving raises no
 * `ERR_STREAM_PREMATURE_CLOSE` (nor, once the stream is open, `ECONNRESET`) on `app.on('error')`.
 * Headers set earlier with `ctx.set` are kept; errors of the app itself still reach Koa.
 */

import type { DefaultEventMap, EventStream, EventStreamOptions, HubRouteOptions } from '@sse/core'
import { decideHubRoute } from '@sse/core'
import { createNodeEventStream } from '@sse/core/node'
import type { Context, Middleware } from 'koa'

/** Options of a stream; `Last-Event-ID` is read from the request. */
export type SseOptions = Omit<EventStreamOptions, 'lastEventId'>

/** Options of `sseHub`: the hub, `topics(ctx)`, optional `authorize(ctx, { topics })`, `key(ctx)` and `filter(ctx)`, and stream options. */
export type SseHubOptions<M extends object = DefaultEventMap> = HubRouteOptions<Context, M>

/**
 * Opens an event stream on this request; the response is the stream's from here on.
 *
 * @example
 * router.get('/clock', (ctx) => {
 *   const stream = sse(ctx)
 *   const timer = setInterval(() => stream.send({ event: 'tick', data: new Date().toISOString() }), 1000)
 *   stream.onClose(() => clearInterval(timer))
 * })
 */
export function sse<M extends object = DefaultEventMap>(ctx: Context, options?: SseOptions): EventStream<M> {
  ctx.status = 200
  ctx.respond = false
  // Koa hands socket errors to ctx.onerror (through on-finished), so a client that resets the
  // connection mid-stream would show up on `app.on('error')`. For a stream that is a disconnect.
  const { socket } = ctx.req
  const onerror = ctx.onerror
  ctx.onerror = (error) => {
    if (error != null && error === socket?.errored) return
    onerror.call(ctx, error)
  }
  return createNodeEventStream<M>(ctx.req, ctx.res, options)
}

/** The default `key` of `sseHub`: the client's address (`ctx.ip`, which follows Koa's `app.proxy`). */
const clientAddress = (ctx: Context): string | undefined => ctx.ip || ctx.req.socket.remoteAddress

/**
 * Middleware subscribing each request to hub topics chosen from it, after `authorize` (only
 * `true` allows) and within the hub's limits (`key` defaults to `ctx.ip`). A refusal is a plain
 * Koa response. What `topics` or `authorize` throw is a 500 with a generic body, reported on
 * `hub.on('error')`, not to your error middleware.
 *
 * @example
 * router.get('/events', sseHub({ hub, topics: (ctx) => String(ctx.query.topics ?? 'news').split(',') }))
 */
export function sseHub<M extends object = DefaultEventMap>(options: SseHubOptions<M>): Middleware {
  const { hub, topics, authorize, filter, ...streamOptions } = options
  return async (ctx) => {
    const decision = await decideHubRoute(ctx, { ...options, key: options.key ?? clientAddress })
    if (decision.kind === 'subscribe') {
      await hub.subscribe(sse<M>(ctx, streamOptions), decision)
      return
    }
    const { status, headers, body } = decision.response
    ctx.status = status
    ctx.set(headers)
    if (body !== undefined) ctx.body = body
  }
}
