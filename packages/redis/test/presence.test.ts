/**
 * `hub.presenceEverywhere()` and the `presence` event over Redis: real redis-server, instances on
 * real sockets (one in a child process, SIGKILLed), read with a real parser. The counts stay
 * right through connects, disconnects, a revoke and a kill (after the lease), and say `stale`
 * rather than a wrong number while Redis is down.
 */
import { type ClusterPresence, isSseError, type PresenceChange } from '@sse/core'
import { type EventStreamReader, openEventStream, pollUntil } from '@sse/test-utils'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type ChildInstance, type Instance, startChildInstance, startInstance } from './cluster.ts'
import { destroyRedis, type RedisProcess, redisMissing, startRedis } from './redis-server.ts'

const DEADLINE = 30_000
const LEASE_MS = 3000

function summary(presence: ClusterPresence) {
  return {
    streams: presence.streams,
    principals: Object.fromEntries([...(presence.principals ?? new Map())].sort()),
    instances: presence.instances,
  }
}

describe.skipIf(redisMissing())('presence across instances over Redis', () => {
  let redis: RedisProcess
  let prefix = 0
  const open: Array<{ close(): Promise<void> }> = []
  const children: ChildInstance[] = []

  beforeAll(async () => {
    redis = await startRedis({ persist: true })
  })
  afterAll(async () => {
    await destroyRedis(redis)
  })
  afterEach(async () => {
    for (const child of children.splice(0)) await child.kill()
    for (const thing of open.splice(0).reverse()) await thing.close().catch(() => {})
  })

  async function connect(url: string, query: string): Promise<EventStreamReader> {
    const reader = await openEventStream(`${url}/events?${query}`, { timeoutMs: DEADLINE })
    open.push(reader)
    return reader
  }

  /** Polls `presenceEverywhere` on `instance` until it reads `expected`. */
  async function presenceIs(instance: Instance, topic: string, expected: ReturnType<typeof summary>) {
    let last: ClusterPresence | undefined
    await pollUntil(
      () => {
        void instance.hub.presenceEverywhere(topic).then((presence) => {
          last = presence
        })
        return last !== undefined && JSON.stringify(summary(last)) === JSON.stringify(expected)
      },
      DEADLINE,
      () =>
        `presence of ${topic}: ${last ? JSON.stringify(summary(last)) : 'none yet'}, want ${JSON.stringify(expected)}`,
      50,
    )
    expect(last!.stale).toBe(false)
  }

  it('counts streams and principals right through connects, disconnects, a revoke and a SIGKILL (after the lease)', async () => {
    const key = `presence${++prefix}`
    const app = { banned: new Set<string>() }
    const options = { instanceLeaseMs: LEASE_MS, presencePrincipals: true }
    const a = await startInstance(redis.url, key, app, options)
    const b = await startInstance(redis.url, key, app, options)
    open.push(a, b)
    const child = await startChildInstance(redis.url, key, LEASE_MS)
    children.push(child)
    const changes: PresenceChange[] = []
    for (const instance of [a, b]) instance.hub.on('presence', (change) => changes.push(change))

    await presenceIs(a, 'doc', { streams: 0, principals: {}, instances: 3 })
    await connect(a.url, 'user=alice&topics=doc')
    const bob = await connect(b.url, 'user=bob&topics=doc,other')
    await connect(child.url, 'user=carol&topics=doc')
    await connect(child.url, 'user=carol&topics=doc')
    await presenceIs(b, 'doc', { streams: 4, principals: { alice: 1, bob: 1, carol: 2 }, instances: 3 })
    await presenceIs(a, 'other', { streams: 1, principals: { bob: 1 }, instances: 3 })
    // Each instance reports its own joins (the child's are its own): one event per change, cluster-wide counts.
    await pollUntil(
      () => ['alice', 'bob'].every((who) => changes.some((change) => change.joined.includes(who))),
      DEADLINE,
      () => `joins seen: ${JSON.stringify(changes)}`,
    )
    expect(changes.find((change) => change.joined.includes('alice'))).toMatchObject({ topic: 'doc' })

    await bob.close()
    await presenceIs(a, 'doc', { streams: 3, principals: { alice: 1, carol: 2 }, instances: 3 })
    await presenceIs(a, 'other', { streams: 0, principals: {}, instances: 3 })
    await pollUntil(() => changes.some((change) => change.left.includes('bob')), DEADLINE, 'bob left')

    // Revoked on the child from A: its streams close there, and leave the counts.
    expect(await a.hub.revokeEverywhere({ principal: 'carol' }, { timeoutMs: DEADLINE })).toMatchObject({
      closed: 2,
      complete: true,
    })
    await presenceIs(b, 'doc', { streams: 1, principals: { alice: 1 }, instances: 3 })
    await connect(child.url, 'user=dave&topics=doc')
    await presenceIs(a, 'doc', { streams: 2, principals: { alice: 1, dave: 1 }, instances: 3 })

    // SIGKILL: no goodbye. Within the lease it may still count; once it runs out, it does not.
    await child.kill()
    const whileLeased = await a.hub.revokeEverywhere({ principal: 'nobody' }, { timeoutMs: 2000 })
    // The dead instance cannot answer: while its lease holds it is missing, never counted as done.
    expect(whileLeased.instances).toBe(2)
    expect(whileLeased.complete).toBe(whileLeased.missing === 0)
    await presenceIs(a, 'doc', { streams: 1, principals: { alice: 1 }, instances: 2 })
    await presenceIs(b, 'doc', { streams: 1, principals: { alice: 1 }, instances: 2 })
    // Its streams are taken out of the sums by the next heartbeat: dave's leave is reported once.
    await pollUntil(() => changes.some((change) => change.left.includes('dave')), DEADLINE, 'dave left')
    expect(await a.hub.revokeEverywhere({ principal: 'nobody' }, { timeoutMs: DEADLINE })).toMatchObject({
      instances: 2,
      missing: 0,
      complete: true,
    })
  })

  it('without presencePrincipals, counts streams only; a closed instance leaves at once', async () => {
    const key = `presence${++prefix}`
    const app = { banned: new Set<string>() }
    const a = await startInstance(redis.url, key, app, { instanceLeaseMs: LEASE_MS })
    const b = await startInstance(redis.url, key, app, { instanceLeaseMs: LEASE_MS })
    open.push(a)
    await connect(a.url, 'user=alice&topics=doc')
    await connect(b.url, 'user=bob&topics=doc')
    // Each instance writes its changes within a few ms (25 ms at most, then a round trip): poll.
    await presenceIs(a, 'doc', { streams: 2, principals: {}, instances: 2 })
    expect(await a.hub.presenceEverywhere('doc')).toMatchObject({ topic: 'doc', principals: undefined })
    // A graceful close takes its counts out at once, not after the lease.
    await b.close()
    expect(await a.hub.presenceEverywhere('doc')).toMatchObject({ streams: 1, instances: 1 })
  })

  it('while Redis is down, answers the last numbers flagged stale, or rejects when it has none', async () => {
    const key = `presence${++prefix}`
    const a = await startInstance(redis.url, key, { banned: new Set() }, { instanceLeaseMs: LEASE_MS })
    open.push(a)
    await connect(a.url, 'user=alice&topics=doc')
    await pollUntil(() => a.hub.size === 1, DEADLINE, 'the stream')
    expect(await a.hub.presenceEverywhere('doc')).toMatchObject({ streams: 1, stale: false })
    let fresh: ClusterPresence | undefined
    await redis.stop()
    try {
      const stale = await a.hub.presenceEverywhere('doc')
      expect(stale).toMatchObject({ streams: 1, instances: 1, stale: true })
      const never = await a.hub.presenceEverywhere('never-read').then(
        () => undefined,
        (error: unknown) => error,
      )
      expect(isSseError(never, 'SSE_BROKER_UNAVAILABLE')).toBe(true)
    } finally {
      await redis.start()
    }
    await pollUntil(
      () => {
        void a.hub.presenceEverywhere('doc').then(
          (presence) => {
            fresh = presence
          },
          () => {},
        )
        return fresh?.stale === false
      },
      DEADLINE,
      'a fresh answer once Redis is back',
      50,
    )
    expect(fresh).toMatchObject({ streams: 1, stale: false })
  })

  it('rejects a bad topic with SseError', async () => {
    const a = await startInstance(redis.url, `presence${++prefix}`, { banned: new Set() })
    open.push(a)
    for (const topic of ['', 'x'.repeat(257), 42 as never]) {
      const error = await a.hub.presenceEverywhere(topic).then(
        () => undefined,
        (thrown: unknown) => thrown,
      )
      expect(isSseError(error, 'SSE_INVALID_TOPIC')).toBe(true)
    }
  })
})
