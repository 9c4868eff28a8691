/**
 * The README's code runs as written. Every ```ts block of README.md is a verbatim excerpt of a
 * file in `test/readme/`, every line of those files is shown in the README, and each file is
 * run here: imported as it is (with `PORT=0`), then read over a real socket by a real client.
 */
import { once } from 'node:events'
import {
  expectPacedAnswer,
  expectReadmeShowsExamples,
  openEventStream,
  type RunningExample,
  readWithEventSource,
  runExample as startExample,
  withTimeout,
} from '@sse/test-utils'
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
  expectReadmeShowsExamples(new URL('../README.md', import.meta.url), examplesDir)
})

async function runExample(name: string): Promise<RunningExample> {
  const example = await startExample(new URL(name, examplesDir))
  cleanup.push(() => example.close())
  return example
}

it('clock.ts: sends the server time every second to an EventSource', async () => {
  const { url } = await runExample('clock.ts')
  const source = await readWithEventSource(`${url}/clock`, { eventNames: ['tick'] })
  cleanup.push(() => source.close())
  const [tick] = await source.waitFor(1)
  expect(tick!.type).toBe('tick')
  expect(new Date(tick!.data).toISOString()).toBe(tick!.data)
})

it('hub.ts: refuses without a login, fans a POST out to subscribers, and shuts down on SIGTERM', async () => {
  const before = new Set(process.listeners('SIGTERM'))
  const { url, server } = await runExample('hub.ts')
  const onSigterm = process.listeners('SIGTERM').filter((listener) => !before.has(listener))
  expect(onSigterm).toHaveLength(1)
  const shutdown = onSigterm[0]!
  cleanup.push(() => process.off('SIGTERM', shutdown))

  const refused = await fetch(`${url}/events`, { signal: AbortSignal.timeout(DEADLINE_MS) })
  expect(refused.status).toBe(401)
  expect(await withTimeout(refused.json(), DEADLINE_MS, 'the 401 body')).toEqual({ error: 'login first' })

  const reader = await openEventStream(`${url}/events?topics=news,sport`, {
    headers: { authorization: 'Bearer demo' },
  })
  cleanup.push(() => reader.close())
  expect(reader.status).toBe(200)
  // The head went out from the same synchronous step that subscribed the stream.
  const posted = await fetch(`${url}/news`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ title: 'hello' }),
    signal: AbortSignal.timeout(DEADLINE_MS),
  })
  expect(posted.status).toBe(201)
  const { id } = (await withTimeout(posted.json(), DEADLINE_MS, 'the POST body')) as { id: string }
  expect(await reader.next()).toEqual({ id, event: 'news', data: '{"title":"hello"}' })

  const closed = once(server, 'close')
  await withTimeout(Promise.resolve(shutdown('SIGTERM')), DEADLINE_MS, 'the SIGTERM handler')
  expect(await reader.waitForEnd()).toBe('end')
  expect(reader.retries).toHaveLength(2) // the hub's as it subscribed, then close()'s
  await withTimeout(closed, 2000, 'server.close() after hub.close()')
})

it('answer.ts: every token in order, then done and the end; a client that leaves mid-answer stops its loop', async () => {
  const { url } = await runExample('answer.ts')
  const example = await withTimeout(import('./readme/answer.ts'), DEADLINE_MS, 'the module of answer.ts')
  await expectPacedAnswer(`${url}/answer`, () => example.tokensGenerated, 50) // answer() yields 50
})
