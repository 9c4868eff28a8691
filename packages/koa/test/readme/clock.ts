import { sse } from '@sse/koa'
import Koa from 'koa'

const app = new Koa()
app.use((ctx) => {
  if (ctx.path !== '/clock') return // anything else: Koa's 404
  const stream = sse(ctx)
  const timer = setInterval(() => stream.send({ event: 'tick', data: new Date().toISOString() }), 1000)
  stream.onClose(() => clearInterval(timer))
})
app.listen(3000)
