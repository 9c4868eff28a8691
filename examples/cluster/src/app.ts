/**
 * One instance of the cluster's app: an Express app on a hub whose broker is Redis, so that
 * every instance started with the same Redis and prefix is one hub. Publish on any instance,
 * deliver on every instance, replay on whichever instance a client reconnects to.
 *
 * - `GET /events?topics=a,b` streams the topics' events (`sseHub` from `@sse/express`).
 * - `POST /notify` with JSON `{ topic, message }` publishes a `notification` event; 201 with its id,
 *   400 naming what is wrong with the body, 503 while Redis is unreachable (nothing was published).
 * - `GET /health` names the instance (every response also carries `X-Instance`).
 * - `GET /metrics` is this instance's hub metrics (`@sse/metrics`), labelled `instance`: Prometheus
 *   scrapes each instance at its own address, not through nginx, and adds them up.
 * - `POST /admin/disconnect` `{ user }` closes that user's streams on every instance; `GET /presence`
 *   counts the page topic's streams on every instance (see `revoke-presence.ts`).
 * - `GET /` is a live page: the notifications, the connection state, a form to publish.
 *
 * `buildApp` does not listen (tests run it on port 0); `instance.ts` runs it as a process.
 */
import { describeInvalidTopic, type Hub, isSseError } from '@sse/core'
import { sseHub } from '@sse/express'
import { registerHubMetrics } from '@sse/metrics'
import express, { type ErrorRequestHandler, type Express } from 'express'
import { Registry } from 'prom-client'
import { PAGE } from './page.ts'
import { addRevokeAndPresence, authorizeUser } from './revoke-presence.ts'

/** The topic a stream gets when it names none, and the page's topic. */
export const DEFAULT_TOPIC = 'notifications'

/** Longest notification message, in UTF-16 code units. */
export const MAX_MESSAGE_LENGTH = 2000

/** The event type of published notifications; its data is `{ message, instance }`. */
export const NOTIFICATION_EVENT = 'notification'

/** What a notification event carries. */
export interface Notification {
  readonly message: string
  /** The instance that published it. */
  readonly instance: string
}

export interface ClusterAppOptions {
  /** A hub whose broker is a `RedisBroker` (any hub works; Redis is what makes the instances one). */
  hub: Hub
  /** This instance's name, shown by `/health` and the `X-Instance` header. */
  instance: string
  /** Reconnection delay (ms) sent to each client when its stream opens. Default: the client's own. */
  retryMs?: number | undefined
}

/** Why `body` is not a valid notification, or `undefined` when it is. */
export function describeInvalidNotification(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return 'the body must be a JSON object { "topic": string, "message": string }'
  }
  const { topic, message } = body as { topic?: unknown; message?: unknown }
  const topicProblem = describeInvalidTopic(topic)
  if (topicProblem) return `"topic": ${topicProblem}`
  if (typeof message !== 'string' || message.trim() === '' || message.length > MAX_MESSAGE_LENGTH) {
    return `"message" must be a non-blank string of at most ${MAX_MESSAGE_LENGTH} characters, got ${JSON.stringify(message)?.slice(0, 80)}`
  }
  return undefined
}

/** The topics of `GET /events?topics=a,b` (or `?topics=a&topics=b`); the default topic when none. */
function topicsOf(query: unknown): string[] {
  const values = Array.isArray(query) ? query : [query ?? DEFAULT_TOPIC]
  return values.flatMap((value) => String(value).split(','))
}

/**
 * The app of one instance.
 *
 * @example
 * const broker = new RedisBroker({ redis: process.env.REDIS_URL, prefix: 'sse:cluster' })
 * const hub = createHub({ broker })
 * await broker.ready()
 * buildApp({ hub, instance: 'a' }).listen(3001)
 */
export function buildApp({ hub, instance, retryMs }: ClusterAppOptions): Express {
  const app = express()
  app.disable('x-powered-by')
  // nginx, on this host, says who the client is in X-Forwarded-For. Trusting it makes `req.ip` the
  // browser's address, which `sseHub` keys its per-client limit by (maxStreamsPerKey); without it
  // every browser would share nginx's address, and one limit.
  app.set('trust proxy', 'loopback')

  app.use((_req, res, next) => {
    res.set('X-Instance', instance)
    next()
  })

  app.get('/', (_req, res) => {
    res.type('html').send(PAGE.replaceAll('{{instance}}', instance))
  })

  app.get('/health', (_req, res) => {
    res.json({ ok: true, instance, streams: hub.size })
  })

  const metrics = new Registry()
  metrics.setDefaultLabels({ instance })
  registerHubMetrics(hub, { registry: metrics, topics: [DEFAULT_TOPIC] })
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.contentType).send(await metrics.metrics())
  })

  app.get(
    '/events',
    sseHub({ hub, retry: retryMs, topics: (req) => topicsOf(req.query.topics), authorize: authorizeUser }),
  )
  addRevokeAndPresence(app, { hub, instance, topic: DEFAULT_TOPIC })

  app.post('/notify', express.json({ limit: '16kb' }), async (req, res) => {
    const problem = describeInvalidNotification(req.body)
    if (problem) {
      res.status(400).json({ error: problem })
      return
    }
    const { topic, message } = req.body as { topic: string; message: string }
    const data: Notification = { message, instance }
    try {
      const id = await hub.publish(topic, { event: NOTIFICATION_EVENT, data })
      res.status(201).json({ id, instance })
    } catch (error) {
      if (isSseError(error, 'SSE_BROKER_BUSY')) {
        // A burst past the broker's queue: this one was never sent, so a retry cannot show twice.
        res
          .status(503)
          .set('Retry-After', '1')
          .json({
            error: `instance ${instance} has too many notifications in flight; retry in a moment`,
            code: error.code,
          })
        return
      }
      if (!isSseError(error, 'SSE_BROKER_UNAVAILABLE')) throw error
      // Nothing is queued: the caller decides whether to retry. (When Redis was only slow, or went
      // down while storing it, the event may be stored and delivered though unconfirmed: use an id
      // of your own in the data if a retry must not show twice.)
      res
        .status(503)
        .set('Retry-After', '1')
        .json({
          error:
            `Redis is unreachable from instance ${instance}: the notification was not confirmed, and is most ` +
            'likely not published (it may still be, if Redis was only slow or went down while storing it). ' +
            'Retry in a moment.',
          code: error.code,
        })
    }
  })

  const onError: ErrorRequestHandler = (error, _req, res, next) => {
    if (res.headersSent) {
      next(error)
      return
    }
    const status = typeof error?.status === 'number' && error.status < 500 ? error.status : 500
    if (status === 500) console.error(`[instance ${instance}]`, error)
    // express.json() reports a malformed or too large body with a 4xx status and a message.
    const message =
      status === 500
        ? 'internal error'
        : error.type === 'entity.parse.failed'
          ? `the body is not a JSON object (${error.message}); send { "topic": string, "message": string }`
          : String(error.message)
    res.status(status).json({ error: message })
  }
  app.use(onError)
  return app
}
