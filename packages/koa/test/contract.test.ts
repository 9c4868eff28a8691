/**
 * The adapter contract against a real Koa 3 app with `@koa/router`: `/stream` is `sse(ctx)`,
 * `/hub` is `sseHub`, both on a real socket on port 0.
 */
import Router from '@koa/router'
import { describeAdapterContract, startHttpServer } from '@sse/test-utils'
import Koa from 'koa'
import { sse, sseHub } from '../src/index.ts'

describeAdapterContract('koa', async (fixture) => {
  const app = new Koa()
  const router = new Router()
  router.get(fixture.paths.stream, (ctx) => {
    fixture.onStream(sse(ctx, fixture.streamOptions), ctx.url)
  })
  router.get(fixture.paths.hub, sseHub({ hub: fixture.hub, topics: (ctx) => fixture.topicsOf(ctx.url) }))
  app.use(router.routes()).use(router.allowedMethods())
  return startHttpServer(app.callback())
})
