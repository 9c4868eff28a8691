/**
 * The README's code runs as written. Every ```ts block of README.md is a verbatim excerpt of a
 * file in `test/readme/`, every line of those files is shown in the README, and each file is
 * run here: imported as it is (with `PORT=0`), then read over a real socket by a real client.
 * The Fastify instance an example creates is caught on Fastify's `fastify.initialization`
 * diagnostics channel, so the test can find its address and close it.
 */
import diagnostics from 'node:diagnostics_channel'
import {
  expectPacedAnswer,
  expectReadmeShowsExamples,
  openEventStream,
  pollUntil,
  readWithEventSource,
  withTimeout,
} from '@sse/test-utils'
import type { FastifyInstance } from 'fastify'
import { afterEach, expect, it } from 'vitest'

const DEADLINE_MS = 5000
const examplesDir = new URL('./readme/', import.meta.url)
let cleanup: Array<() => unknown> = []

afterEach(async () => {
  const steps = cleanup.reverse()
  cleanup = []
  for (const step of steps) await step()
})

it('shows every example file in full, and nothing in a ts block that is not in one', () => {
  expect(expectReadmeShowsExamples(new URL('../README.md', import.meta.url), examplesDir)).toEqual([
    'answer.ts',
    'clock.ts',
    'hub.ts',
  ])
})

/** Imports an example with `PORT=0`; returns the Fastify instance it created and its IPv4 URL. */
async function runExample(name: string): Promise<{ url: string; app: FastifyInstance }> {
  const apps: FastifyInstance[] = []
  const onInit = (message: unknown) => {
    apps.push((message as { fastify: FastifyInstance }).fastify)
  }
  diagnostics.subscribe('fastify.initialization', onInit)
  const port = process.env.PORT
  process.env.PORT = '0'
  try {
    await withTimeout(import(/* @vite-ignore */ `./readme/${name}`), DEADLINE_MS, `importing ${name}`)
  } finally {
    diagnostics.unsubscribe('fastify.initialization', onInit)
    if (port === undefined) delete process.env.PORT
    else process.env.PORT = port
  }
  expect(apps, `${name} creates one Fastify instance`).toHaveLength(1)
  const app = apps[0]!
  cleanup.push(() => withTimeout(app.close(), DEADLINE_MS, `closing the app of ${name}`))
  // `listen({ port })` binds every address of `localhost`; take the IPv4 one.
  const address = app.addresses().find((one) => typeof one !== 'string' && one.family === 'IPv4')
  if (address === undefined || typeof address === 'string') throw new Error(`${name} does not listen on IPv4`)
  return { url: `http://127.0.0.1:${address.port}`, app }
}

it('clock.ts: sends the server time every second to an EventSource, and close() ends it', async () => {
  const { url, app } = await runExample('clock.ts')
  const source = await readWithEventSource(`${url}/clock`, { eventNames: ['tick'] })
  cleanup.push(() => source.close())
  const [first, second] = await source.waitFor(2)
  for (const tick of [first!, second!]) {
    expect(tick.type).toBe('tick')
    expect(new Date(tick.data).toISOString()).toBe(tick.data)
  }
  expect(second!.data > first!.data).toBe(true)
  // The plugin ends the stream still open, so close() does not wait on it. (The source stays
  // open until then: closing it first would abort undici's fetch mid-body, after which undici
  // opens a spare connection that never sends a request, and Node's server.close() waits on it.)
  await withTimeout(app.close(), 2000, 'fastify.close() with an open clock stream')
  // The end of the stream reaches the client, which would reconnect.
  await pollUntil(() => source.errors >= 1, DEADLINE_MS, 'the EventSource to see the stream end')
})

it('hub.ts: refuses without a login, fans a POST out to subscribers, and shuts down on SIGTERM', async () => {
  const before = new Set(process.listeners('SIGTERM'))
  const { url, app } = await runExample('hub.ts')
  const onSigterm = process.listeners('SIGTERM').filter((listener) => !before.has(listener))
  expect(onSigterm).toHaveLength(1)
  const shutdown = onSigterm[0]!
  cleanup.push(() => process.off('SIGTERM', shutdown))

  const refused = await fetch(`${url}/events`, { signal: AbortSignal.timeout(DEADLINE_MS) })
  expect(refused.status).toBe(401)
  expect(await withTimeout(refused.json(), DEADLINE_MS, 'the 401 body')).toEqual({ error: 'login first' })

  const login = { headers: { authorization: 'Bearer demo' } }
  const both = await openEventStream(`${url}/events?topics=news,sport`, login)
  const sport = await openEventStream(`${url}/events?topics=sport`, login)
  const news = await openEventStream(`${url}/events`, login) // no query: `news`
  cleanup.push(() => Promise.all([both, sport, news].map((reader) => reader.close())))
  for (const reader of [both, sport, news]) expect(reader.status).toBe(200)
  const posted = await fetch(`${url}/news`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ title: 'hello' }),
    signal: AbortSignal.timeout(DEADLINE_MS),
  })
  expect(posted.status).toBe(201)
  const { id } = (await withTimeout(posted.json(), DEADLINE_MS, 'the POST body')) as { id: string }
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

it('answer.ts: every token in order, then done and the end; a client that leaves mid-answer stops its loop', async () => {
  const { url } = await runExample('answer.ts')
  const example = await withTimeout(import('./readme/answer.ts'), DEADLINE_MS, 'the module of answer.ts')
  await expectPacedAnswer(`${url}/answer`, () => example.tokensGenerated, 50) // answer() yields 50
})
