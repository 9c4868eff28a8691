import http from 'node:http'
import { createNodeEventStream } from '@sse/core/node'

http
  .createServer((req, res) => {
    const stream = createNodeEventStream(req, res)
    const timer = setInterval(() => stream.send({ event: 'tick', data: new Date().toISOString() }), 1000)
    stream.onClose(() => clearInterval(timer)) // the client left, or the server closed the stream
  })
  .listen(process.env.PORT ?? 3000)
