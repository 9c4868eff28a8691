import { ssePlugin } from '@sse/fastify'
import Fastify from 'fastify'

const app = Fastify()
await app.register(ssePlugin) // adds reply.sse(); fastify.close() ends the streams still open

app.get('/clock', (_request, reply) => {
  const stream = reply.sse()
  const timer = setInterval(() => stream.send({ event: 'tick', data: new Date().toISOString() }), 1000)
  stream.onClose(() => clearInterval(timer)) // the client left, or the server closed the stream
})

await app.listen({ port: Number(process.env.PORT ?? 3000) })
