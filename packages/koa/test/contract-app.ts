/**
 * The two routes of the adapter contract on a Koa app with `@koa/router`, for each Koa major the
 * peer range declares (`contract.test.ts`: Koa 3; `contract-koa2.test.ts`: Koa 2): `/stream` is
 * `sse(ctx)`, `/hub` is `sseHub` with the suite's options.
 */
import Router from '@koa/router'
import type { AdapterFixture } from '@sse/test-utils'
import type Koa from 'koa'
import { sse, sseHub } from '../src/index.ts'

/** Mounts the contract's routes on `app` and returns it. */
export function contractApp(app: Koa, fixture: AdapterFixture): Koa {
  const router = new Router()
  router.get(fixture.paths.stream, (ctx) => {
    fixture.onStream(sse(ctx, fixture.streamOptions), ctx.url)
  })
  router.get(fixture.paths.hub, sseHub(fixture.hubOptions((ctx) => ctx.url)))
  app.use(router.routes()).use(router.allowedMethods())
  return app
}
