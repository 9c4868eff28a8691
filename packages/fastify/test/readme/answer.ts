import { setTimeout as sleep } from 'node:timers/promises'
import { ssePlugin } from '@sse/fastify'
import Fastify from 'fastify'

export let tokensGenerated = 0 // over every answer so far

/** Stand-in for an LLM's answer (or a log tail, a long job's progress): tokens that come one by one. */
async function* answer(): AsyncGenerator<string> {
  for (let i = 0; i < 50; i++) {
    await sleep(10) // the model working out its next token
    tokensGenerated++
    yield `token ${i} `
  }
}

const app = Fastify()
await app.register(ssePlugin) // fastify.close() also ends answers still streaming: ready() resolves false

app.get('/answer', async (_request, reply) => {
  const stream = reply.sse()
  for await (const token of answer()) {
    if (!(await stream.ready())) return // the client left, or stalled past slowAfterMs
    stream.send({ event: 'token', data: token })
  }
  stream.send({ event: 'done', data: '' })
  stream.close()
})

await app.listen({ port: Number(process.env.PORT ?? 3000) })
