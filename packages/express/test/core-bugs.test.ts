/**
 * Bugs in `@sse/core` first seen through Express, each kept as a guard over a real socket.
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
 * Header options used to merge case-sensitively, so `{ 'cache-control': 'no-cache' }` went out
 * next to `Cache-Control: no-cache, no-transform` instead of replacing it (visible once
 * `app.disable('x-powered-by')` leaves no header set before `writeHead`). Fixed in core.
 */
it('a lower-case header option replaces the SSE header of the same name', async () => {
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
