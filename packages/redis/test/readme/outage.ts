import { createHub, isSseError } from '@sse/core'
import { RedisBroker } from '@sse/redis'
import express from 'express'

const broker = new RedisBroker({ redis: process.env.REDIS_URL, commandTimeoutMs: 1000 })
const hub = createHub({ broker })
hub.on('error', (error) => {
  // SSE_BROKER_GAP: Redis lost events before this instance read them. Its streams were closed;
  // each client reconnects and gets the missed events from history, or an `sse-reset`.
  if (isSseError(error, 'SSE_BROKER_GAP')) console.warn(error.message)
})

const app = express()
app.post('/news', express.json(), async (req, res) => {
  try {
    res.status(201).json({ id: await hub.publish('news', { event: 'news', data: req.body }) })
  } catch (error) {
    if (!isSseError(error, 'SSE_BROKER_UNAVAILABLE') && !isSseError(error, 'SSE_BROKER_BUSY')) throw error
    // Not confirmed (most likely not published; SSE_BROKER_BUSY: certainly not); nothing is queued.
    res.status(503).set('Retry-After', '1').json({ error: 'news are unavailable for a moment, retry' })
  }
})
app.listen(process.env.PORT ?? 3000)
