/** Types of `@sse/hono`: typed events flow from `sse<M>` and `sseHub<M>` to `send` and the hub. */
import { type AuthorizeContext, createHub, type EventStream, type Hub } from '@sse/core'
import { type Context, type Handler, Hono } from 'hono'
import { describe, expectTypeOf, it } from 'vitest'
import { type SseHubOptions, type SseOptions, sse, sseHub } from '../src/index.ts'

type Events = { tick: string; price: { symbol: string; price: number } }
declare const c: Context

describe('sse', () => {
  it('returns a Response and types the stream by its event map', () => {
    const response = sse<{ tick: string }>(c, (stream) => {
      expectTypeOf(stream).toEqualTypeOf<EventStream<{ tick: string }>>()
      stream.send({ event: 'tick', data: '12:00', id: '1' })
      // @ts-expect-error wrong payload for `tick`
      stream.send({ event: 'tick', data: 12 })
      // @ts-expect-error unknown event name
      stream.send({ event: 'tock', data: '12:00' })
    })
    expectTypeOf(response).toEqualTypeOf<Response>()
  })

  it('accepts an async callback, any event without a map, and stream options but not lastEventId', () => {
    sse(c, async (stream) => {
      stream.send({ event: 'anything', data: { any: 'thing' } })
    })
    sse(c, () => {}, { heartbeat: false, retry: 1000, headers: { 'X-A': 'b' }, highWaterMark: 1024 })
    expectTypeOf<SseOptions>().not.toHaveProperty('lastEventId')
    // @ts-expect-error Last-Event-ID is read from the request
    sse(c, () => {}, { lastEventId: '1' })
  })

  it('fits a route of an app with its own Env and path params', () => {
    const app = new Hono<{ Bindings: { TOKEN: string } }>()
    app.get('/clock/:zone', (c) =>
      sse<Events>(c, (stream) =>
        stream.send({ event: 'tick', data: `${c.req.param('zone')} ${c.env.TOKEN}` }),
      ),
    )
  })
})

describe('sseHub', () => {
  it('is a Hono handler over a hub of the same event map', () => {
    const hub = createHub<Events>()
    const handler = sseHub<Events>({
      hub,
      topics: (c) => [c.req.query('topic') ?? 'news'],
      authorize: (c) =>
        c.req.header('authorization') !== undefined || { status: 401, body: { error: 'log in' } },
      filter: () => (entry) => entry.topic !== 'muted',
      heartbeat: 30_000,
      highWaterMark: 16 * 1024,
    })
    expectTypeOf(handler).toEqualTypeOf<Handler>()
    new Hono().get('/events', handler)
    new Hono<{ Variables: { user: string } }>().get('/events', handler)
  })

  it('passes a Hono Context to topics, authorize, key and filter, and authorize the topics', () => {
    expectTypeOf<Parameters<SseHubOptions['topics']>[0]>().toEqualTypeOf<Context>()
    expectTypeOf<Parameters<NonNullable<SseHubOptions['authorize']>>[0]>().toEqualTypeOf<Context>()
    expectTypeOf<Parameters<NonNullable<SseHubOptions['authorize']>>[1]>().toEqualTypeOf<AuthorizeContext>()
    expectTypeOf<Parameters<NonNullable<SseHubOptions['key']>>[0]>().toEqualTypeOf<Context>()
    expectTypeOf<Parameters<NonNullable<SseHubOptions['filter']>>[0]>().toEqualTypeOf<Context>()
    sseHub({ hub: createHub(), topics: async () => ['a'], authorize: async () => false })
    sseHub({
      hub: createHub(),
      topics: () => ['a'],
      authorize: (_c, { topics }) => {
        expectTypeOf(topics).toEqualTypeOf<readonly string[]>()
        return topics.includes('a')
      },
      key: (c) => c.req.header('x-user-id'),
    })
  })

  it('refuses an authorize that may return nothing: it fails closed', () => {
    // @ts-expect-error returning nothing no longer allows (it is a 500)
    sseHub({ hub: createHub(), topics: () => ['a'], authorize: () => undefined })
    sseHub({
      hub: createHub(),
      topics: () => ['a'],
      // @ts-expect-error nor does an async authorize that may resolve to nothing
      authorize: async (c) => (c.req.header('x') ? true : undefined),
    })
    // @ts-expect-error authorize answers true, false or a refusal, not a string
    sseHub({ hub: createHub(), topics: () => ['a'], authorize: () => 'yes' })
    // @ts-expect-error key is a string (or undefined for no per-key limit)
    sseHub({ hub: createHub(), topics: () => ['a'], key: () => 42 })
  })

  it('refuses a hub of another event map, and topics that are not strings', () => {
    const other: Hub<{ other: number }> = createHub<{ other: number }>()
    // @ts-expect-error the hub carries other events
    sseHub<Events>({ hub: other, topics: () => ['a'] })
    // @ts-expect-error topics are strings
    sseHub({ hub: createHub(), topics: () => [1] })
  })
})
