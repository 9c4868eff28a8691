/**
 * Contract cases on the hub route's decision before any stream opens: the topics of the request,
 * what `authorize` returns, throws or is told, and the hub's limits (topics, streams per key,
 * streams in all).
 */
import { type AuthorizeResult, DEFAULT_MAX_TOPICS_PER_STREAM, isSseError, MAX_TOPIC_LENGTH } from '@sse/core'
import { expect, it } from 'vitest'
import type { PlainAnswer } from '../read-answer.ts'
import type { EventStreamReader } from '../read-events.ts'
import { DEFAULT_TIMEOUT_MS, pollUntil } from '../with-timeout.ts'
import type { ContractAuthorize } from './fixture.ts'
import type { ContractCases } from './suite.ts'

/** A value as a label: `undefined`, `null`, `0`, `""`, `{}`. */
function shown(value: unknown): string {
  return value === undefined ? 'undefined' : JSON.stringify(value)
}

/** The hub route's answer to a failing `authorize`: 500, a generic JSON body, no stream. */
function expectInternalError(answer: PlainAnswer, label: string): void {
  expect(answer.stream, `${label}: answered with an event stream`).toBe(false)
  expect(answer.status, label).toBe(500)
  expect(answer.headers['content-type'], label).toBe('application/json; charset=utf-8')
  expect(JSON.parse(answer.body), label).toEqual({ error: 'internal error' })
}

/** The hub route's answer past one of the hub's limits: that status, `Retry-After` in seconds, a JSON body. */
function expectLimited(answer: PlainAnswer, status: 429 | 503): void {
  expect(answer.stream, `${status}: answered with an event stream`).toBe(false)
  expect(answer.status).toBe(status)
  expect(answer.headers['retry-after']).toMatch(/^[1-9]\d*$/)
  expect(answer.headers['content-type']).toBe('application/json; charset=utf-8')
  expect(JSON.parse(answer.body)).toEqual({ error: expect.any(String) })
}

export function authLimitCases({ s }: ContractCases): void {
  it('subscribes the hub route to the topics of its query', async () => {
    const reader = await s.open(s.hubUrl(['a', 'b']))
    await s.hubSize(1)
    expect(s.hub.topics()).toEqual(
      new Map([
        ['a', 1],
        ['b', 1],
      ]),
    )
    await s.hub.publish('a', { data: 'A' })
    await s.hub.publish('c', { data: 'C' })
    await s.hub.publish('b', { data: 'B' })
    await reader.waitForEvent((event) => event.data === 'B')
    expect(reader.events.map((event) => event.data)).toEqual(['A', 'B'])
  })

  it('answers what authorize returns: false is a 403, a Refusal is sent as given, true subscribes', async () => {
    s.authorize = (url) => {
      const as = new URL(url, 'http://localhost').searchParams.get('as')
      if (as === 'anonymous') {
        return { status: 401, body: { error: 'log in' }, headers: { 'WWW-Authenticate': 'Bearer' } }
      }
      if (as === 'stranger') return { status: 403, body: 'not yours' }
      if (as === 'gone') return { status: 204 }
      return as === 'member'
    }
    const anonymous = await s.answer(s.hubUrl(['guarded'], { as: 'anonymous' }))
    expect(anonymous).toMatchObject({ status: 401, stream: false })
    expect(anonymous.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(anonymous.headers['www-authenticate']).toBe('Bearer')
    expect(JSON.parse(anonymous.body)).toEqual({ error: 'log in' })

    const banned = await s.answer(s.hubUrl(['guarded'], { as: 'banned' }))
    expect(banned).toMatchObject({ status: 403, stream: false })
    expect(banned.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(JSON.parse(banned.body)).toEqual({ error: 'forbidden' })

    const stranger = await s.answer(s.hubUrl(['guarded'], { as: 'stranger' }))
    expect(stranger).toMatchObject({ status: 403, body: 'not yours', stream: false })
    expect(stranger.headers['content-type']).toBe('text/plain; charset=utf-8')

    // 204: a browser's EventSource stops reconnecting for good.
    const gone = await s.answer(s.hubUrl(['guarded'], { as: 'gone' }))
    expect(gone).toMatchObject({ status: 204, body: '', stream: false })
    expect(gone.headers['content-type']).toBeUndefined()
    expect(s.hub.subscribed).toEqual([])

    const reader = await s.open(s.hubUrl(['guarded'], { as: 'member' }))
    expect(reader.status).toBe(200)
    await s.hubSize(1)
    await s.hub.publish('guarded', { data: 'for members' })
    expect((await reader.next()).data).toBe('for members')
  })

  it('fails closed: an authorize that returns undefined, null, 0, "" or {} is a generic 500, never a stream', async () => {
    const verdicts: unknown[] = [undefined, null, 0, '', {}]
    for (const verdict of verdicts) {
      // What plain JavaScript (or a cast) hands back: a forgotten `return`, `user?.canRead` with no user.
      s.authorize = () => verdict as AuthorizeResult
      expectInternalError(await s.answer(s.hubUrl(['guarded'])), `authorize returning ${shown(verdict)}`)
    }
    // The detail went to the hub's error listeners instead, one error per request.
    const errors = s.takeErrors()
    expect(errors).toHaveLength(verdicts.length)
    for (const [i, error] of errors.entries()) {
      expect(isSseError(error) && error.code, shown(verdicts[i])).toBe('SSE_INVALID_OPTION')
      expect((error as Error).message, shown(verdicts[i])).toMatch(/^authorize returned /)
    }
    expect(s.hub.size).toBe(0)
    expect(s.hub.subscribed).toEqual([])
  })

  it('answers an authorize that throws or rejects with a generic 500; the error goes to hub.on("error"), never to the client', async () => {
    const secret = 'session store down at 10.0.0.3:5432 (password=hunter2)'
    const thrown = new Error(`sync: ${secret}`)
    const rejected = new Error(`async: ${secret}`)
    const cases: Array<{ label: string; authorize: ContractAuthorize }> = [
      {
        label: 'a synchronous throw',
        authorize: () => {
          throw thrown
        },
      },
      {
        label: 'a rejection',
        authorize: async () => {
          await new Promise((resolve) => setImmediate(resolve)) // a lookup that fails later
          throw rejected
        },
      },
    ]
    for (const { label, authorize } of cases) {
      s.authorize = authorize
      const answer = await s.answer(s.hubUrl(['guarded']))
      expectInternalError(answer, label)
      const everything = `${JSON.stringify(answer.headers)}\n${answer.body}`
      for (const part of ['hunter2', '10.0.0.3', 'session store', 'sync:']) {
        expect(everything, `${label}: the answer must not carry the error`).not.toContain(part)
      }
    }
    const errors = s.takeErrors()
    expect(errors).toHaveLength(2)
    expect(errors[0]).toBe(thrown)
    expect(errors[1]).toBe(rejected)
    expect(s.hub.size).toBe(0)
    expect(s.hub.subscribed).toEqual([])
  })

  it('tells authorize the topics the request asks for, so it can refuse some of them', async () => {
    const asked: string[][] = []
    s.authorize = (_url, { topics }) => {
      asked.push([...topics])
      return !topics.includes('secret')
    }
    const reader = await s.open(s.hubUrl(['news', 'sport']))
    expect(reader.status).toBe(200)
    await s.hubSize(1)
    const refused = await s.answer(s.hubUrl(['news', 'secret']))
    expect(refused).toMatchObject({ status: 403, stream: false })
    expect(asked).toEqual([
      ['news', 'sport'],
      ['news', 'secret'],
    ])
    expect(s.hub.size).toBe(1)
    expect(s.hub.topics()).toEqual(
      new Map([
        ['news', 1],
        ['sport', 1],
      ]),
    )
  })

  it('refuses too many topics, or a too long one, with a 400 before authorize runs or any stream opens', async () => {
    let asked = 0
    s.authorize = () => {
      asked++
      return true
    }
    const names = (count: number) => Array.from({ length: count }, (_, i) => `t${i}`)
    // The hub's default limit.
    const overDefault = await s.answer(s.hubUrl(names(DEFAULT_MAX_TOPICS_PER_STREAM + 1)))
    expect(overDefault).toMatchObject({ status: 400, stream: false })
    expect(JSON.parse(overDefault.body).error).toMatch(`at most ${DEFAULT_MAX_TOPICS_PER_STREAM} topics`)

    await s.useHub({ maxTopicsPerStream: 3 })
    const tooMany = await s.answer(s.hubUrl(names(4)))
    expect(tooMany).toMatchObject({ status: 400, stream: false })
    expect(tooMany.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(JSON.parse(tooMany.body).error).toMatch('at most 3 topics')
    const tooLong = await s.answer(s.hubUrl(['fine', 'x'.repeat(MAX_TOPIC_LENGTH + 1)]))
    expect(tooLong).toMatchObject({ status: 400, stream: false })
    expect(JSON.parse(tooLong.body).error).toMatch(`at most ${MAX_TOPIC_LENGTH} characters`)
    expect(asked).toBe(0)
    expect(s.hub.subscribed).toEqual([])

    // At the limits, the stream opens.
    const reader = await s.open(s.hubUrl([...names(2), 'x'.repeat(MAX_TOPIC_LENGTH)]))
    expect(reader.status).toBe(200)
    await s.hubSize(1)
    expect(asked).toBe(1)
  })

  it('answers 429 with Retry-After past maxStreamsPerKey, for that key only; a stream that ends frees its place', async () => {
    await s.useHub({ maxStreamsPerKey: 3 })
    s.key = (url) => new URL(url, 'http://localhost').searchParams.get('as') ?? undefined
    const ann: EventStreamReader[] = []
    for (let i = 1; i <= 3; i++) {
      const reader = await s.open(s.hubUrl(['keyed'], { as: 'ann' }))
      expect(reader.status, `ann's stream #${i}`).toBe(200)
      ann.push(reader)
      await s.hubSize(i)
    }
    expect(s.hub.keySize('ann')).toBe(3)
    expectLimited(await s.answer(s.hubUrl(['keyed'], { as: 'ann' })), 429)
    expect(s.hub.keySize('ann')).toBe(3)

    // Another key is not held back by ann's streams.
    const bob = await s.open(s.hubUrl(['keyed'], { as: 'bob' }))
    expect(bob.status).toBe(200)
    await s.hubSize(4)

    await ann[0]!.close()
    await pollUntil(
      () => s.hub.keySize('ann') === 2,
      DEFAULT_TIMEOUT_MS,
      () => `ann's closed stream to leave the hub (keySize ${s.hub.keySize('ann')})`,
    )
    const again = await s.open(s.hubUrl(['keyed'], { as: 'ann' }))
    expect(again.status).toBe(200)
    await s.hubSize(4)
    expect(s.hub.keySize('ann')).toBe(3)
    await s.hub.publish('keyed', { data: 'to every stream let in' })
    for (const reader of [ann[1]!, ann[2]!, bob, again]) {
      expect((await reader.next()).data).toBe('to every stream let in')
    }
  })

  it('answers 503 with Retry-After past maxStreams; a stream that ends frees its place', async () => {
    await s.useHub({ maxStreams: 2 })
    const readers: EventStreamReader[] = []
    for (let i = 1; i <= 2; i++) {
      const reader = await s.open(s.hubUrl(['full']))
      expect(reader.status, `stream #${i}`).toBe(200)
      readers.push(reader)
      await s.hubSize(i)
    }
    expectLimited(await s.answer(s.hubUrl(['full'])), 503)
    expect(s.hub.size).toBe(2)

    await readers[0]!.close()
    await s.hubSize(1)
    const again = await s.open(s.hubUrl(['full']))
    expect(again.status).toBe(200)
    await s.hubSize(2)
    await s.hub.publish('full', { data: 'still flowing' })
    for (const reader of [readers[1]!, again]) expect((await reader.next()).data).toBe('still flowing')
  })
}
