/**
 * The README's examples, run as written: each `ts` block of the README is a file in
 * `test/readme/`, byte for byte, and here each file serves a real client on a real socket. The
 * one change is the port: `app.listen(3000)` listens on 127.0.0.1, port 0.
 */
import { once } from 'node:events'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  expectPacedAnswer,
  expectReadmeShowsExamples,
  openEventStream,
  readWithEventSource,
  withTimeout,
} from '@sse/test-utils'
import Koa from 'koa'
import { afterEach, describe, expect, it, vi } from 'vitest'

const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  vi.restoreAllMocks()
})

interface RunningExample {
  readonly url: string
  readonly server: Server
  /** The `SIGTERM` listeners the example registered. */
  readonly sigterm: NodeJS.SignalsListener[]
}

/** Imports an example: its `listen(3000)` listens on port 0, and everything it started is closed after the test. */
async function runExample(file: string): Promise<RunningExample> {
  const servers: Server[] = []
  const listen = Koa.prototype.listen
  vi.spyOn(Koa.prototype, 'listen').mockImplementation(function (this: Koa) {
    const server = (listen as (port: number, host: string) => Server).call(this, 0, '127.0.0.1')
    servers.push(server)
    return server
  })
  const before = process.listeners('SIGTERM')
  await import(`./readme/${file}`)
  const sigterm = process.listeners('SIGTERM').filter((listener) => !before.includes(listener))
  cleanups.push(() => {
    for (const listener of sigterm) process.removeListener('SIGTERM', listener)
  })
  const [server] = servers
  if (!server || servers.length > 1) throw new Error(`${file} called listen() ${servers.length} times`)
  cleanups.push(async () => {
    if (!server.listening) return
    const closed = once(server, 'close')
    server.close()
    server.closeAllConnections()
    await withTimeout(closed, 5000, `closing the server of ${file}`)
  })
  if (!server.listening) await withTimeout(once(server, 'listening'), 5000, `the server of ${file}`)
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}`, server, sigterm }
}

async function post(url: string): Promise<unknown> {
  const response = await fetch(url, { method: 'POST', signal: AbortSignal.timeout(5000) })
  expect(response.status).toBe(200)
  return withTimeout(response.json(), 5000, `the body of POST ${url}`)
}

describe('the README', () => {
  it('shows each example file exactly, and every ts block is one of them', () => {
    expect(
      expectReadmeShowsExamples(
        new URL('../README.md', import.meta.url),
        new URL('./readme/', import.meta.url),
      ),
    ).toEqual(['answer.ts', 'clock.ts', 'hub.ts', 'shutdown.ts'])
  })
})

describe('README examples', () => {
  it('clock.ts: an EventSource gets the server time every second', async () => {
    const { url } = await runExample('clock.ts')
    const source = await readWithEventSource(`${url}/clock`, { eventNames: ['tick'] })
    cleanups.push(() => source.close())
    const ticks = await source.waitFor(2, 5000)
    for (const tick of ticks) {
      expect(tick.type).toBe('tick')
      expect(new Date(tick.data).toISOString()).toBe(tick.data)
    }
    expect((await fetch(`${url}/`, { signal: AbortSignal.timeout(5000) })).status).toBe(404)
  })

  it('hub.ts: topics from the query, authorize by cookie, publishing from a POST route', async () => {
    const { url } = await runExample('hub.ts')
    const refused = await fetch(`${url}/events`, { signal: AbortSignal.timeout(5000) })
    expect(refused.status).toBe(401)
    expect(await withTimeout(refused.json(), 5000, 'the 401 body')).toEqual({ error: 'log in' })

    const reader = await openEventStream(`${url}/events?topics=news,sport`, {
      headers: { cookie: 'session=abc' },
    })
    cleanups.push(() => reader.close())
    expect(reader.status).toBe(200)
    await reader.waitForComments(1)
    const { id } = (await post(`${url}/publish/sport?text=goal`)) as { id: string }
    await post(`${url}/publish/weather?text=rain`)
    await post(`${url}/publish/news?text=headline`)
    expect((await reader.waitFor(2)).map((event) => [event.event, event.data])).toEqual([
      ['note', 'goal'],
      ['note', 'headline'],
    ])
    expect(reader.events[0]?.id).toBe(id)
  })

  it('shutdown.ts: on SIGTERM every stream ends with the last event, and the server closes', async () => {
    const { url, server, sigterm } = await runExample('shutdown.ts')
    const readers = await Promise.all([1, 2, 3].map(() => openEventStream(url)))
    for (const reader of readers) cleanups.push(() => reader.close())
    await Promise.all(readers.map((reader) => reader.waitForComments(1)))
    expect(sigterm).toHaveLength(1)
    const closed = once(server, 'close')
    // The handler itself, called as the signal would (not a real signal to the test process).
    await withTimeout(Promise.resolve(sigterm[0]!('SIGTERM')), 2000, 'the SIGTERM handler')
    await withTimeout(closed, 2000, 'server.close() after hub.close()')
    for (const reader of readers) {
      expect(await reader.waitForEnd()).toBe('end')
      expect(reader.events.at(-1)).toMatchObject({ event: 'bye', data: 'restarting' })
      expect(reader.retries.at(-1)).toBeGreaterThanOrEqual(1000)
    }
  })

  it('answer.ts: every token in order, then done and the end; a client that leaves mid-answer stops its loop', async () => {
    const { url } = await runExample('answer.ts')
    const example = await withTimeout(import('./readme/answer.ts'), 5000, 'the module of answer.ts')
    await expectPacedAnswer(`${url}/answer`, () => example.tokensGenerated, 50) // answer() yields 50
  })
})
