/**
 * `@sse/fastify`: Server-Sent Events for Fastify 5, on `@sse/core`. HTTP/2 works
 * (`fastify({ http2: true })`): no `Connection` header is sent there.
 * - `sse(request, reply)` turns one request into an `EventStream`; `reply.sse()` once the plugin is registered.
 * - `sseHub({ hub, topics, authorize })` is a route handler subscribing the request to hub topics.
 * - `ssePlugin` decorates `reply.sse` and, on `fastify.close()`, closes the `hub` it was given,
 *   every stream opened through it and their HTTP/2 sessions (`createNodeStreamTracker` of
 *   `@sse/core/node`), so close completes promptly instead of waiting on open streams.
 */

import type {
  DefaultEventMap,
  EventStream,
  EventStreamOptions,
  Hub,
  HubCloseOptions,
  HubRouteOptions,
} from '@sse/core'
import { decideHubRoute } from '@sse/core'
import { createNodeEventStream, createNodeStreamTracker } from '@sse/core/node'
import type {
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  RawServerBase,
  RouteGenericInterface,
  RouteHandlerMethod,
} from 'fastify'
import fp from 'fastify-plugin'

/** Options of a stream; `Last-Event-ID` is read from the request. */
export type SseOptions = Omit<EventStreamOptions, 'lastEventId'>

// Typed over every raw server, so the same calls fit `fastify()` and `fastify({ http2: true })`.
type AnyRequest = FastifyRequest<RouteGenericInterface, RawServerBase>
type AnyReply = FastifyReply<RouteGenericInterface, RawServerBase>

/** Options of `sseHub`: the hub, `topics(request)`, optional `authorize(request, { topics })`, `key(request)` and `filter(request)`, and stream options. */
export type SseHubOptions<M extends object = DefaultEventMap> = HubRouteOptions<AnyRequest, M>

export interface SsePluginOptions {
  /** A hub to close (with `closeOptions`) when Fastify closes; any event map. */
  hub?: Pick<Hub, 'close'> | undefined
  closeOptions?: HubCloseOptions | undefined
}

declare module 'fastify' {
  interface FastifyReply {
    /** Opens an event stream on this reply (registered by `ssePlugin`). */
    sse<M extends object = DefaultEventMap>(options?: SseOptions): EventStream<M>
  }
}

/**
 * Opens an event stream: takes the response over from Fastify (`reply.hijack()`), keeping the
 * headers hooks already set on the reply (CORS and the like).
 *
 * @example
 * fastify.get('/clock', (request, reply) => {
 *   const stream = sse(request, reply)
 *   const timer = setInterval(() => stream.send({ event: 'tick', data: new Date().toISOString() }), 1000)
 *   stream.onClose(() => clearInterval(timer))
 * })
 */
export function sse<M extends object = DefaultEventMap>(
  request: AnyRequest,
  reply: AnyReply,
  options?: SseOptions,
): EventStream<M> {
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (value !== undefined) reply.raw.setHeader(name, value)
  }
  reply.hijack()
  return createNodeEventStream<M>(request.raw, reply.raw, options)
}

/** The default `key` of `sseHub`: the client's address (`request.ip`, which follows Fastify's `trustProxy`). */
const clientAddress = (request: AnyRequest): string | undefined => request.ip || undefined

/**
 * A route handler subscribing each request to hub topics chosen from it, after `authorize` (only
 * `true` allows) and within the hub's limits (`key` defaults to `request.ip`). What `topics` or
 * `authorize` throw is a 500 with a generic body, reported on `hub.on('error')`, not to Fastify's
 * error handler.
 *
 * @example
 * fastify.get('/events', sseHub({ hub, topics: (request) => ['news'] }))
 */
export function sseHub<M extends object = DefaultEventMap>(
  options: SseHubOptions<M>,
): RouteHandlerMethod<RawServerBase> {
  const { hub, topics, authorize, filter, ...streamOptions } = options
  return async (request, reply) => {
    const decision = await decideHubRoute(request, { ...options, key: options.key ?? clientAddress })
    if (decision.kind === 'refuse') {
      const { status, headers, body } = decision.response
      return reply.code(status).headers(headers).send(body)
    }
    const stream = reply.sse ? reply.sse<M>(streamOptions) : sse<M>(request, reply, streamOptions)
    await hub.subscribe(stream, decision)
    return reply
  }
}

const plugin: FastifyPluginAsync<SsePluginOptions> = async (fastify, options) => {
  const streams = createNodeStreamTracker()
  function sseOnReply(this: AnyReply, streamOptions?: SseOptions): EventStream {
    return streams.track(sse(this.request, this, streamOptions), this.raw)
  }
  fastify.decorateReply('sse', sseOnReply as FastifyReply['sse'])
  fastify.addHook('preClose', () => streams.close(() => options.hub?.close(options.closeOptions)))
}

/**
 * Registers `reply.sse()`, and closes the hub and open streams on `fastify.close()`.
 *
 * @example
 * await fastify.register(ssePlugin, { hub })
 * fastify.get('/clock', (request, reply) => { const stream = reply.sse(); … })
 */
export const ssePlugin: FastifyPluginAsync<SsePluginOptions> = fp(plugin, {
  fastify: '5.x',
  name: '@sse/fastify',
})
