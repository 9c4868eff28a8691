import { setTimeout as sleep } from 'node:timers/promises'
import { serve } from '@hono/node-server'
import { sse } from '@sse/hono'
import { Hono } from 'hono'

export let tokensGenerated = 0 // over every answer so far

/** Stand-in for an LLM's answer (or a log tail, a long job's progress): tokens that come one by one. */
async function* answer(): AsyncGenerator<string> {
  for (let i = 0; i < 50; i++) {
    await sleep(10) // the model working out its next token
    tokensGenerated++
    yield `token ${i} `
  }
}

const app = new Hono()
app.get('/answer', (c) =>
  // The Response goes out at once; the loop goes on after it, until the answer ends or the client leaves.
  sse(c, async (stream) => {
    for await (const token of answer()) {
      if (!(await stream.ready())) return // the client left, or stalled past slowAfterMs
      stream.send({ event: 'token', data: token })
    }
    stream.send({ event: 'done', data: '' })
    stream.close()
  }),
)
serve({ fetch: app.fetch, port: 3000 })
