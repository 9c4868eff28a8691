import { setTimeout as sleep } from 'node:timers/promises'
import { sse } from '@sse/express'
import express from 'express'

export let tokensGenerated = 0 // over every answer so far

/** Stand-in for an LLM's answer (or a log tail, a long job's progress): tokens that come one by one. */
async function* answer(): AsyncGenerator<string> {
  for (let i = 0; i < 50; i++) {
    await sleep(10) // the model working out its next token
    tokensGenerated++
    yield `token ${i} `
  }
}

const app = express()

app.get('/answer', async (req, res) => {
  const stream = sse(req, res)
  for await (const token of answer()) {
    if (!(await stream.ready())) return // the client left, or stalled past slowAfterMs
    stream.send({ event: 'token', data: token })
  }
  stream.send({ event: 'done', data: '' })
  stream.close()
})

app.listen(process.env.PORT ?? 3000)
