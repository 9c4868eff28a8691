import { serve } from '@hono/node-server'
import { sse } from '@sse/hono'
import { Hono } from 'hono'

const app = new Hono()
app.get('/clock', (c) =>
  sse(c, (stream) => {
    const timer = setInterval(() => stream.send({ event: 'tick', data: new Date().toISOString() }), 1000)
    stream.onClose(() => clearInterval(timer))
  }),
)
serve({ fetch: app.fetch, port: 3000 }) // Bun, Deno, Workers: export default app
