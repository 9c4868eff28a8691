/**
 * Bugs in `@sse/core` seen through Express, each shown by a minimal test over a real socket.
 * They are marked `it.fails`: the run stays green while the bug is there and turns red once it
 * is fixed, as a reminder to drop `.fails` (the test then guards the fix).
 */
import { openEventStream, startHttpServer } from '@sse/test-utils'
import express from 'express'
import { afterEach, expect, it } from 'vitest'
import { sse } from '../src/index.ts'

let cleanup: Array<() => unknown> = []

afterEach(async () => {
  const steps = cleanup.reverse()
  cleanup = []
  for (const step of steps) await step()
})

/**
 * packages/core/src/event-stream.ts, the `EventStreamImpl` constructor:
 * `headers: options.headers ? { ...SSE_HEADERS, ...options.headers } : SSE_HEADERS` merges
 * header names case-sensitively, so `{ 'cache-control': 'no-cache' }` does not replace
 * `Cache-Control` but sits next to it. `createNodeSink`'s `open` (packages/core/src/node.ts)
 * hands that object to `res.writeHead`, and when no header was set on `res` before (here:
 * `app.disable('x-powered-by')`, the usual hardening advice), Node writes the object as it is:
 * both `Cache-Control: no-cache, no-transform` and `cache-control: no-cache` go out, the client
 * reads `no-cache, no-transform, no-cache`, and the override silently does nothing (the same
 * happens to `content-type`). With any header already set, Node's `setHeader` path dedupes.
 * Fix: merge case-insensitively in core, e.g. drop each `SSE_HEADERS` entry whose lower-cased
 * name is among the lower-cased names of `options.headers` before spreading.
 */
it.fails('a lower-case header option replaces the SSE header of the same name', async () => {
  const app = express()
  app.disable('x-powered-by')
  app.get('/stream', (req, res) => {
    const stream = sse(req, res, { heartbeat: false, headers: { 'cache-control': 'no-cache' } })
    cleanup.push(() => stream.close())
  })
  const server = await startHttpServer(app)
  cleanup.push(() => server.close())
  const reader = await openEventStream(`${server.url}/stream`)
  cleanup.push(() => reader.close())
  const names = reader.rawHeaders.filter((_, i) => i % 2 === 0).map((name) => name.toLowerCase())
  expect(names.filter((name) => name === 'cache-control')).toHaveLength(1)
  expect(reader.headers['cache-control']).toBe('no-cache')
})
