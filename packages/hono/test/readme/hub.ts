import { serve } from '@hono/node-server'
import { createHub } from '@sse/core'
import { sseHub } from '@sse/hono'
import { Hono } from 'hono'
import { getCookie } from 'hono/cookie'

const hub = createHub()
const app = new Hono()
app.get(
  '/events',
  sseHub({
    hub,
    topics: (c) => (c.req.query('topics') ?? 'news').split(','),
    authorize: (c) => getCookie(c, 'session') !== undefined || { status: 401, body: { error: 'log in' } },
  }),
)
app.post('/publish/:topic', async (c) => {
  const id = await hub.publish(c.req.param('topic'), { event: 'note', data: c.req.query('text') ?? '' })
  return c.json({ id })
})
serve({ fetch: app.fetch, port: 3000 })
