import { serve } from '@hono/node-server'
import { createHub } from '@sse/core'
import { sseHub } from '@sse/hono'
import { Hono } from 'hono'
import { streamSSE } from 'hono/streaming'

const app = new Hono()

// Hono's streamSSE: the fan-out, the lifetime and the cleanup are yours.
const listeners = new Set<(text: string) => void>()
app.get('/streamsse/notes', (c) =>
  streamSSE(c, async (stream) => {
    const forward = (text: string) => void stream.writeSSE({ event: 'note', data: text }) // queues without bound
    listeners.add(forward)
    stream.onAbort(() => {
      listeners.delete(forward)
    })
    while (!stream.aborted) await stream.sleep(1000) // the stream ends when this callback returns
  }),
)
app.post('/streamsse/notes', async (c) => {
  const text = await c.req.text()
  for (const forward of listeners) forward(text)
  return c.body(null, 204)
})

// @sse/hono: a hub does the fan-out, ids, replay, heartbeats and the bound.
const hub = createHub()
app.get('/notes', sseHub({ hub, topics: () => ['notes'] }))
app.post('/notes', async (c) =>
  c.json({ id: await hub.publish('notes', { event: 'note', data: await c.req.text() }) }),
)

serve({ fetch: app.fetch, port: 3000 })
