/**
 * The README's code runs as written. Every ```ts block of README.md is a verbatim excerpt of a
 * file in `test/readme/`, every line of those files is shown in the README, and each file is
 * run here: imported as it is (with `PORT=0`), then read over a real socket by a real client.
 * The Fastify instance an example creates is caught on Fastify's `fastify.initialization`
 * diagnostics channel, so the test can find its address and close it.
 */
import diagnostics from 'node:diagnostics_channel'
import { fetchJson, pollUntil, postJson, useReadmeExamples, withTimeout } from '@sse/test-utils'
import type { FastifyInstance } from 'fastify'
import { expect, it } from 'vitest'

const DEADLINE_MS = 5000

/** Imports an example; returns the Fastify instance it created, its IPv4 URL, and `close()`: `app.close()`. */
async function startFastify(load: () => Promise<unknown>, name: string) {
  const apps: FastifyInstance[] = []
  const onInit = (message: unknown) => {
    apps.push((message as { fastify: FastifyInstance }).fastify)
  }
  diagnostics.subscribe('fastify.initialization', onInit)
  try {
    await withTimeout(load(), DEADLINE_MS, `importing ${name}`)
  } finally {
    diagnostics.unsubscribe('fastify.initialization', onInit)
  }
  expect(apps, `${name} creates one Fastify instance`).toHaveLength(1)
  const app = apps[0]!
  const close = () => withTimeout(app.close(), DEADLINE_MS, `closing the app of ${name}`)
  // `listen({ port })` binds every address of `localhost`; take the IPv4 one.
  const address = app.addresses().find((one) => typeof one !== 'string' && one.family === 'IPv4')
  if (address === undefined || typeof address === 'string') {
    await close()
    throw new Error(`${name} does not listen on IPv4`)
  }
  return { url: `http://127.0.0.1:${address.port}`, app, close }
}

const readme = useReadmeExamples(import.meta.url, startFastify)

readme.itShowsTheExamples('shows every example file in full, and nothing in a ts block that is not in one', [
  'answer.ts',
  'clock.ts',
  'hub.ts',
])

it('clock.ts: sends the server time every second to an EventSource, and close() ends it', async () => {
  const { url, app } = await readme.run('clock.ts')
  const { source, ticks } = await readme.expectTicks(`${url}/clock`, 2)
  expect(ticks[1]!.data > ticks[0]!.data).toBe(true)
  // The plugin ends the stream still open, so close() does not wait on it. (The source stays
  // open until then: closing it first would abort undici's fetch mid-body, after which undici
  // opens a spare connection that never sends a request, and Node's server.close() waits on it.)
  await withTimeout(app.close(), 2000, 'fastify.close() with an open clock stream')
  // The end of the stream reaches the client, which would reconnect.
  await pollUntil(() => source.errors >= 1, DEADLINE_MS, 'the EventSource to see the stream end')
})

it('hub.ts: refuses without a login, fans a POST out to subscribers, and shuts down on SIGTERM', async () => {
  const { url, app, sigterm } = await readme.run('hub.ts')
  expect(sigterm).toHaveLength(1)
  const shutdown = sigterm[0]!
  expect(await fetchJson(`${url}/events`)).toMatchObject({ status: 401, body: { error: 'login first' } })

  const login = { headers: { authorization: 'Bearer demo' } }
  const both = await readme.open(`${url}/events?topics=news,sport`, login)
  const sport = await readme.open(`${url}/events?topics=sport`, login)
  const news = await readme.open(`${url}/events`, login) // no query: `news`
  for (const reader of [both, sport, news]) expect(reader.status).toBe(200)
  const posted = await postJson(`${url}/news`, { title: 'hello' })
  expect(posted.status).toBe(201)
  const { id } = posted.body as { id: string }
  for (const reader of [both, news]) {
    expect(await reader.next()).toEqual({ id, event: 'news', data: '{"title":"hello"}' })
  }
  expect(sport.eventCount).toBe(0)

  // The handler is `() => app.close()`: the plugin closes the hub, which ends every stream.
  process.off('SIGTERM', shutdown)
  await withTimeout(Promise.resolve(shutdown('SIGTERM')), 2000, 'the SIGTERM handler (fastify.close())')
  for (const reader of [both, sport, news]) {
    expect(await reader.waitForEnd()).toBe('end')
    expect(reader.retries).toHaveLength(2) // the hub's as it subscribed, then close()'s
    expect(reader.retries.at(-1)).toBeGreaterThanOrEqual(1000)
    expect(reader.retries.at(-1)).toBeLessThanOrEqual(5000)
  }
  await pollUntil(() => !app.server.listening, DEADLINE_MS, 'the server to stop listening')
})

readme.itStreamsTheAnswer()
