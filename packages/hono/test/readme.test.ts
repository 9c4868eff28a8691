/**
 * The README's examples, run as written: each `ts` block of the README is an excerpt of a file in
 * `test/readme/`, and here each file serves a real client on a real socket. The one change is
 * the port: `@hono/node-server`'s `serve` listens on 127.0.0.1, port 0.
 */
import { once } from 'node:events'
import type { ServerType } from '@hono/node-server'
import {
  expectPacedAnswer,
  expectReadmeShowsExamples,
  openEventStream,
  readWithEventSource,
  withTimeout,
} from '@sse/test-utils'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { readResponse } from './read-response.ts'

/** Every server an example started through `serve`, with the `fetch` it was given. */
const served = vi.hoisted((): Array<{ server: ServerType; fetch: (request: Request) => unknown }> => [])
vi.mock('@hono/node-server', async (importOriginal) => {
  const original = await importOriginal<typeof import('@hono/node-server')>()
  const serve: typeof original.serve = (options, listener) => {
    const server = original.serve({ ...options, port: 0, hostname: '127.0.0.1' }, listener)
    served.push({ server, fetch: (request) => options.fetch(request, undefined as never) })
    return server
  }
  return { ...original, serve }
})

const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

interface RunningExample {
  readonly url: string
  readonly server: ServerType
  /** The app's `fetch`, to call it without a server, as Bun, Deno and Workers do. */
  readonly fetch: (request: Request) => Promise<Response>
  /** The `SIGTERM` listeners the example registered. */
  readonly sigterm: NodeJS.SignalsListener[]
}

/** Imports an example: its `serve` listens on port 0, and everything it started is closed after the test. */
async function runExample(file: string): Promise<RunningExample> {
  const count = served.length
  const before = process.listeners('SIGTERM')
  await import(`./readme/${file}`)
  const sigterm = process.listeners('SIGTERM').filter((listener) => !before.includes(listener))
  cleanups.push(() => {
    for (const listener of sigterm) process.removeListener('SIGTERM', listener)
  })
  const started = served.slice(count)
  if (started.length !== 1) throw new Error(`${file} called serve() ${started.length} times`)
  const { server, fetch } = started[0]!
  cleanups.push(async () => {
    if (!server.listening) return
    const closed = once(server, 'close')
    server.close()
    if ('closeAllConnections' in server) server.closeAllConnections()
    await withTimeout(closed, 5000, `closing the server of ${file}`)
  })
  if (!server.listening) await withTimeout(once(server, 'listening'), 5000, `the server of ${file}`)
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error(`unexpected address ${address}`)
  return {
    url: `http://127.0.0.1:${address.port}`,
    server,
    fetch: async (request) => (await fetch(request)) as Response,
    sigterm,
  }
}

async function open(url: string, options?: Parameters<typeof openEventStream>[1]) {
  const reader = await openEventStream(url, options)
  cleanups.push(() => reader.close())
  return reader
}

async function post(url: string, body?: string): Promise<Response> {
  const response = await fetch(url, { method: 'POST', body, signal: AbortSignal.timeout(5000) })
  expect(response.status, url).toBeLessThan(300)
  return response
}

describe('the README', () => {
  it('shows each example file exactly, and every ts block is one of them', () => {
    expect(
      expectReadmeShowsExamples(
        new URL('../README.md', import.meta.url),
        new URL('./readme/', import.meta.url),
      ),
    ).toEqual(['answer.ts', 'clock.ts', 'hub.ts', 'shutdown.ts', 'versus-stream-sse.ts'])
  })
})

describe('README examples', () => {
  it('clock.ts: an EventSource gets the server time every second', async () => {
    const { fetch: appFetch, url } = await runExample('clock.ts')
    const source = await readWithEventSource(`${url}/clock`, { eventNames: ['tick'] })
    cleanups.push(() => source.close())
    const ticks = await source.waitFor(2, 5000)
    for (const tick of ticks) {
      expect(tick.type).toBe('tick')
      expect(new Date(tick.data).toISOString()).toBe(tick.data)
    }
    // The same app without a server, as Bun, Deno and Workers call it.
    const reader = readResponse(await appFetch(new Request('http://localhost/clock')))
    cleanups.push(() => reader.cancel())
    expect((await reader.waitFor(1, 5000))[0]?.event).toBe('tick')
  })

  it('hub.ts: topics from the query, authorize by cookie, publishing from a POST route', async () => {
    const { url } = await runExample('hub.ts')
    const refused = await fetch(`${url}/events`, { signal: AbortSignal.timeout(5000) })
    expect(refused.status).toBe(401)
    expect(await withTimeout(refused.json(), 5000, 'the 401 body')).toEqual({ error: 'log in' })

    const reader = await open(`${url}/events?topics=news,sport`, { headers: { cookie: 'session=abc' } })
    expect(reader.status).toBe(200)
    await reader.waitForComments(1)
    const { id } = (await (await post(`${url}/publish/sport?text=goal`)).json()) as { id: string }
    await post(`${url}/publish/weather?text=rain`)
    await post(`${url}/publish/news?text=headline`)
    expect((await reader.waitFor(2)).map((event) => [event.event, event.data])).toEqual([
      ['note', 'goal'],
      ['note', 'headline'],
    ])
    expect(reader.events[0]?.id).toBe(id)
  })

  it('versus-stream-sse.ts: both deliver; only the hub route sends ids, replays, and sends no hop-by-hop headers', async () => {
    const { url } = await runExample('versus-stream-sse.ts')
    const theirs = await open(`${url}/streamsse/notes`)
    const ours = await open(`${url}/notes`)
    // streamSSE sets both, which Node's HTTP/2 refuses (ERR_HTTP2_INVALID_CONNECTION_HEADERS).
    expect(theirs.headers['transfer-encoding']).toBe('chunked')
    expect(theirs.rawHeaders.map((name) => name.toLowerCase())).toContain('connection')
    expect(ours.headers['cache-control']).toBe('no-cache, no-transform')
    expect(ours.headers['x-accel-buffering']).toBe('no')
    await ours.waitForComments(1)

    // Both routes subscribe before their heads go out, so the next publishes reach them.
    await post(`${url}/streamsse/notes`, 'one')
    const { id } = (await (await post(`${url}/notes`, 'one')).json()) as { id: string }
    expect(await theirs.next()).toEqual({ event: 'note', id: undefined, data: 'one' })
    expect(await ours.next()).toEqual({ event: 'note', id, data: 'one' })

    // A client that reconnects after missing an event: only the hub route replays it.
    await ours.close()
    await post(`${url}/notes`, 'missed')
    const again = await open(`${url}/notes`, { headers: { 'last-event-id': id } })
    expect(await again.next()).toMatchObject({ event: 'note', data: 'missed' })
  })

  it('shutdown.ts: on SIGTERM every stream ends with the last event, and the server closes', async () => {
    const { url: base, server, sigterm } = await runExample('shutdown.ts')
    const url = `${base}/events`

    const readers = await Promise.all([1, 2, 3].map(() => open(url)))
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
