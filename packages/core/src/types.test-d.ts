import { describe, expectTypeOf, it } from 'vitest'
import { createEventStream, createHub, type EventStream, type Hub } from './index.ts'
import { createMemorySink } from './testing.ts'

type Events = { tick: string; price: { symbol: string; price: number }; message: number }

describe('typed events', () => {
  it('types publish by event name', () => {
    const hub = createHub<Events>()
    expectTypeOf(hub.publish('t', { event: 'tick', data: '12:00' })).toEqualTypeOf<Promise<string>>()
    hub.publish('t', { event: 'price', data: { symbol: 'ACME', price: 1 } })
    hub.publish('t', { data: 5 }) // `message` may omit the event name
    // @ts-expect-error wrong payload for `price`
    hub.publish('t', { event: 'price', data: 'cheap' })
    // @ts-expect-error unknown event name
    hub.publish('t', { event: 'tock', data: '' })
    // @ts-expect-error a non-message event needs its name
    hub.publish('t', { data: '12:00' })
  })

  it('accepts anything without a map', () => {
    const hub: Hub = createHub()
    hub.publish('t', { data: { any: 'thing' } })
    hub.publish('t', { event: 'whatever', data: 1 })
  })

  it('types send on a typed stream, with id and retry', () => {
    const stream = createEventStream<Events>(createMemorySink())
    stream.send({ event: 'tick', data: 'now', id: '1', retry: 100 })
    // @ts-expect-error wrong payload
    stream.send({ event: 'tick', data: 1 })
    const untyped: EventStream = createEventStream(createMemorySink())
    untyped.send({ id: '1' })
    untyped.send({ retry: 1000 })
  })

  it('subscribes a typed stream to a hub of the same map', () => {
    const hub = createHub<Events>()
    const stream = createEventStream<Events>(createMemorySink())
    expectTypeOf(hub.subscribe(stream, { topics: ['t'] })).toEqualTypeOf<Promise<void>>()
    // A stream opened without a map (as adapters and createNodeEventStream open them) fits any hub.
    hub.subscribe(createEventStream(createMemorySink()), { topics: ['t'] })
  })
})
