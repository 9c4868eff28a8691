/**
 * The admin's "disconnect user X" and the page's "watching now", over the real cluster: three
 * instance processes over one redis-server behind nginx, read with a real parser. Disconnecting a
 * user through nginx closes that user's streams on all three instances and only those; the
 * watching count follows connects and the disconnect on every instance.
 */
import { type EventStreamReader, openEventStream, pollUntil } from '@sse/test-utils'
import { expect, it } from 'vitest'
import { cleanup, describeCluster, startRedisAndCluster } from './harness.ts'

const DEADLINE = 20_000

async function open(
  url: string,
  user: string | undefined,
  topics = 'notifications',
): Promise<EventStreamReader> {
  const reader = await openEventStream(`${url}/events?topics=${topics}`, {
    headers: user === undefined ? {} : { cookie: `user=${user}` },
    timeoutMs: DEADLINE,
  })
  cleanup(() => reader.close())
  expect(reader.status).toBe(200)
  return reader
}

async function presence(url: string): Promise<{ streams: number; instances: number; stale: boolean }> {
  const response = await fetch(`${url}/presence`, { signal: AbortSignal.timeout(5000) })
  expect(response.status).toBe(200)
  return (await response.json()) as { streams: number; instances: number; stale: boolean }
}

async function disconnect(url: string, user: unknown) {
  const response = await fetch(`${url}/admin/disconnect`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user }),
    signal: AbortSignal.timeout(DEADLINE),
  })
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

describeCluster('disconnecting a user and counting who watches, across three instances', () => {
  it('disconnects a user on all three instances and only them; the watching count follows', async () => {
    const { cluster } = await startRedisAndCluster()
    const watching = await open(cluster.url, 'watcher', 'watching')
    const alice = await Promise.all(cluster.instances.map((instance) => open(instance.url, 'alice')))
    const bob = await open(cluster.instances[1]!.url, 'bob')
    const anonymous = await open(cluster.instances[2]!.url, undefined)

    const counted = async (streams: number) => {
      let last: unknown
      await pollUntil(
        () => {
          void presence(cluster.url).then((answer) => {
            last = answer
          })
          return (last as { streams?: number } | undefined)?.streams === streams
        },
        DEADLINE,
        () => `presence through nginx: ${JSON.stringify(last)}, want ${streams} streams`,
        50,
      )
      expect(last).toMatchObject({ instances: 3, stale: false })
      // And the page's live count got there too, as a `presence` event.
      await watching.waitUntil(
        () =>
          watching.events.some(
            (event) => event.event === 'presence' && JSON.parse(event.data).streams === streams,
          ),
        DEADLINE,
        `a presence event with ${streams} streams`,
      )
    }
    await counted(5)

    const answer = await disconnect(cluster.url, 'alice')
    expect(answer).toEqual({
      status: 200,
      body: { user: 'alice', closed: 3, instances: 3, missing: 0, complete: true },
    })
    for (const reader of alice) {
      const event = await reader.waitForEvent((each) => each.event === 'disconnected', DEADLINE)
      expect(JSON.parse(event.data).by).toMatch(/^[abc]$/)
      expect(await reader.waitForEnd(DEADLINE)).toBe('end')
    }
    await counted(2)
    expect(bob.ended).toBeUndefined()
    expect(anonymous.ended).toBeUndefined()
    expect(watching.ended).toBeUndefined()

    expect((await disconnect(cluster.url, '')).status).toBe(400)
    expect((await disconnect(cluster.url, 42)).status).toBe(400)
    expect(await disconnect(cluster.url, 'nobody')).toMatchObject({
      status: 200,
      body: { closed: 0, complete: true },
    })
  })
})
