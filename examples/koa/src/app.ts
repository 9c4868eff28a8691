/**
 * The live demo on Koa 3 with `@sse/koa`, over HTTP/1.1 or, with a certificate, over HTTPS with
 * HTTP/2 (`node:http2`'s compatibility API runs Koa as it is). `buildApp(demo)` only routes; the
 * demo's state (hub, clocks, validation) is shared by every example (`@sse/example-shared`).
 *
 * - `GET /`            the live page (and its `/app.js`, `/style.css`, `/favicon.svg`)
 * - `GET /events`      hub topics from the query, `?topics=news,alerts`; replays what a
 *                      reconnecting page missed (`Last-Event-ID`)
 * - `GET /clock`       a per-client stream: one `tick` a second
 * - `GET /story`       a per-client stream paced by the client: `?words=N` words, each write
 *                      awaiting `stream.ready()`, then `done`
 * - `POST /notify`     `{ "topic": "news" | "alerts", "text": "…" }` → the hub → every page
 * - `GET /health`      status, framework, open streams
 */
import http from 'node:http'
import http2 from 'node:http2'
import Router from '@koa/router'
import type { Demo, DemoEvents, JsonAnswer, RunningServer, StartOptions } from '@sse/example-shared'
import {
  createDemo,
  listenGracefully,
  loadAssets,
  parseJsonBody,
  readText,
  STREAM_RETRY_MS,
} from '@sse/example-shared'
import { sse, sseHub } from '@sse/koa'
import Koa from 'koa'

/** The Koa app on `demo`, without listening. */
export function buildApp(demo: Demo = createDemo({ framework: 'Koa' })): Koa {
  const router = new Router()

  for (const asset of loadAssets()) {
    router.get(asset.path, (ctx) => {
      ctx.set(asset.headers)
      ctx.body = asset.body
    })
  }

  router.get('/events', sseHub(demo.hubOptions((ctx) => ctx.query.topics)))

  router.get('/clock', (ctx) => demo.runClock(sse<DemoEvents>(ctx, { retry: STREAM_RETRY_MS })))
  router.get('/story', (ctx) => {
    void demo.tellStory(
      sse<DemoEvents>(ctx, { retry: STREAM_RETRY_MS }),
      ctx.query.words as string | undefined,
    )
  })

  router.post('/notify', async (ctx) => {
    const body = parseJsonBody(ctx.get('Content-Type'), await readText(ctx.req))
    const answer: JsonAnswer = body.ok
      ? await demo.notify(body.value)
      : { status: body.status ?? 400, body: { error: body.error } }
    ctx.status = answer.status
    ctx.body = answer.body
  })

  router.get('/health', (ctx) => {
    const answer = demo.health()
    ctx.status = answer.status
    ctx.body = answer.body
  })

  const app = new Koa()
  app.use(router.routes()).use(router.allowedMethods())
  return app
}

/** Starts the app on a port; with `tls`, HTTPS with HTTP/2 (and HTTP/1.1 for older clients). */
export function startServer(options: StartOptions & { demo?: Demo | undefined }): Promise<RunningServer> {
  const demo = options.demo ?? createDemo({ framework: 'Koa' })
  const callback = buildApp(demo).callback()
  const server = options.tls
    ? http2.createSecureServer({ key: options.tls.key, cert: options.tls.cert, allowHTTP1: true }, callback)
    : http.createServer(callback)
  return listenGracefully(server, options, () => demo.close())
}
