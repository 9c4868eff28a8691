import { createHub } from '@sse/core'
import { sseHub } from '@sse/express'
import { registerHubMetrics } from '@sse/metrics'
import express from 'express'
import { collectDefaultMetrics, register } from 'prom-client'

const hub = createHub()
registerHubMetrics(hub, { topics: ['news'] }) // into prom-client's default registry
collectDefaultMetrics() // the process's own: memory, CPU, event loop lag

const app = express()
app.get('/events', sseHub({ hub, topics: () => ['news'] }))
app.post('/news', express.json(), async (req, res) => {
  res.status(201).json({ id: await hub.publish('news', { data: req.body }) })
})
app.get('/metrics', async (_req, res) => {
  res.type(register.contentType).send(await register.metrics())
})
app.listen(process.env.PORT ?? 3000)
