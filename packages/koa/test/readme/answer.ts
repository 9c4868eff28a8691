import { setTimeout as sleep } from 'node:timers/promises'
import { sse } from '@sse/koa'
import Koa from 'koa'

export let tokensGenerated = 0 // over every answer so far

/** Stand-in for an LLM's answer (or a log tail, a long job's progress): tokens that come one by one. */
async function* answer(): AsyncGenerator<string> {
  for (let i = 0; i < 50; i++) {
    await sleep(10) // the model working out its next token
    tokensGenerated++
    yield `token ${i} `
  }
}

const app = new Koa()
app.use(async (ctx) => {
  if (ctx.path !== '/answer') return // anything else: Koa's 404
  const stream = sse(ctx)
  for await (const token of answer()) {
    if (!(await stream.ready())) return // the client left, or stalled past slowAfterMs
    stream.send({ event: 'token', data: token })
  }
  stream.send({ event: 'done', data: '' })
  stream.close()
})
app.listen(3000)
