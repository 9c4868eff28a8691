/** Types of the public surface: typed events on `reply.sse()`, `sse()` and `sseHub`, on HTTP/1.1 and HTTP/2 apps. */
import { type AuthorizeContext, createHub, type EventStream } from '@sse/core'
import fastify, {
  type FastifyRequest,
  type RawServerBase,
  type RouteGenericInterface,
  type RouteHandlerMethod,
} from 'fastify'
import { describe, expectTypeOf, it } from 'vitest'
import {
  type SseHubOptions,
  type SseOptions,
  type SsePluginOptions,
  sse,
  sseHub,
  ssePlugin,
} from '../src/index.ts'

type Events = { tick: string; price: { symbol: string; price: number } }

/** What `sseHub`'s callbacks get: a request of any raw server (HTTP/1.1 or HTTP/2). */
type AnyRequest = FastifyRequest<RouteGenericInterface, RawServerBase>

describe('reply.sse()', () => {
  it('types send by event name', () => {
    fastify().get('/clock', (_request, reply) => {
      const stream = reply.sse<{ tick: string }>({ heartbeat: 15_000, retry: 2000 })
      expectTypeOf(stream).toEqualTypeOf<EventStream<{ tick: string }>>()
      stream.send({ event: 'tick', data: '12:00', id: '1' })
      // @ts-expect-error wrong payload for `tick`
      stream.send({ event: 'tick', data: 12 })
      // @ts-expect-error unknown event name
      stream.send({ event: 'tock', data: '12:00' })
      // @ts-expect-error `lastEventId` is read from the request, not passed
      reply.sse({ lastEventId: '1' })
    })
  })

  it('accepts any event without a map', () => {
    fastify().get('/any', (_request, reply) => {
      const stream = reply.sse()
      expectTypeOf(stream).toEqualTypeOf<EventStream>()
      stream.send({ event: 'whatever', data: { any: 'thing' } })
      stream.send({ data: 1 })
    })
  })
})

describe('sse(request, reply)', () => {
  it('fits HTTP/1.1 and HTTP/2 apps and routes with generics', () => {
    fastify().get<{ Querystring: { room: string } }>('/chat', (request, reply) => {
      const stream = sse<Events>(request, reply)
      stream.send({ event: 'price', data: { symbol: request.query.room, price: 1 } })
      // @ts-expect-error wrong payload for `price`
      stream.send({ event: 'price', data: 'cheap' })
    })
    fastify({ http2: true }).get('/clock', (request, reply) => {
      expectTypeOf(sse<Events>(request, reply)).toEqualTypeOf<EventStream<Events>>()
    })
  })
})

describe('sseHub', () => {
  it('takes the event map of its hub', () => {
    const hub = createHub<Events>()
    const handler = sseHub<Events>({ hub, topics: () => ['prices'] })
    expectTypeOf(handler).toEqualTypeOf<RouteHandlerMethod<RawServerBase>>()
    sseHub({ hub, topics: () => ['prices'] }) // inferred from the hub
    expectTypeOf<SseHubOptions<Events>['hub']>().toEqualTypeOf(hub)
    // @ts-expect-error a hub of another event map
    sseHub<Events>({ hub: createHub<{ other: number }>(), topics: () => ['prices'] })
  })

  it('types topics, authorize and filter against the request', () => {
    const hub = createHub()
    fastify().get(
      '/events',
      sseHub({
        hub,
        topics: (request) => [(request.query as { topic: string }).topic],
        authorize: async (request) =>
          request.headers.authorization ? true : { status: 401, body: { error: 'login required' } },
        filter: (request) => (entry) => entry.topic !== String(request.headers['x-muted']),
        heartbeat: 10_000,
      }),
    )
    fastify({ http2: true }).get('/events', sseHub({ hub, topics: () => ['news'], authorize: () => false }))
    // @ts-expect-error authorize answers true, false or a refusal, not a string
    sseHub({ hub, topics: () => ['news'], authorize: () => 'no' })
    // @ts-expect-error returning nothing no longer allows (it fails closed, with a 500)
    sseHub({ hub, topics: () => ['news'], authorize: () => undefined })
    sseHub({
      hub,
      topics: () => ['news'],
      // @ts-expect-error nor does an async authorize that may resolve to nothing
      authorize: async (request) => (request.headers.authorization ? true : undefined),
    })
    // @ts-expect-error key is a string (or undefined for no per-key limit)
    sseHub({ hub, topics: () => ['news'], key: () => 42 })
    // @ts-expect-error topics are strings
    sseHub({ hub, topics: () => [1] })
  })
  it('hands authorize the request and the topics it asks for, and key the request', () => {
    const handler = sseHub({
      hub: createHub(),
      topics: () => ['news'],
      authorize: (request, context) => {
        expectTypeOf(request).toEqualTypeOf<AnyRequest>()
        expectTypeOf(context).toEqualTypeOf<AuthorizeContext>()
        expectTypeOf(context.topics).toEqualTypeOf<readonly string[]>()
        return context.topics.includes('news')
      },
      key: (request) => {
        expectTypeOf(request).toEqualTypeOf<AnyRequest>()
        return request.headers['x-user-id'] as string | undefined
      },
    })
    fastify().get('/events', handler)
  })
})

describe('ssePlugin', () => {
  it('takes a hub of any event map, and close options', () => {
    const app = fastify()
    void app.register(ssePlugin)
    void app.register(ssePlugin, {
      hub: createHub<Events>(),
      closeOptions: { retry: { min: 1000, max: 5000 } },
    })
    void fastify({ http2: true }).register(ssePlugin, { hub: createHub() })
    // @ts-expect-error not a hub
    void app.register(ssePlugin, { hub: {} })
    expectTypeOf<SsePluginOptions['closeOptions']>().toExtend<object | undefined>()
    expectTypeOf<SseOptions>().not.toHaveProperty('lastEventId')
  })
})
