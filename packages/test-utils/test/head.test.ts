/**
 * A HEAD request to an event-stream route gets the headers and an empty body, and leaves no
 * stream behind (Node does not send a HEAD body, so an open stream would never be read).
 */
import http from 'node:http'
import { createHub } from '@sse/core'
import { createNodeEventStream } from '@sse/core/node'
import { afterEach, expect, it } from 'vitest'
import { startHttpServer, withTimeout } from '../src/index.ts'

const cleanup: Array<() => unknown> = []
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step()
})

it('answers HEAD with the SSE headers only, and the stream leaves the hub at once', async () => {
  const hub = createHub({ heartbeat: false })
  cleanup.push(() => hub.close({ retry: false }))
  const server = await startHttpServer((req, res) => {
    void hub.subscribe(createNodeEventStream(req, res, { heartbeat: false }), { topics: ['t'] })
  })
  cleanup.push(() => server.close())
  const response = await withTimeout(
    new Promise<http.IncomingMessage>((resolve, reject) => {
      http.request(server.url, { method: 'HEAD', agent: false }, resolve).on('error', reject).end()
    }),
    5000,
    'the HEAD response',
  )
  expect(response.statusCode).toBe(200)
  expect(response.headers['content-type']).toBe('text/event-stream; charset=utf-8')
  response.resume()
  await withTimeout(new Promise((resolve) => response.once('end', resolve)), 5000, 'the HEAD response to end')
  expect(hub.size).toBe(0)
})
