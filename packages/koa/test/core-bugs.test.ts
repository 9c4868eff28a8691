/**
 * Bugs in `@sse/core` seen through Koa, each shown by a minimal test over a real socket. An open
 * one is marked `it.fails`: the run stays green while the bug is there and turns red once it is
 * fixed, as a reminder to drop `.fails`; the test then guards the fix. None is open.
 */
import Router from '@koa/router'
import { headerNames, startHttpServer, useTestScope } from '@sse/test-utils'
import Koa from 'koa'
import { expect, it } from 'vitest'
import { sse } from '../src/index.ts'

const { defer, open, serve } = useTestScope()

/**
 * Fixed in core (bb0f2a0): packages/core/src/event-stream.ts merged
 * `{ ...SSE_HEADERS, ...options.headers }` by exact name, so `headers: { 'cache-control':
 * 'no-cache' }` sat next to `Cache-Control` instead of replacing it, and `res.writeHead` sent
 * both when nothing was set on `res` before, which is the default in Koa. Kept as a guard.
 */
it('a lower-case header option replaces the SSE header of the same name', async () => {
  const app = new Koa()
  const router = new Router()
  router.get('/stream', (ctx) => {
    const stream = sse(ctx, { heartbeat: false, headers: { 'cache-control': 'no-cache' } })
    defer(() => stream.close())
  })
  const server = await serve(startHttpServer(app.use(router.routes()).callback()))
  const reader = await open(`${server.url}/stream`)
  expect(headerNames(reader).filter((name) => name === 'cache-control')).toHaveLength(1)
  expect(reader.headers['cache-control']).toBe('no-cache')
})
