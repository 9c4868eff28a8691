/**
 * The live demo on Hono 4 with `@sse/hono`, run on Node by `@hono/node-server`, over HTTP/1.1 or,
 * with a certificate, over HTTPS with HTTP/2. `buildApp(demo)` only routes (the same app runs on
 * Bun, Deno or Workers); the demo's state (hub, clocks, validation) is shared by every example
 * (`@sse/example-shared`).
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
import http2 from 'node:http2'
import { createAdaptorServer } from '@hono/node-server'
import {
  createDemo,
  type Demo,
  type DemoEvents,
  type JsonAnswer,
  listenGracefully,
  loadAssets,
  type NodeServer,
  parseJsonBody,
  type RunningServer,
  STREAM_RETRY_MS,
  type StartOptions,
} from '@sse/example-shared'
import { sse, sseHub } from '@sse/hono'
import { Hono } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'

/** The Hono app on `demo`, without a server. */
export function buildApp(demo: Demo = createDemo({ framework: 'Hono' })): Hono {
  const app = new Hono()

  for (const asset of loadAssets())
    app.get(asset.path, (c) => c.body(new Uint8Array(asset.body), 200, asset.headers))

  app.get('/events', sseHub(demo.hubOptions((c) => c.req.queries('topics'))))

  app.get('/clock', (c) => sse<DemoEvents>(c, (stream) => demo.runClock(stream), { retry: STREAM_RETRY_MS }))
  app.get('/story', (c) =>
    sse<DemoEvents>(c, (stream) => void demo.tellStory(stream, c.req.query('words')), {
      retry: STREAM_RETRY_MS,
    }),
  )

  app.post('/notify', async (c) => {
    const body = parseJsonBody(c.req.header('Content-Type'), await c.req.text())
    const answer: JsonAnswer = body.ok
      ? await demo.notify(body.value)
      : { status: body.status ?? 400, body: { error: body.error } }
    return c.json(answer.body, answer.status as ContentfulStatusCode)
  })

  app.get('/health', (c) => {
    const answer = demo.health()
    return c.json(answer.body, answer.status as ContentfulStatusCode)
  })

  return app
}

/** Starts the app on a port with `@hono/node-server`; with `tls`, HTTPS with HTTP/2 (and HTTP/1.1). */
export function startServer(options: StartOptions & { demo?: Demo | undefined }): Promise<RunningServer> {
  const demo = options.demo ?? createDemo({ framework: 'Hono' })
  const { fetch } = buildApp(demo)
  const server = options.tls
    ? createAdaptorServer({
        fetch,
        createServer: http2.createSecureServer,
        serverOptions: { key: options.tls.key, cert: options.tls.cert, allowHTTP1: true },
      })
    : createAdaptorServer({ fetch })
  return listenGracefully(server as NodeServer, options, () => demo.close())
}
