import Router from '@koa/router'
import { createHub } from '@sse/core'
import { sseHub } from '@sse/koa'
import Koa from 'koa'

const hub = createHub()
const router = new Router()
const events = sseHub({
  hub,
  topics: (ctx) => String(ctx.query.topics ?? 'news').split(','),
  authorize: (ctx) => ctx.cookies.get('session') !== undefined || { status: 401, body: { error: 'log in' } },
})
router.get('/events', events).post('/publish/:topic', async (ctx) => {
  ctx.body = { id: await hub.publish(ctx.params.topic!, { event: 'note', data: String(ctx.query.text) }) }
})
new Koa().use(router.routes()).listen(3000)
