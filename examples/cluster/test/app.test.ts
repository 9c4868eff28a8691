/**
 * One instance's app, in this process, on a real socket over a real redis-server: what `/notify`
 * accepts and refuses, `/health`, the page, and the 503 a publish gets when Redis is unreachable.
 */
import { createHub, type Hub } from '@sse/core'
import { RedisBroker, type RedisBrokerOptions } from '@sse/redis'
import { openEventStream, startHttpServer, withTimeout } from '@sse/test-utils'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redisMissing } from '../../../packages/redis/test/redis-server.ts'
import { buildApp, MAX_MESSAGE_LENGTH } from '../src/app.ts'
import { freePort } from '../src/processes.ts'
import { cleanup, destroyRedis, notify, type RedisProcess, startRedis } from './harness.ts'

async function startApp(redisUrl: string, options: RedisBrokerOptions = {}) {
  const broker = new RedisBroker({ redis: redisUrl, prefix: `app:${Math.random()}`, ...options })
  const hub: Hub = createHub({ broker, heartbeat: false })
  const server = await startHttpServer(buildApp({ hub, instance: 'x', retryMs: 250 }))
  cleanup(async () => {
    await hub.close({ retry: false })
    await server.close()
    await broker.close()
  })
  return { url: server.url, broker, hub }
}

async function post(url: string, body: string, type = 'application/json') {
  const response = await fetch(`${url}/notify`, {
    method: 'POST',
    headers: { 'content-type': type },
    body,
    signal: AbortSignal.timeout(5000),
  })
  return {
    status: response.status,
    body: (await withTimeout(response.json(), 5000, 'the body')) as { error: string },
  }
}

describe.skipIf(redisMissing())('the app of one instance', () => {
  let redis: RedisProcess
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await destroyRedis(redis)
  })

  it('publishes a valid notification to the streams of its topic', async () => {
    const { url, broker } = await startApp(redis.url)
    await broker.ready()
    const reader = await openEventStream(`${url}/events?topics=news,sport`)
    cleanup(() => reader.close())
    expect(reader.headers['x-instance']).toBe('x')
    const { status, body } = await notify(url, 'sport', 'goal')
    expect(status).toBe(201)
    expect(body).toEqual({ id: expect.stringMatching(/^[0-9a-z]+-1$/), instance: 'x' })
    expect(await reader.next()).toEqual({
      event: 'notification',
      id: body.id,
      data: JSON.stringify({ message: 'goal', instance: 'x' }),
    })
    expect(reader.retries).toEqual([250])
  })

  it('refuses bodies that are not a notification with 400 and a message naming the problem', async () => {
    const { url } = await startApp(redis.url)
    const cases: Array<[string, RegExp]> = [
      ['{"topic":', /JSON/i],
      ['[1, 2]', /JSON object/],
      ['"text"', /JSON object/],
      [JSON.stringify({ message: 'hi' }), /"topic": a topic must be a non-empty string/],
      [JSON.stringify({ topic: '', message: 'hi' }), /"topic"/],
      [JSON.stringify({ topic: 't'.repeat(257), message: 'hi' }), /at most 256/],
      [JSON.stringify({ topic: 'news' }), /"message" must be a non-blank string/],
      [JSON.stringify({ topic: 'news', message: '   ' }), /"message"/],
      [JSON.stringify({ topic: 'news', message: 42 }), /got 42/],
      [JSON.stringify({ topic: 'news', message: 'm'.repeat(MAX_MESSAGE_LENGTH + 1) }), /at most 2000/],
    ]
    for (const [body, problem] of cases) {
      const answer = await post(url, body)
      expect([body.slice(0, 40), answer.status]).toEqual([body.slice(0, 40), 400])
      expect(answer.body.error).toMatch(problem)
    }
    expect((await post(url, JSON.stringify({ topic: 'news', message: 'x'.repeat(20_000) }))).status).toBe(413)
    // Not JSON at all: express.json() leaves the body alone, and it is not a notification.
    expect(await post(url, 'topic=news', 'application/x-www-form-urlencoded')).toEqual({
      status: 400,
      body: { error: expect.stringMatching(/JSON object/) },
    })
  })

  it('refuses a stream with no valid topic with 400, and names the instance on /health and the page', async () => {
    const { url } = await startApp(redis.url)
    const refused = await fetch(`${url}/events?topics=`, { signal: AbortSignal.timeout(5000) })
    expect(refused.status).toBe(400)
    await refused.arrayBuffer()
    const health = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5000) })
    expect(health.headers.get('x-instance')).toBe('x')
    expect(await health.json()).toEqual({ ok: true, instance: 'x', streams: 0 })
    const page = await fetch(url, { signal: AbortSignal.timeout(5000) })
    expect(page.headers.get('content-type')).toMatch(/^text\/html/)
    const html = await page.text()
    expect(html).toContain('instance <b>x</b>')
    expect(html).toContain("new EventSource('/events?topics=notifications')")
  })

  it('answers 503 with Retry-After, not sent, to a burst past what the broker queues', async () => {
    const { url, broker } = await startApp(redis.url, {
      maxInFlight: 1,
      maxQueued: 1,
      commandTimeoutMs: 10_000,
    })
    await broker.ready()
    expect((await notify(url, 'news', 'warm-up')).status).toBe(201)
    const admin = new Redis(redis.url)
    cleanup(() => void admin.disconnect())
    // Redis holds every command for 3 s: one publish in flight, one waiting, the rest over the limit.
    await admin.call('CLIENT', 'PAUSE', 3000, 'ALL')
    const answers = await Promise.all(Array.from({ length: 5 }, (_, i) => notify(url, 'news', `n${i}`)))
    expect(answers.map((answer) => answer.status).sort()).toEqual([201, 201, 503, 503, 503])
    for (const answer of answers.filter((answer) => answer.status === 503)) {
      expect(answer.headers.get('retry-after')).toBe('1')
      expect(answer.body).toEqual({
        error: 'instance x has too many notifications in flight; retry in a moment',
        code: 'SSE_BROKER_BUSY',
      })
    }
  })

  it('answers 503 with Retry-After and a message that says what happened when Redis is unreachable', async () => {
    const nowhere = `redis://127.0.0.1:${await freePort()}`
    const { url } = await startApp(nowhere, { commandTimeoutMs: 200 })
    const { status, body, headers } = await notify(url, 'news', 'lost?')
    expect(status).toBe(503)
    expect(headers.get('retry-after')).toBe('1')
    expect(body).toEqual({
      error: expect.stringMatching(
        /^Redis is unreachable from instance x: the notification was not confirmed/,
      ),
      code: 'SSE_BROKER_UNAVAILABLE',
    })
  })
})
