/** Typed events through the adapter: the hub's event map flows into `sseHub` and `sse`. */
import { type AuthorizeContext, createHub, type EventStream, type Hub } from '@sse/core'
import type { Request, RequestHandler, Response } from 'express'
import { describe, expectTypeOf, it } from 'vitest'
import { type SseHubOptions, type SseOptions, sse, sseHub } from '../src/index.ts'

type Clock = { tick: string }

describe('sseHub', () => {
  it('takes a typed hub and returns Express middleware', () => {
    const hub = createHub<Clock>()
    const handler = sseHub<Clock>({
      hub,
      topics: (req) => {
        expectTypeOf(req).toEqualTypeOf<Request>()
        return [String(req.query.topic ?? 'clock')]
      },
      authorize: async (req) => req.get('authorization') !== undefined || { status: 401 },
      filter: () => (entry) => entry.event === 'tick',
      heartbeat: 30_000,
      onOverflow: 'drop',
    })
    expectTypeOf(handler).toEqualTypeOf<RequestHandler>()
    hub.publish('clock', { event: 'tick', data: '12:00' })
    // @ts-expect-error the hub's map says `tick` carries a string
    hub.publish('clock', { event: 'tick', data: 1200 })
  })

  it('hands authorize the request and the topics it asks for', () => {
    const hub = createHub<Clock>()
    sseHub<Clock>({
      hub,
      topics: () => ['clock'],
      authorize: (req, context) => {
        expectTypeOf(req).toEqualTypeOf<Request>()
        expectTypeOf(context).toEqualTypeOf<AuthorizeContext>()
        expectTypeOf(context.topics).toEqualTypeOf<readonly string[]>()
        return context.topics.every((topic) => topic === 'clock')
      },
      key: (req) => {
        expectTypeOf(req).toEqualTypeOf<Request>()
        return req.get('x-user-id')
      },
    })
  })

  it('infers the map from the hub', () => {
    const hub: Hub<Clock> = createHub<Clock>()
    expectTypeOf(sseHub({ hub, topics: () => ['clock'] })).toEqualTypeOf<RequestHandler>()
    expectTypeOf<SseHubOptions<Clock>['hub']>().toEqualTypeOf<Hub<Clock>>()
  })

  it('rejects what is not an option', () => {
    const hub = createHub<Clock>()
    // @ts-expect-error topics are required
    sseHub<Clock>({ hub })
    // @ts-expect-error authorize answers with a boolean or a refusal
    sseHub<Clock>({ hub, topics: () => ['clock'], authorize: () => 'yes' })
    // @ts-expect-error returning nothing no longer allows (it fails closed, with a 500)
    sseHub<Clock>({ hub, topics: () => ['clock'], authorize: () => undefined })
    sseHub<Clock>({
      hub,
      topics: () => ['clock'],
      // @ts-expect-error nor does an async authorize that may resolve to nothing
      authorize: async (req) => (req.get('x') ? true : undefined),
    })
    // @ts-expect-error a missing return is caught the same way
    sseHub<Clock>({ hub, topics: () => ['clock'], authorize: (req) => void req })
    // @ts-expect-error key is a string (or undefined for no per-key limit)
    sseHub<Clock>({ hub, topics: () => ['clock'], key: () => 42 })
    // @ts-expect-error Last-Event-ID is read from the request, not passed
    sseHub<Clock>({ hub, topics: () => ['clock'], lastEventId: '1' })
    // @ts-expect-error a hub of another event map
    sseHub<Clock>({ hub: createHub<{ price: number }>(), topics: () => ['clock'] })
  })
})

describe('sse', () => {
  it('returns a typed stream', () => {
    const handler = (req: Request, res: Response) => {
      const stream = sse<Clock>(req, res, { retry: 1000 })
      expectTypeOf(stream).toEqualTypeOf<EventStream<Clock>>()
      stream.send({ event: 'tick', data: 'now', id: '1' })
      // @ts-expect-error wrong payload for `tick`
      stream.send({ event: 'tick', data: 1 })
      // @ts-expect-error unknown event name
      stream.send({ event: 'tock', data: 'now' })
      const untyped = sse(req, res)
      untyped.send({ event: 'anything', data: { any: 'thing' } })
    }
    expectTypeOf(handler).toBeFunction()
    // @ts-expect-error Last-Event-ID is read from the request, not passed
    const options: SseOptions = { lastEventId: '1' }
    expectTypeOf(options).toEqualTypeOf<SseOptions>()
  })
})
