/**
 * The README's code runs as written. Every ```ts block of README.md is a verbatim excerpt of a
 * file in `test/readme/`, every line of those files is shown in the README, and each file is run
 * here against a real redis-server: imported as it is (with `PORT=0` and `REDIS_URL`), then used
 * over a real socket by a real client.
 */
import { once } from 'node:events'
import {
  expectReadmeShowsExamples,
  openEventStream,
  type RunningExample,
  runExample as startExample,
  withTimeout,
} from '@sse/test-utils'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { destroyRedis, type RedisProcess, redisMissing, startRedis } from './redis-server.ts'

const DEADLINE_MS = 5000
const examplesDir = new URL('./readme/', import.meta.url)
let cleanup: Array<() => unknown> = []

afterEach(async () => {
  const steps = cleanup.reverse()
  cleanup = []
  for (const step of steps) await step()
})

it('shows every example file in full, and nothing in a ts block that is not in one', () => {
  expectReadmeShowsExamples(new URL('../README.md', import.meta.url), examplesDir)
})

/** Imports an example with `PORT=0` and `REDIS_URL`; the server it started is closed after the test. */
async function runExample(name: string, redisUrl: string): Promise<RunningExample> {
  const example = await startExample(new URL(name, examplesDir), { REDIS_URL: redisUrl })
  cleanup.push(() => example.close())
  return example
}

async function postNews(
  url: string,
  body: unknown,
): Promise<{ status: number; body: unknown; retryAfter: string | null }> {
  const response = await fetch(`${url}/news`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(DEADLINE_MS),
  })
  return {
    status: response.status,
    body: await withTimeout(response.json(), DEADLINE_MS, 'the POST body'),
    retryAfter: response.headers.get('retry-after'),
  }
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
    const before = new Set(process.listeners('SIGTERM'))
    const { url, server } = await runExample('hub.ts', redis.url)
    const onSigterm = process.listeners('SIGTERM').filter((listener) => !before.has(listener))
    expect(onSigterm).toHaveLength(1)
    const shutdown = onSigterm[0]!
    cleanup.push(() => process.off('SIGTERM', shutdown))

    const reader = await openEventStream(`${url}/events?topics=news,sport`)
    cleanup.push(() => reader.close())
    const posted = await postNews(url, { title: 'hello' })
    expect(posted.status).toBe(201)
    const { id } = posted.body as { id: string }
    expect(await reader.next()).toEqual({ id, event: 'news', data: '{"title":"hello"}' })
    // The same id replays from Redis: a client reconnecting anywhere gets what followed it.
    const second = await postNews(url, { title: 'again' })
    const replay = await openEventStream(`${url}/events?topics=news`, { headers: { 'last-event-id': id } })
    cleanup.push(() => replay.close())
    expect(await replay.next()).toMatchObject({ id: (second.body as { id: string }).id, event: 'news' })

    const closed = once(server, 'close')
    await withTimeout(Promise.resolve(shutdown('SIGTERM')), DEADLINE_MS, 'the SIGTERM handler')
    expect(await reader.waitForEnd()).toBe('end')
    expect(reader.retries).toHaveLength(2) // the hub's as it subscribed, then close()'s
    await withTimeout(closed, DEADLINE_MS, 'server.close() after hub.close()')
  })

  it('outage.ts: answers 503 with Retry-After while Redis is down, and publishes again once it is back', async () => {
    const { url } = await runExample('outage.ts', redis.url)
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
