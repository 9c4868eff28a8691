import { describe, expect, it } from 'vitest'
import { decodeEvent } from './decode-event.ts'

const rules = { json: new Set(['price']), resetEvent: 'sse-reset' }

describe('decodeEvent', () => {
  it('passes the data of a type not decoded as JSON through as a string', () => {
    expect(decodeEvent({ type: 'tick', data: '{"n":1}', lastEventId: '3' }, rules)).toEqual({
      kind: 'message',
      message: { type: 'tick', data: '{"n":1}', lastEventId: '3' },
    })
  })

  it('decodes JSON for the types asked, or every type with json: true', () => {
    const price = { type: 'price', data: '{"p":1}', lastEventId: '' }
    expect(decodeEvent(price, rules)).toMatchObject({ kind: 'message', message: { data: { p: 1 } } })
    const tick = { type: 'tick', data: '[1]', lastEventId: '' }
    expect(decodeEvent(tick, { json: true, resetEvent: undefined })).toMatchObject({ message: { data: [1] } })
  })

  it('reports data that does not parse as SSE_CLIENT_INVALID_JSON, with the data as its body', () => {
    const delivery = decodeEvent({ type: 'price', data: '{broken', lastEventId: '' }, rules)
    expect(delivery).toMatchObject({
      kind: 'invalid',
      error: { code: 'SSE_CLIENT_INVALID_JSON', body: '{broken' },
    })
  })

  it("reads @sse/core's reset notice, and a broken one as 'unknown'", () => {
    const notice = (data: string) => decodeEvent({ type: 'sse-reset', data, lastEventId: '9' }, rules)
    expect(notice('{"reason":"epoch","lastEventId":"4"}')).toEqual({
      kind: 'reset',
      notice: { reason: 'epoch', lastEventId: '4' },
    })
    expect(notice('not json')).toEqual({ kind: 'reset', notice: { reason: 'unknown', lastEventId: '' } })
    expect(notice('{"reason":7}')).toEqual({ kind: 'reset', notice: { reason: 'unknown', lastEventId: '' } })
  })

  it('delivers the reset event as a message when resetEvent is off', () => {
    const delivery = decodeEvent(
      { type: 'sse-reset', data: '{}', lastEventId: '' },
      { json: new Set(), resetEvent: undefined },
    )
    expect(delivery).toMatchObject({ kind: 'message', message: { type: 'sse-reset', data: '{}' } })
  })
})
