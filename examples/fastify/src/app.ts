/**
 * The live demo on Fastify 5 with `@sse/fastify`, over HTTP/1.1 or, with a certificate, over
 * HTTPS with HTTP/2 (HTTP/1.1 still offered to older clients). `buildApp(demo)` only routes; the
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
 *
 * `ssePlugin` does the graceful shutdown: on `app.close()` it closes the demo (hub and clocks),
 * every stream still open and their HTTP/2 sessions, so close completes at once.
 */
import {
  type Certificate,
  createDemo,
  type Demo,
  type DemoEvents,
  loadAssets,
  MAX_BODY_BYTES,
  type RunningServer,
  STREAM_RETRY_MS,
  type StartOptions,
  urlOf,
} from '@sse/example-shared'
import { sseHub, ssePlugin } from '@sse/fastify'
import Fastify, { type FastifyInstance, type RawServerBase } from 'fastify'

export interface BuildOptions {
  /** Serve HTTPS with HTTP/2 (and HTTP/1.1) with this certificate. */
  readonly tls?: Certificate | undefined
}

type TopicsQuery = { topics?: string | string[] }

/** The Fastify app on `demo`, without listening. */
export function buildApp(
  demo: Demo = createDemo({ framework: 'Fastify' }),
  options: BuildOptions = {},
): FastifyInstance<RawServerBase> {
  const common = { bodyLimit: MAX_BODY_BYTES, forceCloseConnections: true } as const
  const app = (options.tls
    ? Fastify({
        ...common,
        http2: true,
        https: { key: options.tls.key, cert: options.tls.cert, allowHTTP1: true },
      })
    : Fastify(common)) as unknown as FastifyInstance<RawServerBase>

  app.register(ssePlugin, { hub: { close: () => demo.close() } })

  for (const asset of loadAssets())
    app.get(asset.path, (_request, reply) => reply.headers(asset.headers).send(asset.body))

  app.get('/events', sseHub(demo.hubOptions((request) => (request.query as TopicsQuery).topics)))

  app.get('/clock', (_request, reply) => {
    demo.runClock(reply.sse<DemoEvents>({ retry: STREAM_RETRY_MS }))
  })

  app.get<{ Querystring: { words?: string } }>('/story', (request, reply) => {
    void demo.tellStory(reply.sse<DemoEvents>({ retry: STREAM_RETRY_MS }), request.query.words)
  })

  app.post('/notify', async (request, reply) => {
    const answer = await demo.notify(request.body)
    return reply.code(answer.status).send(answer.body)
  })

  app.get('/health', async (_request, reply) => {
    const answer = demo.health()
    return reply.code(answer.status).send(answer.body)
  })

  // Fastify's own 4xx (bad JSON, wrong content type, a body too large) in the same shape as ours.
  app.setErrorHandler((error: { code?: string; statusCode?: number; message: string }, request, reply) => {
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return reply.code(400).send({ error: 'send the body as JSON, with Content-Type: application/json' })
    }
    if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
      return reply.code(400).send({ error: `the body is not valid JSON: ${error.message}` })
    }
    if (error.statusCode !== undefined && error.statusCode < 500) {
      return reply.code(error.statusCode).send({ error: error.message })
    }
    request.log.error(error)
    return reply.code(500).send({ error: 'internal error' })
  })
  return app
}

/** Starts the app on a port; with `tls`, HTTPS with HTTP/2. */
export async function startServer(
  options: StartOptions & { demo?: Demo | undefined },
): Promise<RunningServer> {
  const app = buildApp(options.demo ?? createDemo({ framework: 'Fastify' }), { tls: options.tls })
  const host = options.host ?? '::'
  await app.listen({ port: options.port, host })
  const { url, port } = urlOf(app.server as Parameters<typeof urlOf>[0], options.host)
  return { url, port, close: () => app.close() }
}
