import { createHub } from '@sse/core'
import { sseHub } from '@sse/express'
import { RedisBroker } from '@sse/redis'
import express from 'express'

const broker = new RedisBroker({ redis: process.env.REDIS_URL, prefix: 'sse:myapp' })
const hub = createHub({ broker, closeBroker: true }) // hub.close() closes the broker too
await broker.ready() // from here on, every event published by any instance reaches this one

const app = express()
app.get('/events', sseHub({ hub, topics: (req) => String(req.query.topics ?? 'news').split(',') }))
app.post('/news', express.json(), async (req, res) => {
  res.status(201).json({ id: await hub.publish('news', { event: 'news', data: req.body }) })
})
const server = app.listen(process.env.PORT ?? 3000)

process.on('SIGTERM', async () => {
  await hub.close() // a jittered retry: to every client, so they spread over the other instances
  server.close()
})
