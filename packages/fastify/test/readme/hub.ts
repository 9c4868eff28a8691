import { createHub } from '@sse/core'
import { sseHub, ssePlugin } from '@sse/fastify'
import Fastify from 'fastify'

const hub = createHub()
const app = Fastify()
await app.register(ssePlugin, { hub }) // fastify.close() closes the hub: a jittered retry, then each stream ends

app.get(
  '/events',
  sseHub({
    hub,
    topics: (request) => ((request.query as { topics?: string }).topics ?? 'news').split(','), // ?topics=news,sport
    authorize: (request) =>
      request.headers.authorization === 'Bearer demo' || { status: 401, body: { error: 'login first' } },
  }),
)

app.post('/news', async (request, reply) => {
  reply.code(201).send({ id: await hub.publish('news', { event: 'news', data: request.body }) })
})

process.once('SIGTERM', () => app.close())
await app.listen({ port: Number(process.env.PORT ?? 3000) })
