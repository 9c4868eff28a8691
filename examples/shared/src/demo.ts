/**
 * The state behind every example app, whatever its framework: the hub the notifications go
 * through, the per-client clocks, and what `POST /notify`, `GET /health` and shutdown do. Each
 * example's `buildApp(demo)` only routes requests to it in its framework's idiom.
 */
import { type AuthorizeContext, type Broker, createHub, type EventStream, type Hub } from '@sse/core'
import { type Notification, parseNotification, parseTopics, requestedTopics } from './notification.ts'

/** The events of the demo's streams: notifications on the hub, ticks on `/clock`. */
export interface DemoEvents {
  notification: Notification
  /** The last event before the server closes the streams, so the page can say why. */
  shutdown: string
  tick: string
  /** One word of `/story`, with its position. */
  word: { n: number; word: string }
  /** The end of `/story`: how many words were sent. */
  done: { words: number }
}

/** Words `/story` streams by default, and at most (`?words=`). */
const STORY_WORDS = 2000
const MAX_STORY_WORDS = 100_000
const STORY =
  'a producer that awaits stream.ready() never buffers more than one word for a slow reader'.split(' ')

/** The reconnection delay sent on every stream, in ms: short, so a demo restart is seen at once. */
export const STREAM_RETRY_MS = 1000

/**
 * On shutdown each client gets a `retry:` drawn from this range, so that reconnects to the next
 * instance spread out instead of arriving at once. Short for a demo; see `hub.close()`.
 */
export const SHUTDOWN_RETRY = { min: 500, max: 1500 } as const

export interface DemoOptions {
  /** Shown on the page and in `/health`, e.g. `express`. */
  framework: string
  /**
   * Where history lives. A hub over the same broker resumes its ids: after a restart, pages
   * reconnecting with `Last-Event-ID` get what they missed. Default: the hub's own memory broker,
   * so a restart starts a new history (and pages get `sse-reset`).
   */
  broker?: Broker | undefined
  /** Interval of the clock, ms. Default 1000. */
  clockIntervalMs?: number | undefined
}

/** What an app answers: a status and a JSON body. */
export interface JsonAnswer {
  readonly status: number
  readonly body: Readonly<Record<string, unknown>>
}

/** What `demo.hubOptions` hands to the example's `sseHub`. */
export interface DemoHubOptions<Req> {
  readonly hub: Hub<DemoEvents>
  readonly retry: number
  topics(request: Req): string[]
  authorize(request: Req, context: AuthorizeContext): true | JsonAnswer
}

export interface Demo {
  readonly framework: string
  readonly hub: Hub<DemoEvents>
  /**
   * For `sseHub`'s `topics`: the topic names `GET /events?topics=…` asks for (both topics when
   * absent), not checked yet; `authorizeTopics` checks them.
   */
  topics(query: string | readonly string[] | null | undefined): string[]
  /**
   * For `sseHub`'s `authorize`, which is told the requested topics: `true` when every one is a
   * topic of the demo, else a 400 answer that names the unknown one.
   */
  authorizeTopics(topics: readonly string[]): true | JsonAnswer
  /**
   * `sseHub`'s options for `GET /events`: the demo's hub and `retry:`, `topics` from what
   * `topicsOf(request)` reads of the query, and `authorize` by `authorizeTopics`: unknown topics
   * are a 400 that names them (it stops the EventSource for good, as a wrong URL should).
   */
  hubOptions<Req>(
    topicsOf: (request: Req) => string | readonly string[] | null | undefined,
  ): DemoHubOptions<Req>
  /** Runs the clock on a per-client stream: a `tick` now and every second, until the stream ends. */
  runClock(stream: EventStream<DemoEvents>): void
  /**
   * Streams a story word by word on a per-client stream, as fast as the client reads and no
   * faster (each write awaits `stream.ready()`, like an LLM answer or a log tail), then `done`
   * and the end. Stops at once when the client leaves. `words` is the query's `?words=`.
   */
  tellStory(stream: EventStream<DemoEvents>, words?: string | null | undefined): Promise<void>
  /** `POST /notify` with a parsed JSON body: 201 `{ id }`, or 400 `{ error }` and nothing published. */
  notify(body: unknown): Promise<JsonAnswer>
  /** `GET /health`. */
  health(): JsonAnswer
  /** Graceful shutdown: a `shutdown` event and a spread `retry:` to every client, then every stream ends. */
  close(): Promise<void>
}

/**
 * Creates the demo's state.
 *
 * @example
 * const demo = createDemo({ framework: 'express' })
 * app.get('/clock', (req, res) => demo.runClock(sse(req, res, { retry: STREAM_RETRY_MS })))
 */
export function createDemo(options: DemoOptions): Demo {
  const hub = createHub<DemoEvents>({ broker: options.broker })
  const clocks = new Set<EventStream<DemoEvents>>()
  const stories = new Set<EventStream<DemoEvents>>()
  const interval = options.clockIntervalMs ?? 1000
  const startedAt = Date.now()
  const authorizeTopics = (topics: readonly string[]): true | JsonAnswer => {
    const parsed = parseTopics(topics)
    return parsed.ok || { status: 400, body: { error: parsed.error } }
  }

  return {
    framework: options.framework,
    hub,
    topics: requestedTopics,
    authorizeTopics,
    hubOptions(topicsOf) {
      return {
        hub,
        retry: STREAM_RETRY_MS,
        topics: (request) => requestedTopics(topicsOf(request)),
        authorize: (_request, { topics }) => authorizeTopics(topics),
      }
    },
    runClock(stream) {
      if (hub.closed) {
        stream.close()
        return
      }
      const tick = () => stream.send({ event: 'tick', data: new Date().toISOString() })
      tick()
      const timer = setInterval(tick, interval)
      clocks.add(stream)
      stream.onClose(() => {
        clearInterval(timer)
        clocks.delete(stream)
      })
    },
    async tellStory(stream, words) {
      const wanted = Number(words ?? STORY_WORDS)
      const total =
        Number.isSafeInteger(wanted) && wanted > 0 ? Math.min(wanted, MAX_STORY_WORDS) : STORY_WORDS
      if (hub.closed) {
        stream.close()
        return
      }
      stories.add(stream)
      try {
        for (let n = 0; n < total; n++) {
          if (!(await stream.ready())) return // the client left (or stalled past slowAfterMs)
          stream.send({ event: 'word', data: { n, word: STORY[n % STORY.length]! } })
        }
        if (await stream.ready()) stream.send({ event: 'done', data: { words: total } })
        stream.close()
      } finally {
        stories.delete(stream)
      }
    },
    async notify(body) {
      const parsed = parseNotification(body)
      if (!parsed.ok) return { status: 400, body: { error: parsed.error } }
      if (hub.closed) return { status: 503, body: { error: 'the server is shutting down; try again' } }
      const notification: Notification = { ...parsed.value, at: new Date().toISOString() }
      const id = await hub.publish(notification.topic, { event: 'notification', data: notification })
      return { status: 201, body: { id } }
    },
    health() {
      return {
        status: hub.closed ? 503 : 200,
        body: {
          status: hub.closed ? 'closing' : 'ok',
          framework: options.framework,
          uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
          streams: { hub: hub.size, clock: clocks.size, story: stories.size },
          published: hub.stats.published,
        },
      }
    },
    async close() {
      await hub.close({
        event: { event: 'shutdown', data: 'the server is restarting' },
        retry: SHUTDOWN_RETRY,
      })
      for (const stream of [...clocks, ...stories]) {
        stream.send({ event: 'shutdown', data: 'the server is restarting', retry: STREAM_RETRY_MS })
        stream.close()
      }
    },
  }
}
