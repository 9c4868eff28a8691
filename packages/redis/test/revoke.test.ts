/**
 * `hub.revokeEverywhere()` over Redis: real redis-server, three instances on real sockets, read
 * with a real parser. Revoking on one closes the matching streams on every instance and only
 * those; a revoked client that reconnects meets `authorize` again, and one that resumes with an
 * old `Last-Event-ID` on any instance (one started after the revocation too) gets a reset.
 */
import { isSseError, RESET_EVENT } from '@sse/core'
import { type EventStreamReader, openEventStream, pollUntil } from '@sse/test-utils'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type ClusterApp, type Instance, startChildInstance, startInstance } from './cluster.ts'
import { destroyRedis, type RedisProcess, redisMissing, startRedis } from './redis-server.ts'

const DEADLINE = 20_000

describe.skipIf(redisMissing())('revokeEverywhere over Redis', () => {
  let redis: RedisProcess
  let prefix = 0
  const open: Array<{ close(): Promise<void> }> = []

  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await destroyRedis(redis)
  })
  afterEach(async () => {
    for (const thing of open.splice(0).reverse()) await thing.close().catch(() => {})
  })

  async function cluster(count: number, app: ClusterApp = { banned: new Set() }, on = redis) {
    const key = `revoke${++prefix}`
    const start = () => startInstance(on.url, key, app)
    const instances: Instance[] = []
    for (let i = 0; i < count; i++) instances.push(await start())
    open.push(...instances)
    return {
      key,
      instances,
      app,
      start: async () => {
        const instance = await start()
        open.push(instance)
        return instance
      },
    }
  }

  async function connect(
    instance: Instance,
    query: string,
    lastEventId?: string,
  ): Promise<EventStreamReader> {
    const reader = await openEventStream(`${instance.url}/events?${query}`, {
      headers: lastEventId === undefined ? {} : { 'last-event-id': lastEventId },
      timeoutMs: DEADLINE,
    })
    open.push(reader)
    return reader
  }

  /** Until every instance holds `count` streams. */
  async function settled(instances: Instance[], count: number) {
    await pollUntil(
      () => instances.every((instance) => instance.hub.size === count),
      DEADLINE,
      () => `streams per instance: ${instances.map((instance) => instance.hub.size).join(', ')}`,
    )
  }

  it('closes the matching streams on every instance, and only those, with the last event; the count is cluster-wide', async () => {
    const { instances, app } = await cluster(3)
    const alice = await Promise.all(instances.map((instance) => connect(instance, 'user=alice&role=admin')))
    const bob = await Promise.all(instances.map((instance) => connect(instance, 'user=bob&role=user')))
    await settled(instances, 2)

    app.banned.add('alice')
    const result = await instances[0]!.hub.revokeEverywhere(
      { principal: 'alice' },
      { event: { event: 'revoked', data: { why: 'banned' } }, timeoutMs: DEADLINE },
    )
    expect(result).toEqual({ local: 1, closed: 3, instances: 3, missing: 0, complete: true })
    for (const reader of alice) {
      expect(await reader.waitForEvent((event) => event.event === 'revoked', DEADLINE)).toMatchObject({
        data: '{"why":"banned"}',
      })
      expect(await reader.waitForEnd(DEADLINE)).toBe('end')
    }
    await settled(instances, 1)
    // Bob's streams are untouched, on every instance.
    const id = await instances[1]!.hub.publish('news', { event: 'news', data: 'still here' })
    for (const reader of bob) {
      expect(await reader.waitForEvent((event) => event.id === id, DEADLINE)).toMatchObject({
        data: 'still here',
      })
      expect(reader.ended).toBeUndefined()
    }
    // Alice comes back, to any instance: authorize answers (403), she is not streamed.
    for (const instance of instances) {
      const again = await openEventStream(`${instance.url}/events?user=alice&role=admin`, {
        timeoutMs: DEADLINE,
      })
      open.push(again)
      expect(again.status).toBe(403)
    }
  })

  it('revokes by tag from another instance, and by tag and topic together', async () => {
    const { instances } = await cluster(3)
    const admins = await Promise.all(
      instances.map((instance) => connect(instance, 'user=ann&role=admin&topics=a')),
    )
    const adminsOfB = await Promise.all(
      instances.map((instance) => connect(instance, 'user=abe&role=admin&topics=b')),
    )
    const users = await Promise.all(
      instances.map((instance) => connect(instance, 'user=uma&role=user&topics=a')),
    )
    await settled(instances, 3)

    const byBoth = await instances[2]!.hub.revokeEverywhere(
      { tag: 'role:admin', topic: 'b' },
      { timeoutMs: DEADLINE },
    )
    expect(byBoth).toMatchObject({ local: 1, closed: 3, instances: 3, complete: true })
    for (const reader of adminsOfB) expect(await reader.waitForEnd(DEADLINE)).toBe('end')
    await settled(instances, 2)

    const byTag = await instances[1]!.hub.revokeEverywhere(
      { tag: 'role:admin' },
      { retry: 60_000, timeoutMs: DEADLINE },
    )
    expect(byTag).toMatchObject({ local: 1, closed: 3, instances: 3, complete: true })
    for (const reader of admins) {
      expect(await reader.waitForEnd(DEADLINE)).toBe('end')
      expect(reader.retries).toContain(60_000)
    }
    await settled(instances, 1)
    for (const reader of users) expect(reader.ended).toBeUndefined()
  })

  it('resets, on any instance (one started after the revocation too), a revoked client resuming from before it', async () => {
    const { instances, start } = await cluster(2)
    const [a, b] = instances as [Instance, Instance]
    const alice = await connect(a, 'user=alice')
    const bob = await connect(b, 'user=bob')
    await settled(instances, 1)
    const before = await a.hub.publish('news', { event: 'news', data: 'before' })
    await alice.waitForEvent((event) => event.id === before, DEADLINE)
    await bob.waitForEvent((event) => event.id === before, DEADLINE)

    expect(await b.hub.revokeEverywhere({ principal: 'alice' }, { timeoutMs: DEADLINE })).toMatchObject({
      closed: 1,
      complete: true,
    })
    expect(await alice.waitForEnd(DEADLINE)).toBe('end')
    const after = await b.hub.publish('news', { event: 'news', data: 'after the revocation' })

    // She may read again (authorize allows her), but not replay what was published since.
    const late = await start()
    for (const instance of [a, b, late]) {
      const resumed = await connect(instance, 'user=alice', before)
      const first = await resumed.next(DEADLINE)
      expect(first.event).toBe(RESET_EVENT)
      expect(JSON.parse(first.data)).toEqual({ reason: 'revoked', lastEventId: before })
      expect(resumed.events.some((event) => event.data === 'after the revocation')).toBe(false)
    }
    // Bob, never revoked, resumes from the same id on the new instance and gets what he missed.
    const bobResumed = await connect(late, 'user=bob', before)
    expect(await bobResumed.next(DEADLINE)).toMatchObject({ id: after, data: 'after the revocation' })
  })

  it('counts an instance that got the revocation but did not answer in time as missing, never as done', async () => {
    const { instances, key } = await cluster(1)
    const a = instances[0]!
    // In another process, with a lease that outlasts the test: alive, listening, but stopped.
    const child = await startChildInstance(redis.url, key, 60_000)
    open.push({ close: () => child.kill() })
    const there = await openEventStream(`${child.url}/events?user=alice`, { timeoutMs: DEADLINE })
    open.push(there)
    let seen = 0
    await pollUntil(
      () => {
        void a.hub.presenceEverywhere('news').then((presence) => {
          seen = presence.streams
        })
        return seen === 1
      },
      DEADLINE,
      'the child to count its stream',
      50,
    )
    child.process.kill('SIGSTOP')
    try {
      const result = await a.hub.revokeEverywhere({ principal: 'alice' }, { timeoutMs: 1000 })
      expect(result).toEqual({
        local: 0,
        closed: 0,
        instances: 1,
        missing: 1,
        complete: false,
        reason: 'missing',
      })
    } finally {
      child.process.kill('SIGCONT')
    }
    // It had the command: running again, it closes the stream.
    expect(await there.waitForEnd(DEADLINE)).toBe('end')
  })

  it('listens again after Redis drops its pub/sub connection, even when the first SUBSCRIBE back is refused', async () => {
    const { instances } = await cluster(2)
    const [a, b] = instances as [Instance, Instance]
    const there = await connect(b, 'user=alice')
    await pollUntil(() => b.hub.size === 1, DEADLINE, 'the stream on b')
    const admin = new Redis(redis.url, { lazyConnect: true })
    open.push({ close: async () => admin.disconnect() })
    await admin.connect()
    await admin.call('ACL', 'LOG', 'RESET')
    // Every channel refused, then every pub/sub connection dropped: each instance reconnects and
    // its SUBSCRIBE is answered NOPERM. ioredis's own resubscribe left that rejection unhandled.
    await admin.call('ACL', 'SETUSER', 'default', 'resetchannels')
    try {
      await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub')
      let refused = 0
      await pollUntil(
        () => {
          void admin.call('ACL', 'LOG').then((log) => {
            refused = (log as unknown[][]).filter((entry) => entry.includes('channel')).length
          })
          return refused >= 2
        },
        DEADLINE,
        () => `SUBSCRIBEs refused: ${refused}`,
        50,
      )
    } finally {
      await admin.call('ACL', 'SETUSER', 'default', 'allchannels')
    }
    // Allowed again: both subscribe within their backoff (at most 5 s) and hear each other. (An
    // attempt made while only b is back closes alice's stream but misses a's answer: incomplete.)
    let result = await a.hub.revokeEverywhere({ principal: 'alice' }, { timeoutMs: 3000 })
    for (let attempt = 0; !result.complete && attempt < 100; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      result = await a.hub.revokeEverywhere({ principal: 'alice' }, { timeoutMs: 3000 })
    }
    expect(result).toMatchObject({ instances: 2, missing: 0, complete: true })
    expect(await there.waitForEnd(DEADLINE)).toBe('end')
  }, 60_000)

  /**
   * Instance `b` logs in as its own ACL user, so that its pub/sub alone can be cut off: every
   * channel refused to that user and its connections dropped, `b` cannot SUBSCRIBE back (while
   * `a`, the default user, publishes as before) until `restore()`.
   */
  async function cutOffPair() {
    const admin = new Redis(redis.url, { lazyConnect: true })
    open.push({ close: async () => admin.disconnect() })
    await admin.connect()
    const user = `away${++prefix}`
    await admin.call('ACL', 'SETUSER', user, 'on', '>secret', '~*', '&*', '+@all')
    open.push({ close: async () => void (await admin.call('ACL', 'DELUSER', user).catch(() => {})) })
    const key = `revoke${++prefix}`
    const app: ClusterApp = { banned: new Set() }
    const a = await startInstance(redis.url, key, app)
    open.push(a)
    const b = await startInstance(redis.url.replace('redis://', `redis://${user}:secret@`), key, app)
    open.push(b)
    return {
      a,
      b,
      app,
      async cutOff() {
        await admin.call('ACL', 'LOG', 'RESET')
        await admin.call('ACL', 'SETUSER', user, 'resetchannels')
        await admin.call('CLIENT', 'KILL', 'USER', user)
        let refused = 0
        await pollUntil(
          () => {
            void admin.call('ACL', 'LOG').then((log) => {
              refused = (log as unknown[][]).filter(
                (entry) => entry.includes('channel') && entry.includes(user),
              ).length
            })
            return refused >= 1
          },
          DEADLINE,
          () => `b's SUBSCRIBE refused: ${refused}`,
          50,
        )
      },
      async restore() {
        await admin.call('ACL', 'SETUSER', user, 'allchannels')
      },
    }
  }

  it('applies, once it listens again, the revocations an instance missed while cut off from its channel, and only those', async () => {
    const { a, b, cutOff, restore } = await cutOffPair()
    const carol = await connect(b, 'user=carol')
    const alice = await connect(b, 'user=alice')
    const bob = await connect(b, 'user=bob')
    await pollUntil(() => b.hub.size === 3, DEADLINE, 'three streams on b')
    // Carol's revocation reaches b live; she reconnects (authorize lets her: not banned).
    expect(await a.hub.revokeEverywhere({ principal: 'carol' }, { timeoutMs: DEADLINE })).toMatchObject({
      closed: 1,
      complete: true,
    })
    expect(await carol.waitForEnd(DEADLINE)).toBe('end')
    const carolAgain = await connect(b, 'user=carol')
    await pollUntil(() => b.hub.size === 3, DEADLINE, 'carol back on b')

    await cutOff()
    try {
      const result = await a.hub.revokeEverywhere(
        { principal: 'alice' },
        { event: { event: 'revoked', data: 'while you were away' }, timeoutMs: 3000 },
      )
      expect(result).toMatchObject({ closed: 0, missing: 1, complete: false, reason: 'missing' })
      expect(alice.ended).toBeUndefined()
    } finally {
      await restore()
    }
    // b subscribes again within its backoff and reads what it missed: alice's stream closes,
    // with the revocation's last event; carol's new one (revoked before b was cut off) stays.
    expect(await alice.waitForEvent((event) => event.event === 'revoked', DEADLINE)).toMatchObject({
      data: 'while you were away',
    })
    expect(await alice.waitForEnd(DEADLINE)).toBe('end')
    const id = await a.hub.publish('news', { event: 'news', data: 'after' })
    for (const reader of [carolAgain, bob]) {
      expect(await reader.waitForEvent((event) => event.id === id, DEADLINE)).toMatchObject({ data: 'after' })
      expect(reader.ended).toBeUndefined()
    }
    expect(b.hub.size).toBe(2)
  })

  it('closes every stream of an instance that was cut off while the revocation log dropped some it never saw', async () => {
    const { a, b, cutOff, restore } = await cutOffPair()
    const alice = await connect(b, 'user=alice&topics=a')
    const bob = await connect(b, 'user=bob&topics=b')
    await pollUntil(() => b.hub.size === 2, DEADLINE, 'two streams on b')
    await cutOff()
    try {
      // Alice's revocation, then 10,000 more: the log keeps the last 10,000, alice's is gone.
      await a.hub.revokeEverywhere({ principal: 'alice' }, { timeoutMs: 1000 })
      for (let start = 0; start < 10_000; start += 250) {
        await Promise.all(
          Array.from({ length: 250 }, (_, i) =>
            a.hub.revokeEverywhere({ principal: `user${start + i}` }, { timeoutMs: 1000 }),
          ),
        )
      }
      expect(alice.ended).toBeUndefined()
    } finally {
      await restore()
    }
    // b cannot know whom the dropped ones named: it closes everything; clients reconnect through authorize.
    expect(await alice.waitForEnd(DEADLINE)).toBe('end')
    expect(await bob.waitForEnd(DEADLINE)).toBe('end')
    const again = await connect(b, 'user=bob&topics=b')
    const id = await a.hub.publish('b', { event: 'news', data: 'after' })
    expect(await again.waitForEvent((event) => event.id === id, DEADLINE)).toMatchObject({ data: 'after' })
  }, 120_000)

  it('counts its own revocations as seen: 10,000 of them, then a break in listening, close only what it missed', async () => {
    const { a, b, cutOff, restore } = await cutOffPair()
    const carol = await connect(b, 'user=carol')
    const zed = await connect(b, 'user=zed')
    await pollUntil(() => b.hub.size === 2, DEADLINE, 'two streams on b')
    // b revokes 10,000 principals itself: the log trims past where b started listening.
    for (let start = 0; start < 10_000; start += 250) {
      await Promise.all(
        Array.from({ length: 250 }, (_, i) =>
          b.hub.revokeEverywhere({ principal: `user${start + i}` }, { timeoutMs: DEADLINE }),
        ),
      )
    }
    await cutOff()
    try {
      await a.hub.revokeEverywhere({ principal: 'zed' }, { timeoutMs: 1000 })
    } finally {
      await restore()
    }
    // Back, b applies zed's revocation; it had every one of its own, so nothing else closes.
    expect(await zed.waitForEnd(DEADLINE)).toBe('end')
    const id = await a.hub.publish('news', { event: 'news', data: 'after' })
    expect(await carol.waitForEvent((event) => event.id === id, DEADLINE)).toMatchObject({ data: 'after' })
    expect(carol.ended).toBeUndefined()
  }, 120_000)

  it('rejects bad selectors and options with SseError before closing anything', async () => {
    const { instances } = await cluster(1)
    const reader = await connect(instances[0]!, 'user=alice')
    await settled(instances, 1)
    const hub = instances[0]!.hub
    const attempts = [
      () => hub.revokeEverywhere({}),
      () => hub.revokeEverywhere({ user: 'alice' } as never),
      () => hub.revokeEverywhere(null as never),
      () => hub.revokeEverywhere({ principal: '' }),
      () => hub.revokeEverywhere({ principal: 'x'.repeat(257) }),
      () => hub.revokeEverywhere({ principal: 'alice' }, { timeoutMs: 0 }),
      () => hub.revokeEverywhere({ principal: 'alice' }, { retry: -1 }),
      () => hub.revokeEverywhere({ principal: 'alice' }, { event: { event: 'a\nb', data: 1 } }),
    ]
    for (const attempt of attempts) {
      const error = await attempt().then(
        () => undefined,
        (thrown: unknown) => thrown,
      )
      expect(isSseError(error), String(error)).toBe(true)
    }
    expect(hub.size).toBe(1)
    expect(reader.ended).toBeUndefined()
  })

  it('while Redis is down: closes the local streams and resolves as partial, never as a cluster-wide success', async () => {
    // Its own Redis, persistent: restarted, it still has the log (else every stream closes on the gap).
    const down = await startRedis({ persist: true })
    open.push({ close: () => destroyRedis(down) })
    const { instances } = await cluster(2, { banned: new Set() }, down)
    const [a, b] = instances as [Instance, Instance]
    const here = await connect(a, 'user=alice')
    const there = await connect(b, 'user=alice')
    await settled(instances, 1)
    await down.stop()
    try {
      const result = await a.hub.revokeEverywhere({ principal: 'alice' }, { timeoutMs: DEADLINE })
      expect(result).toMatchObject({
        local: 1,
        closed: 1,
        instances: 1,
        missing: undefined,
        complete: false,
        reason: 'unavailable',
      })
      expect(isSseError(result.error, 'SSE_BROKER_UNAVAILABLE')).toBe(true)
      expect(await here.waitForEnd(DEADLINE)).toBe('end')
      expect(there.ended).toBeUndefined()
    } finally {
      await down.start()
    }
    // Once Redis is back, the same call reaches the other instance.
    let result = await a.hub.revokeEverywhere({ principal: 'alice' }, { timeoutMs: 3000 })
    // (Redis restarted empty: each instance renews its lease within a heartbeat, a third of the lease.)
    for (let attempt = 0; !(result.complete && result.closed === 1) && attempt < 100; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      result = await a.hub.revokeEverywhere({ principal: 'alice' }, { timeoutMs: 3000 })
    }
    expect(result.complete).toBe(true)
    expect(await there.waitForEnd(DEADLINE)).toBe('end')
  }, 90_000)
})
