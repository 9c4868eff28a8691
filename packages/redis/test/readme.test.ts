/**
 * The README's code runs as written. Every ```ts block of README.md is a verbatim excerpt of a
 * file in `test/readme/`, every line of those files is shown in the README, and each file is run
 * here against a real redis-server: imported as it is (with `PORT=0` and `REDIS_URL`), then used
 * over a real socket by a real client.
 */
import { postJson, useReadmeExamples } from '@sse/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { destroyRedis, type RedisProcess, redisMissing, startRedis } from './redis-server.ts'

const readme = useReadmeExamples(import.meta.url)

readme.itShowsTheExamples('shows every example file in full, and nothing in a ts block that is not in one')

async function postNews(url: string, body: unknown) {
  const { status, body: answer, headers } = await postJson(`${url}/news`, body)
  return { status, body: answer, retryAfter: headers.get('retry-after') }
}

describe.skipIf(redisMissing())('the README examples, against a real redis-server', () => {
  let redis: RedisProcess
  beforeAll(async () => {
    redis = await startRedis({ persist: true })
  })
  afterAll(async () => {
    await destroyRedis(redis)
  })

  it('hub.ts: publishes through Redis to a subscriber, and shuts down on SIGTERM', async () => {
    const example = await readme.run('hub.ts', { REDIS_URL: redis.url })
    const { url } = example
    const reader = await readme.open(`${url}/events?topics=news,sport`)
    const posted = await postNews(url, { title: 'hello' })
    expect(posted.status).toBe(201)
    const { id } = posted.body as { id: string }
    expect(await reader.next()).toEqual({ id, event: 'news', data: '{"title":"hello"}' })
    // The same id replays from Redis: a client reconnecting anywhere gets what followed it.
    const second = await postNews(url, { title: 'again' })
    const replay = await readme.open(`${url}/events?topics=news`, { headers: { 'last-event-id': id } })
    expect(await replay.next()).toMatchObject({ id: (second.body as { id: string }).id, event: 'news' })

    await readme.shutDown(example, 5000)
    expect(await reader.waitForEnd()).toBe('end')
    expect(reader.retries).toHaveLength(2) // the hub's as it subscribed, then close()'s
  })

  it('cluster-wide.ts: shows who is online as events, and a ban closes the streams and refuses the reconnect', async () => {
    const { url } = await readme.run('cluster-wide.ts', { REDIS_URL: redis.url })
    const alice = await readme.open(`${url}/docs/1/events`, { headers: { 'x-user': 'alice' } })
    const online = (event: { event?: string | undefined; data: string }, who: string[]) =>
      event.event === 'presence' &&
      JSON.stringify(JSON.parse(event.data).online.sort()) === JSON.stringify(who)
    await alice.waitForEvent((event) => online(event, ['alice']), 10_000)
    const bob = await readme.open(`${url}/docs/1/events`, { headers: { 'x-user': 'bob' } })
    await alice.waitForEvent((event) => online(event, ['alice', 'bob']), 10_000)
    expect((await readme.open(`${url}/docs/1/events`)).status).toBe(401)

    const before = alice.events.length
    const ban = await postJson(`${url}/admin/ban/bob`, {})
    expect(ban).toMatchObject({ status: 200, body: { closed: 1, complete: true } })
    await bob.waitForEvent((event) => event.event === 'banned', 10_000)
    expect(await bob.waitForEnd(10_000)).toBe('end')
    // Bob's leave reaches the page too.
    await alice.waitUntil(
      () => alice.events.slice(before).some((event) => online(event, ['alice'])),
      10_000,
      'the presence event after the ban',
    )
    const again = await readme.open(`${url}/docs/1/events`, { headers: { 'x-user': 'bob' } })
    expect(again.status).toBe(403)
  })

  it('outage.ts: answers 503 with Retry-After while Redis is down, and publishes again once it is back', async () => {
    const { url } = await readme.run('outage.ts', { REDIS_URL: redis.url })
    expect((await postNews(url, { title: 'up' })).status).toBe(201)
    await redis.stop()
    expect(await postNews(url, { title: 'down' })).toEqual({
      status: 503,
      body: { error: 'news are unavailable for a moment, retry' },
      retryAfter: '1',
    })
    await redis.start()
    let answer = await postNews(url, { title: 'back' })
    for (let attempt = 0; answer.status === 503 && attempt < 50; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      answer = await postNews(url, { title: 'back' })
    }
    expect(answer.status).toBe(201)
  })
})
