/**
 * The adapter contract against a real Koa 3 app with `@koa/router`: `/stream` is `sse(ctx)`,
 * `/hub` is `sseHub` with the suite's `authorize` and `key`, on a real socket on port 0, over
 * HTTP/1.1 and over HTTP/2 (h2c, through Node's compatibility API, which Koa runs on unchanged).
 */
import Router from '@koa/router'
import {
  type AdapterFixture,
  describeAdapterContract,
  startHttp2Server,
  startHttpServer,
} from '@sse/test-utils'
import Koa from 'koa'
import { sse, sseHub } from '../src/index.ts'

function buildApp(fixture: AdapterFixture): Koa {
  const app = new Koa()
  const router = new Router()
  router.get(fixture.paths.stream, (ctx) => {
    fixture.onStream(sse(ctx, fixture.streamOptions), ctx.url)
  })
  router.get(
    fixture.paths.hub,
    sseHub({
      hub: fixture.hub,
      topics: (ctx) => fixture.topicsOf(ctx.url),
      authorize: (ctx, context) => fixture.authorize(ctx.url, context),
      key: (ctx) => fixture.key(ctx.url),
    }),
  )
  app.use(router.routes()).use(router.allowedMethods())
  return app
}

describeAdapterContract('koa', (fixture) => startHttpServer(buildApp(fixture).callback()))

describeAdapterContract('koa', (fixture) => startHttp2Server(buildApp(fixture).callback()), { http2: true })
