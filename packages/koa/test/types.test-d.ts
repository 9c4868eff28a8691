/** Types of `@sse/koa`: typed events flow from `sse<M>` and `sseHub<M>` to `send` and the hub. */
import Router from '@koa/router'
import { type AuthorizeContext, createHub, type EventStream, type Hub } from '@sse/core'
import type { Context, Middleware } from 'koa'
import { describe, expectTypeOf, it } from 'vitest'
import { type SseHubOptions, type SseOptions, sse, sseHub } from '../src/index.ts'

type Events = { tick: string; price: { symbol: string; price: number } }
declare const ctx: Context

describe('sse', () => {
  it('types the stream by its event map', () => {
    const stream = sse<{ tick: string }>(ctx)
    expectTypeOf(stream).toEqualTypeOf<EventStream<{ tick: string }>>()
    stream.send({ event: 'tick', data: '12:00', id: '1' })
    // @ts-expect-error wrong payload for `tick`
    stream.send({ event: 'tick', data: 12 })
    // @ts-expect-error unknown event name
    stream.send({ event: 'tock', data: '12:00' })
  })

  it('accepts any event without a map, and stream options but not lastEventId', () => {
    const stream = sse(ctx, { heartbeat: false, retry: 1000, headers: { 'X-A': 'b' } })
    stream.send({ event: 'anything', data: { any: 'thing' } })
    expectTypeOf<SseOptions>().not.toHaveProperty('lastEventId')
    // @ts-expect-error Last-Event-ID is read from the request
    sse(ctx, { lastEventId: '1' })
  })

  it('fits a @koa/router route', () => {
    const router = new Router()
    router.get('/clock/:zone', (ctx) => {
      sse<Events>(ctx).send({ event: 'tick', data: ctx.params.zone ?? '' })
    })
  })
})

describe('sseHub', () => {
  it('is Koa middleware over a hub of the same event map', () => {
    const hub = createHub<Events>()
    const middleware = sseHub<Events>({
      hub,
      topics: (ctx) => [String(ctx.query.topic)],
      authorize: (ctx) =>
        ctx.get('authorization') !== '' || { status: 401, body: { error: 'login required' } },
      filter: () => (entry) => entry.topic !== 'muted',
      heartbeat: 30_000,
    })
    expectTypeOf(middleware).toEqualTypeOf<Middleware>()
    new Router().get('/events', middleware)
  })

  it('passes a Koa Context to topics, authorize, key and filter, and authorize the topics', () => {
    expectTypeOf<Parameters<SseHubOptions['topics']>[0]>().toEqualTypeOf<Context>()
    expectTypeOf<Parameters<NonNullable<SseHubOptions['authorize']>>[0]>().toEqualTypeOf<Context>()
    expectTypeOf<Parameters<NonNullable<SseHubOptions['authorize']>>[1]>().toEqualTypeOf<AuthorizeContext>()
    expectTypeOf<Parameters<NonNullable<SseHubOptions['key']>>[0]>().toEqualTypeOf<Context>()
    sseHub({ hub: createHub(), topics: async () => ['a'], authorize: async () => false })
    sseHub({
      hub: createHub(),
      topics: () => ['a'],
      authorize: (_ctx, { topics }) => {
        expectTypeOf(topics).toEqualTypeOf<readonly string[]>()
        return topics.includes('a')
      },
      key: (ctx) => ctx.state.userId as string | undefined,
    })
  })

  it('refuses an authorize that may return nothing: it fails closed', () => {
    // @ts-expect-error returning nothing no longer allows (it is a 500)
    sseHub({ hub: createHub(), topics: () => ['a'], authorize: () => undefined })
    sseHub({
      hub: createHub(),
      topics: () => ['a'],
      // @ts-expect-error nor does an async authorize that may resolve to nothing
      authorize: async (ctx) => (ctx.get('x') ? true : undefined),
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
