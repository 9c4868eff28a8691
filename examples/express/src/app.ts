/**
 * The live demo on Express 5 with `@sse/express`. `buildApp(demo)` only routes; the demo's state
 * (hub, clocks, validation) is shared by every example (`@sse/example-shared`).
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
import {
  createDemo,
  type Demo,
  type DemoEvents,
  listenGracefully,
  loadAssets,
  type RunningServer,
  STREAM_RETRY_MS,
  type StartOptions,
} from '@sse/example-shared'
import { sse, sseHub } from '@sse/express'
import express, { type ErrorRequestHandler, type Express } from 'express'

/** The Express app on `demo`, without listening. */
export function buildApp(demo: Demo = createDemo({ framework: 'Express' })): Express {
  const app = express()

  for (const asset of loadAssets())
    app.get(asset.path, (_req, res) => res.set(asset.headers).send(asset.body))

  app.get('/events', sseHub(demo.hubOptions((req) => req.query.topics as string | string[] | undefined)))

  app.get('/clock', (req, res) => demo.runClock(sse<DemoEvents>(req, res, { retry: STREAM_RETRY_MS })))

  app.get('/story', (req, res) => {
    void demo.tellStory(
      sse<DemoEvents>(req, res, { retry: STREAM_RETRY_MS }),
      req.query.words as string | undefined,
    )
  })

  app.post('/notify', express.json({ limit: '16kb' }), async (req, res) => {
    const answer = await demo.notify(req.body)
    res.status(answer.status).json(answer.body)
  })

  app.get('/health', (_req, res) => {
    const answer = demo.health()
    res.status(answer.status).json(answer.body)
  })

  // Body-parser errors (bad JSON, a body too large) carry their status: answer them as JSON too.
  const onError: ErrorRequestHandler = (error, _req, res, _next) => {
    if (typeof error?.status !== 'number' || error.status >= 500) {
      console.error(error)
      res.status(500).json({ error: 'internal error' })
      return
    }
    const message =
      error.type === 'entity.parse.failed' ? `the body is not valid JSON: ${error.message}` : error.message
    res.status(error.status).json({ error: message })
  }
  app.use(onError)
  return app
}

/**
 * Starts the app on a port. Express runs on `node:http` only (it cannot serve HTTP/2), so `tls`
 * is refused; `server.ts` says so when `HTTPS=1`.
 */
export function startServer(options: StartOptions & { demo?: Demo | undefined }): Promise<RunningServer> {
  if (options.tls)
    throw new Error('Express cannot serve HTTP/2: use examples/fastify, koa or hono for HTTPS=1')
  const demo = options.demo ?? createDemo({ framework: 'Express' })
  return listenGracefully(http.createServer(buildApp(demo)), options, () => demo.close())
}
