/** Types of `@sse/client`: listener and iterator payloads follow the event map; JSON is required where the map needs it. */
import type { ResetNotice as CoreResetNotice } from '@sse/core'
import { describe, expectTypeOf, it } from 'vitest'
import {
  type CloseInfo,
  connect,
  type OpenInfo,
  type ReconnectingInfo,
  type ResetNotice,
  type SseClient,
  type SseClientError,
  type SseMessage,
  type SseMessageOf,
} from '../src/index.ts'

type Price = { symbol: string; price: number }
type Events = { tick: string; price: Price }

describe('connect', () => {
  it('without a map: any type, string data, options optional', () => {
    const source = connect('/events')
    expectTypeOf(source).toEqualTypeOf<SseClient>()
    source.on('anything', (message) => {
      expectTypeOf(message).toEqualTypeOf<SseMessage<'anything', string>>()
      expectTypeOf(message.data).toEqualTypeOf<string>()
      expectTypeOf(message.lastEventId).toEqualTypeOf<string>()
    })
    connect(new URL('https://example.com/events'), { reconnect: false })
  })

  it('types listener payloads by event type', () => {
    const source = connect<Events>('/events', { json: { price: true } })
    source.on('tick', (message) => {
      expectTypeOf(message.type).toEqualTypeOf<'tick'>()
      expectTypeOf(message.data).toEqualTypeOf<string>()
    })
    source.on('price', ({ data }) => {
      expectTypeOf(data).toEqualTypeOf<Price>()
    })
    // @ts-expect-error not an event of the map
    source.on('tock', () => {})
    // @ts-expect-error price carries a Price, not a string
    source.on('price', (message: SseMessage<'price', string>) => message)
  })

  it('requires json for every non-string type of the map', () => {
    // @ts-expect-error price is not a string: its data must be decoded
    connect<Events>('/events')
    // @ts-expect-error price is not a string: its data must be decoded
    connect<Events>('/events', { headers: { a: 'b' } })
    // @ts-expect-error price must be decoded, tick may be
    connect<Events>('/events', { json: { tick: true } })
    connect<Events>('/events', { json: true })
    connect<Events>('/events', { json: { price: true, tick: false } })
    connect<{ tick: string }>('/events')
  })

  it('yields a union discriminated by type from for await', async () => {
    const source = connect<Events>('/events', { json: true })
    for await (const event of source) {
      expectTypeOf(event).toEqualTypeOf<SseMessageOf<Events>>()
      if (event.type === 'price') expectTypeOf(event.data).toEqualTypeOf<Price>()
      else expectTypeOf(event.data).toEqualTypeOf<string>()
    }
  })

  it('types the lifecycle listeners and options', () => {
    const source = connect('/events', {
      method: 'POST',
      body: JSON.stringify({ q: 1 }),
      headers: async ({ attempt, lastEventId }) => ({ 'X-Attempt': String(attempt), 'X-Last': lastEventId }),
      credentials: 'include',
      signal: AbortSignal.timeout(1000),
      lastEventId: '42',
      idleTimeout: 45_000,
      reconnect: { initialDelay: 500, maxDelay: 10_000, retryStatus: (status) => status >= 500 },
      fetch: (url, init) => fetch(url, init),
    })
    source.onOpen((info) => expectTypeOf(info).toEqualTypeOf<OpenInfo>())
    source.onReconnecting((info) => expectTypeOf(info).toEqualTypeOf<ReconnectingInfo>())
    source.onError((error) => expectTypeOf(error).toEqualTypeOf<SseClientError>())
    source.onReset((notice) => expectTypeOf(notice).toEqualTypeOf<ResetNotice>())
    source.onClose((info) => expectTypeOf(info).toEqualTypeOf<CloseInfo>())
    expectTypeOf(source.onClose(() => {})).toEqualTypeOf<() => void>()
    expectTypeOf(source.readyState).toEqualTypeOf<'connecting' | 'open' | 'closed'>()
    // @ts-expect-error reconnect takes options or false
    connect('/events', { reconnect: true })
  })

  it("reads @sse/core's reset notice", () => {
    expectTypeOf<CoreResetNotice>().toExtend<ResetNotice>()
  })
})
