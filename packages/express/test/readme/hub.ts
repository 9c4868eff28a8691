import { createHub } from '@sse/core'
import { sseHub } from '@sse/express'
import express from 'express'

const hub = createHub()
const app = express()

app.get(
  '/events',
  sseHub({
    hub,
    topics: (req) => String(req.query.topics ?? 'news').split(','), // GET /events?topics=news,sport
    authorize: (req) =>
      req.get('authorization') === 'Bearer demo' || { status: 401, body: { error: 'login first' } },
  }),
)

app.post('/news', express.json(), async (req, res) => {
  res.status(201).json({ id: await hub.publish('news', { event: 'news', data: req.body }) })
})

const server = app.listen(process.env.PORT ?? 3000)

process.on('SIGTERM', async () => {
  await hub.close() // a final `retry:` to every client, jittered so reconnects spread, then each stream ends
  server.close() // completes promptly: no response is left open
})
