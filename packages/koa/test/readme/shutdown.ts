import { createHub } from '@sse/core'
import { sseHub } from '@sse/koa'
import Koa from 'koa'

const hub = createHub()
const app = new Koa().use(sseHub({ hub, topics: () => ['news'] }))
const server = app.listen(3000)

process.once('SIGTERM', async () => {
  await hub.close({ event: { event: 'bye', data: 'restarting' } }) // a spread-out retry, then the end
  server.close() // completes at once: no stream holds it open
})
