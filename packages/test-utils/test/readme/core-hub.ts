import http from 'node:http'
import { createHub } from '@sse/core'
import { createNodeEventStream } from '@sse/core/node'

const hub = createHub<{ news: { title: string } }>()

const server = http
  .createServer((req, res) => {
    if (req.method === 'POST') {
      hub.publish('news', { event: 'news', data: { title: 'hello' } }).then((id) => res.end(id))
      return
    }
    const stream = createNodeEventStream(req, res)
    hub.subscribe(stream, { topics: ['news'] }) // replays what a reconnecting client missed
  })
  .listen(process.env.PORT ?? 3000)

process.on('SIGTERM', async () => {
  await hub.close() // a jittered `retry:` to every client, then every stream ends
  server.close()
})
