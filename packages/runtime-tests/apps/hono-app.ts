/**
 * The app on `@sse/hono`: the routes of `app-state.ts`, as a Hono app, the same on every runtime
 * (`Bun.serve`, `Deno.serve`, a Workers module, `@hono/node-server`).
 */
import { createHub } from '@sse/core'
import { sse, sseHub } from '@sse/hono'
import { Hono } from 'hono'
import { type AppState, produce, produceThroughHub, sendFraming } from './app-state.ts'

export function buildHonoApp(state: AppState): Hono {
  const app = new Hono()
  app.get('/stream', (c) => {
    const url = new URL(c.req.url)
    return sse(
      c,
      (stream) => state.track(url.searchParams.get('name') ?? undefined, stream),
      state.streamOptions(url),
    )
  })
  // The hub is read per request: `/control/hub` swaps it.
  app.get('/hub', (c, next) =>
    sseHub({ hub: state.hub, topics: (c) => state.topicsOf(new URL(c.req.url)), key: () => undefined })(
      c,
      next,
    ),
  )
  app.get('/framing', (c) => sse(c, sendFraming, { heartbeat: false }))
  app.get('/produce', (c) => {
    const count = Number(c.req.query('count'))
    const bytes = Number(c.req.query('bytes'))
    return sse(c, (stream) => produce(stream, count, bytes), { heartbeat: false })
  })
  app.get('/hub-produce', (c) => {
    const count = Number(c.req.query('count'))
    const bytes = Number(c.req.query('bytes'))
    const hub = createHub({ heartbeat: false, retry: false, historySize: 64 })
    return sse(c, async (stream) => {
      stream.onClose(() => void hub.close({ retry: false }))
      await produceThroughHub(hub, stream, count, bytes)
    })
  })
  app.all('/control/*', async (c) => (await state.control(c.req.raw)) ?? c.notFound())
  return app
}
