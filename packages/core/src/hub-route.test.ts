import { afterEach, describe, expect, it } from 'vitest'
import { createHub, type Hub } from './hub.ts'
import { decideHubRoute, toRefusalResponse } from './hub-route.ts'

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

  it('allows when authorize returns true or nothing', async () => {
    hub = createHub({ heartbeat: false })
    for (const authorize of [() => true, () => undefined]) {
      const decision = await decideHubRoute<FakeRequest>(
        { topics: ['a'] },
        { hub, topics: (r) => r.topics, authorize },
      )
      expect(decision.kind).toBe('subscribe')
    }
  })

  it('refuses invalid topics with 400 naming the problem', async () => {
    hub = createHub({ heartbeat: false })
    for (const topics of [[], [''], ['x'.repeat(300)]]) {
      const decision = await decideHubRoute<FakeRequest>({ topics }, { hub, topics: (r) => r.topics })
      expect(decision).toMatchObject({ kind: 'refuse', response: { status: 400 } })
    }
  })

  it('lets an authorize that throws reject (the framework’s error handling takes it)', async () => {
    hub = createHub({ heartbeat: false })
    const failing = decideHubRoute<FakeRequest>(
      { topics: ['a'] },
      {
        hub,
        topics: (r) => r.topics,
        authorize: () => {
          throw new Error('db down')
        },
      },
    )
    await expect(failing).rejects.toThrow('db down')
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
