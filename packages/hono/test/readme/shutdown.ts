import { serve } from '@hono/node-server'
import { createHub } from '@sse/core'
import { sseHub } from '@sse/hono'
import { Hono } from 'hono'

const hub = createHub()
const app = new Hono().get('/events', sseHub({ hub, topics: () => ['news'] }))
const server = serve({ fetch: app.fetch, port: 3000 })

process.once('SIGTERM', async () => {
  await hub.close({ event: { event: 'bye', data: 'restarting' } }) // a spread-out retry, then the end
  setImmediate(() => server.close()) // once @hono/node-server ended the responses: completes at once
})
