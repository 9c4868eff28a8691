/**
 * Bugs in `@sse/core` first seen through Express, each kept as a guard over a real socket.
 */
import { headerNames, startHttpServer, useTestScope } from '@sse/test-utils'
import express from 'express'
import { expect, it } from 'vitest'
import { sse } from '../src/index.ts'

const { defer, open, serve } = useTestScope()

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
    defer(() => stream.close())
  })
  const server = await serve(startHttpServer(app))
  const reader = await open(`${server.url}/stream`)
  expect(headerNames(reader).filter((name) => name === 'cache-control')).toHaveLength(1)
  expect(reader.headers['cache-control']).toBe('no-cache')
})
