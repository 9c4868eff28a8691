import { afterEach, describe, expect, it } from 'vitest'
import { createEventStream } from './event-stream.ts'
import { createHub, type Hub } from './hub.ts'
import { decideHubRoute, toRefusalResponse } from './hub-route.ts'
import { createMemorySink } from './testing.ts'

interface FakeRequest {
  user?: string
  topics: string[]
}

let hub: Hub
afterEach(async () => {
  await hub?.close()
})

describe('decideHubRoute', () => {
  it('subscribes to the topics chosen from the request, with its filter', async () => {
    hub = createHub({ heartbeat: false })
    const filter = () => true
    const decision = await decideHubRoute<FakeRequest>(
      { topics: ['a', 'b'] },
      { hub, topics: (req) => req.topics, filter: () => filter },
    )
    expect(decision).toEqual({ kind: 'subscribe', topics: ['a', 'b'], filter })
  })

  it('refuses with 403 and a JSON body when authorize returns false', async () => {
    hub = createHub({ heartbeat: false })
    const decision = await decideHubRoute<FakeRequest>(
      { topics: ['a'] },
      { hub, topics: (r) => r.topics, authorize: () => false },
    )
    expect(decision).toEqual({
      kind: 'refuse',
      response: {
        status: 403,
        headers: { 'Content-Type': 'application/json; charset=utf-8' },
        body: '{"error":"forbidden"}',
      },
    })
  })

  it('passes a custom refusal through, async', async () => {
    hub = createHub({ heartbeat: false })
    const decision = await decideHubRoute<FakeRequest>(
      { topics: ['a'] },
      {
        hub,
        topics: (r) => r.topics,
        authorize: async (req) =>
          req.user ? true : { status: 401, body: 'log in first', headers: { 'WWW-Authenticate': 'Bearer' } },
      },
    )
    expect(decision).toEqual({
      kind: 'refuse',
      response: {
        status: 401,
        headers: { 'WWW-Authenticate': 'Bearer', 'Content-Type': 'text/plain; charset=utf-8' },
        body: 'log in first',
      },
    })
  })

  it('allows only when authorize returns true, and tells it the topics', async () => {
    hub = createHub({ heartbeat: false })
    const asked: unknown[] = []
    const decision = await decideHubRoute<FakeRequest>(
      { topics: ['a', 'b'] },
      {
        hub,
        topics: (r) => r.topics,
        authorize: (_req, { topics }) => {
          asked.push(topics)
          return true
        },
      },
    )
    expect(decision.kind).toBe('subscribe')
    expect(asked).toEqual([['a', 'b']])
  })

  it('fails closed: anything but true or a Refusal is a generic 500, the detail to the hub', async () => {
    hub = createHub({ heartbeat: false })
    const errors: unknown[] = []
    hub.on('error', (error) => errors.push(error))
    const verdicts: unknown[] = [undefined, null, 0, 1, '', 'yes', {}, { status: 'x' }, { status: 42 }, []]
    for (const verdict of verdicts) {
      const decision = await decideHubRoute<FakeRequest>(
        { topics: ['a'] },
        // biome-ignore lint/suspicious/noExplicitAny: what a JavaScript caller (or a cast) can return.
        { hub, topics: (r) => r.topics, authorize: () => verdict as any },
      )
      expect([verdict, decision]).toEqual([
        verdict,
        {
          kind: 'refuse',
          response: {
            status: 500,
            headers: { 'Content-Type': 'application/json; charset=utf-8' },
            body: '{"error":"internal error"}',
          },
        },
      ])
    }
    expect(errors).toHaveLength(verdicts.length)
    expect(errors[0]).toMatchObject({
      code: 'SSE_INVALID_OPTION',
      message: expect.stringMatching(/authorize returned undefined/),
    })
  })
  it('refuses invalid topics with 400 naming the problem', async () => {
    hub = createHub({ heartbeat: false })
    for (const topics of [[], [''], ['x'.repeat(300)]]) {
      const decision = await decideHubRoute<FakeRequest>({ topics }, { hub, topics: (r) => r.topics })
      expect(decision).toMatchObject({ kind: 'refuse', response: { status: 400 } })
    }
  })

  it('answers a throwing authorize or topics with a generic 500; the error goes to the hub, not the client', async () => {
    hub = createHub({ heartbeat: false })
    const errors: unknown[] = []
    hub.on('error', (error) => errors.push(error))
    const boom = new Error('db down at 10.0.0.3:5432')
    const cases = [
      { topics: () => ['a'], authorize: () => Promise.reject(boom) },
      {
        topics: () => ['a'],
        authorize: () => {
          throw boom
        },
      },
      {
        topics: () => {
          throw boom
        },
      },
    ]
    for (const route of cases) {
      const decision = await decideHubRoute<FakeRequest>({ topics: [] }, { hub, ...route })
      expect(decision).toMatchObject({
        kind: 'refuse',
        response: { status: 500, body: '{"error":"internal error"}' },
      })
    }
    expect(errors).toEqual([boom, boom, boom])
  })

  it('refuses with the 4xx status an error thrown by authorize carries, never with its message', async () => {
    hub = createHub({ heartbeat: false })
    const errors: unknown[] = []
    hub.on('error', (error) => errors.push(error))
    // What Koa's ctx.throw(401), Hono's HTTPException(403) and @fastify/sensible's errors look like.
    const thrown = (fields: Record<string, unknown>) =>
      Object.assign(new Error('secret detail: user 42 has no session'), fields)
    const cases: Array<[Record<string, unknown>, number, string]> = [
      [{ status: 401, expose: true }, 401, '{"error":"unauthorized"}'],
      [{ status: 403 }, 403, '{"error":"forbidden"}'],
      [{ statusCode: 404 }, 404, '{"error":"not found"}'],
      [{ status: 418 }, 418, '{"error":"refused"}'],
      [{ status: 503 }, 500, '{"error":"internal error"}'], // not the client's fault: a 500
      [{ status: '401' }, 500, '{"error":"internal error"}'], // not an integer status
    ]
    for (const [fields, status, body] of cases) {
      const decision = await decideHubRoute<FakeRequest>(
        { topics: [] },
        {
          hub,
          topics: () => ['a'],
          authorize: () => {
            throw thrown(fields)
          },
        },
      )
      expect(decision, JSON.stringify(fields)).toMatchObject({ kind: 'refuse', response: { status, body } })
    }
    // A deliberate refusal is not an error; the two 500s are.
    expect(errors).toHaveLength(2)
  })

  it('carries the principal and tags of a Grant to the subscription, and fails closed on a bad one', async () => {
    hub = createHub({ heartbeat: false })
    const errors: unknown[] = []
    hub.on('error', (error) => errors.push(error))
    const route = (verdict: unknown) => ({ hub, topics: () => ['a'], authorize: () => verdict as never })
    expect(
      await decideHubRoute<FakeRequest>(
        { topics: [] },
        route({ allow: true, principal: 'ann', tags: ['editor'] }),
      ),
    ).toMatchObject({ kind: 'subscribe', topics: ['a'], principal: 'ann', tags: ['editor'] })
    expect(await decideHubRoute<FakeRequest>({ topics: [] }, route(true))).toMatchObject({
      kind: 'subscribe',
      principal: undefined,
      tags: undefined,
    })
    for (const verdict of [
      { allow: false },
      { allow: 'yes' },
      { allow: true, principal: '' },
      { allow: true, tags: 'x' },
    ]) {
      expect(
        await decideHubRoute<FakeRequest>({ topics: [] }, route(verdict)),
        JSON.stringify(verdict),
      ).toMatchObject({
        kind: 'refuse',
        response: { status: 500, body: '{"error":"internal error"}' },
      })
    }
    expect(errors).toHaveLength(4)
  })

  it('checks the topics before authorize: a bad or too long list is a 400 and authorize never runs', async () => {
    hub = createHub({ heartbeat: false, maxTopicsPerStream: 3 })
    let ran = 0
    const authorize = () => {
      ran++
      return true
    }
    for (const topics of [['a', 'b', 'c', 'd'], ['x'.repeat(300)]]) {
      const decision = await decideHubRoute<FakeRequest>(
        { topics },
        { hub, topics: (r) => r.topics, authorize },
      )
      expect(decision).toMatchObject({ kind: 'refuse', response: { status: 400 } })
    }
    expect(ran).toBe(0)
    // Repeats count once.
    const repeated = await decideHubRoute<FakeRequest>(
      { topics: ['a', 'a', 'b', 'c'] },
      { hub, topics: (r) => r.topics },
    )
    expect(repeated.kind).toBe('subscribe')
  })

  it('answers 503 when the hub is full and 429 when a key has too many streams, with Retry-After', async () => {
    hub = createHub({ heartbeat: false, maxStreams: 3, maxStreamsPerKey: 2 })
    const route = { hub, topics: () => ['t'], key: (req: FakeRequest) => req.user }
    const open = async (user: string) => {
      const decision = await decideHubRoute<FakeRequest>({ user, topics: [] }, route)
      if (decision.kind === 'subscribe')
        await hub.subscribe(createEventStream(createMemorySink(), { heartbeat: false }), decision)
      return decision.kind === 'refuse' ? decision.response : 'subscribed'
    }
    expect(await open('ann')).toBe('subscribed')
    expect(await open('ann')).toBe('subscribed')
    expect(await open('ann')).toMatchObject({ status: 429, headers: { 'Retry-After': '5' } })
    expect(await open('bob')).toBe('subscribed')
    expect(await open('cid')).toMatchObject({ status: 503, headers: { 'Retry-After': '5' } })
    expect(hub.keySize('ann')).toBe(2)
  })
})

describe('toRefusalResponse', () => {
  it('sends no body for 204', () => {
    expect(toRefusalResponse({ status: 204, body: 'ignored' })).toEqual({
      status: 204,
      headers: {},
      body: undefined,
    })
  })

  it('keeps a Content-Type the caller set', () => {
    expect(
      toRefusalResponse({ status: 403, body: '<p>no</p>', headers: { 'Content-Type': 'text/html' } }),
    ).toEqual({
      status: 403,
      headers: { 'Content-Type': 'text/html' },
      body: '<p>no</p>',
    })
  })
})
