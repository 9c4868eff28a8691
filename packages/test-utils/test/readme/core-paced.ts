import http from 'node:http'
import { createHub } from '@sse/core'
import { createNodeEventStream } from '@sse/core/node'

const hub = createHub()

async function* answer(): AsyncGenerator<string> {
  for (let i = 0; i < 10_000; i++) yield `token ${i} ` // an LLM, a log tail, a long job's progress
}

http
  .createServer(async (req, res) => {
    if (req.method === 'POST') {
      // A bulk export that every reader gets in full, at the pace of the slowest healthy one.
      for (let row = 0; row < 5000; row++) {
        await hub.publish('export', { event: 'row', data: { row } })
        await hub.ready('export') // a stalled reader holds this for at most slowAfterMs (5 s)
      }
      res.end('done')
      return
    }
    const stream = createNodeEventStream(req, res)
    if (req.url === '/export') {
      hub.subscribe(stream, { topics: ['export'] })
      return
    }
    // One client's own stream: wait for the client before each write, stop when it leaves.
    for await (const token of answer()) {
      if (!(await stream.ready())) return // the client left, or stalled past slowAfterMs
      stream.send({ event: 'token', data: token })
    }
    stream.close()
  })
  .listen(process.env.PORT ?? 3000)
