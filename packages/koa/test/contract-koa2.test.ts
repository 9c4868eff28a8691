/**
 * The adapter contract against a real Koa 2 app (the `koa2` alias of the newest `koa@2`) with
 * `@koa/router`, over HTTP/1.1 and HTTP/2 (h2c), wired exactly as `contract.test.ts` wires Koa 3:
 * the peer range declares both majors, so both run the whole suite.
 */
import Router from '@koa/router'
import {
  type AdapterFixture,
  describeAdapterContract,
  startHttp2Server,
  startHttpServer,
} from '@sse/test-utils'
import Koa from 'koa2'
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

describeAdapterContract('koa 2', (fixture) => startHttpServer(buildApp(fixture).callback()))

describeAdapterContract('koa 2', (fixture) => startHttp2Server(buildApp(fixture).callback()), {
  http2: true,
})
