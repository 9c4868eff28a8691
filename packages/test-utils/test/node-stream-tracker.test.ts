/**
 * `createNodeStreamTracker` of `@sse/core/node` on a real `node:http2` server (h2c): `close()`
 * ends the open streams and the HTTP/2 sessions that carried them, so `server.close()` completes
 * while the clients stay connected (Node before 24 would wait on their sessions), and a stream
 * opened once shutdown began ends at once.
 */
import type http2 from 'node:http2'
import { createHub } from '@sse/core'
import { createNodeEventStream, createNodeStreamTracker } from '@sse/core/node'
import { afterEach, expect, it } from 'vitest'
import { openEventStream, pollUntil, startHttp2Server, withTimeout } from '../src/index.ts'

const cleanup: Array<() => unknown> = []
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step()
})

/** `server.close()` alone, as an app's shutdown calls it (the test server's own `close()` destroys sessions). */
function closeServer(server: http2.Http2Server): Promise<void> {
  return withTimeout(
    new Promise<void>((resolve) => server.close(() => resolve())),
    2000,
    'server.close() with HTTP/2 clients still connected',
  )
}

it('ends every stream and the sessions that carried one, after the hub closed its own', async () => {
  const hub = createHub({ heartbeat: false })
  const streams = createNodeStreamTracker()
  const started = await startHttp2Server((req, res) => {
    const stream = streams.track(createNodeEventStream(req, res, { heartbeat: false }), res)
    if (req.url === '/events') return hub.subscribe(stream, { topics: ['news'] })
    stream.send({ data: 'hello' })
    return undefined
  })
  cleanup.push(() => started.close())
  const clock = await openEventStream(`${started.url}/clock`, { http2: true })
  cleanup.push(() => clock.close())
  const events = await openEventStream(`${started.url}/events`, { http2: true })
  cleanup.push(() => events.close())
  expect((await clock.next()).data).toBe('hello')
  await pollUntil(() => hub.size === 1, 2000, 'the hub to take the stream')

  const closed = closeServer(started.server)
  await withTimeout(
    streams.close(() => hub.close({ retry: { min: 1000, max: 1000 } })),
    2000,
    'streams.close()',
  )
  await closed
  expect(await clock.waitForEnd()).toBe('end')
  expect(await events.waitForEnd()).toBe('end')
  expect(events.retries.at(-1)).toBe(1000) // the hub closed its stream first, with its retry
})

it('ends at once a stream tracked while `before` runs, and one tracked after close() finished', async () => {
  const streams = createNodeStreamTracker()
  let tracked = 0
  const gates = new Map<string, () => void>()
  const started = await startHttp2Server(async (req, res) => {
    await new Promise<void>((resolve) => gates.set(req.url, resolve)) // a lookup still running at shutdown
    streams.track(createNodeEventStream(req, res, { heartbeat: false }), res)
    tracked++
  })
  cleanup.push(() => started.close())
  const opening = ['/during', '/after'].map((path) =>
    openEventStream(`${started.url}${path}`, { http2: true }),
  )
  for (const reader of opening) cleanup.push(async () => (await reader.catch(() => undefined))?.close())
  await pollUntil(() => gates.size === 2, 2000, 'both handlers to start waiting')

  const closed = closeServer(started.server)
  await withTimeout(
    streams.close(async () => {
      gates.get('/during')?.()
      await pollUntil(() => tracked === 1, 2000, 'the handler to open its stream while closing')
    }),
    2000,
    'streams.close()',
  )
  gates.get('/after')?.()
  for (const reader of await Promise.all(opening)) {
    expect(reader.status).toBe(200)
    expect(await reader.waitForEnd()).toBe('end')
  }
  await closed
})
