/**
 * What both apps under test share, whatever they are built on (`@sse/hono`, or `@sse/core/web`
 * alone): one hub per process (per isolate on Workers), the per-client streams opened so far,
 * and the control routes the Node test drives them with. The control routes take a plain
 * `Request` and answer JSON, so the same code runs on every runtime.
 *
 * Routes (both apps):
 * - `GET /stream?name=N&heartbeat=MS` a per-client stream that sends nothing until told
 *   (`POST /control/send`); kept under `N`.
 * - `GET /hub?topics=a,b` a subscription to the hub.
 * - `GET /framing` a stream that sends `FRAMING_CASES` itself, then a `done` event.
 * - `GET /produce?count=N&bytes=B` a stream that sends `N` numbered events of `B` bytes itself,
 *   each after `await stream.ready()`, then `done` with the most it ever queued in core.
 * - `GET /hub-produce?count=N&bytes=B` the same through a hub of the request's own, each batch
 *   of 64 published after `await hub.ready()`: publisher backpressure within one request.
 * - `/control/*` below.
 */
import {
  createHub,
  defaultTimers,
  type EventStream,
  type Hub,
  type HubOptions,
  type TimerProvider,
  type TypedEvent,
} from '@sse/core'

/** Data the framing routes send, and what a spec parser reads back (CR and CRLF become LF). */
export const FRAMING_CASES: ReadonlyArray<readonly [sent: string, read: string]> = [
  ['plain', 'plain'],
  ['two\nlines', 'two\nlines'],
  ['crlf\r\nline', 'crlf\nline'],
  ['lone\rcr', 'lone\ncr'],
  ['trailing newline\n', 'trailing newline\n'],
  ['', ''],
  ['data: not a field', 'data: not a field'],
  ['unicode: héllo ✓ 😀 日本語', 'unicode: héllo ✓ 😀 日本語'],
  [':not a comment', ':not a comment'],
]

/** Event `seq`, `bytes` long: its number, then padding. */
export function numbered(seq: number, bytes: number): string {
  const head = `${seq}:`
  return head + 'x'.repeat(Math.max(0, bytes - head.length))
}

const json = (body: unknown, status = 200): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })

/** Sends the framing cases, then `done`. */
export function sendFraming(stream: EventStream): void {
  for (const [sent] of FRAMING_CASES) stream.send({ event: 'text', data: sent })
  stream.send({ event: 'done', data: String(FRAMING_CASES.length) })
}

/** A producer that awaits `stream.ready()` before each event. */
export async function produce(stream: EventStream, count: number, bytes: number): Promise<void> {
  let maxQueued = 0
  for (let seq = 0; seq < count; seq++) {
    if (!(await stream.ready())) return
    stream.send({ id: String(seq), data: numbered(seq, bytes) })
    maxQueued = Math.max(maxQueued, stream.bufferedBytes)
  }
  if (await stream.ready()) stream.send({ event: 'done', data: JSON.stringify({ maxQueued }) })
}

/** A hub of the stream's own request: batches of 64 publishes, each round after `await hub.ready()`. */
export async function produceThroughHub(
  hub: Hub,
  stream: EventStream,
  count: number,
  bytes: number,
): Promise<void> {
  await hub.subscribe(stream, { topics: ['bulk'] })
  let maxQueued = 0
  for (let seq = 0; seq < count && !stream.closed; ) {
    const batch: Promise<string>[] = []
    for (let i = 0; i < 64 && seq < count; i++)
      batch.push(hub.publish('bulk', { data: numbered(seq++, bytes) }))
    await Promise.all(batch)
    maxQueued = Math.max(maxQueued, stream.bufferedBytes)
    await hub.ready('bulk')
  }
  await hub.publish('bulk', { event: 'done', data: { maxQueued, stats: hub.stats } })
}

interface Tracked {
  readonly stream: EventStream
  readonly openedAt: number
  closedAt: number | undefined
}

/** The process's hub and streams, and the control routes. */
export class AppState {
  /**
   * Made on first use, inside a request: Workers forbid random values at global scope, and a
   * hub draws its epoch at random (`createHub()` at a Worker's top level throws).
   */
  #hub: Hub | undefined
  readonly streams: Map<string, Tracked> = new Map()
  readonly runtime: string
  /** What `@sse/*` resolved to in this process (the built dist, not the sources). */
  readonly resolved: Record<string, string>

  constructor(runtime: string, resolved: Record<string, string>) {
    this.runtime = runtime
    this.resolved = resolved
  }

  get hub(): Hub {
    this.#hub ??= createHub({ heartbeat: false })
    return this.#hub
  }

  /** Keeps a per-client stream under its name. */
  track(name: string | undefined, stream: EventStream): void {
    if (!name) return
    const tracked: Tracked = { stream, openedAt: Date.now(), closedAt: undefined }
    this.streams.set(name, tracked)
    stream.onClose(() => {
      tracked.closedAt = Date.now()
    })
  }

  /**
   * Per-client stream options from `?heartbeat=MS` and `?timers=request`. Streams share one
   * heartbeat ticker per timer provider; on Workers a timer lives and dies with the request that
   * set it, so there each request passes a provider of its own (`timers=request`) and gets a
   * ticker in its own request.
   */
  streamOptions(url: URL): { heartbeat: number | false; timers?: TimerProvider } {
    const heartbeat = Number(url.searchParams.get('heartbeat'))
    const own = url.searchParams.get('timers') === 'request'
    return { heartbeat: heartbeat > 0 ? heartbeat : false, ...(own ? { timers: { ...defaultTimers } } : {}) }
  }

  topicsOf(url: URL): string[] {
    return (url.searchParams.get('topics') ?? '').split(',').filter(Boolean)
  }

  #state(): Record<string, unknown> {
    const streams: Record<string, unknown> = {}
    for (const [name, { stream, closedAt }] of this.streams) {
      streams[name] = {
        closed: stream.closed,
        closeReason: stream.closeReason,
        aborted: stream.signal.aborted,
        lastEventId: stream.lastEventId ?? null,
        closedAt: closedAt ?? null,
      }
    }
    return {
      runtime: this.runtime,
      resolved: this.resolved,
      now: Date.now(),
      size: this.hub.size,
      topics: Object.fromEntries(this.hub.topics()),
      stats: this.hub.stats,
      streams,
    }
  }

  /** Answers `/control/*`; `undefined` for any other path. */
  async control(request: Request): Promise<Response | undefined> {
    const url = new URL(request.url)
    if (!url.pathname.startsWith('/control/')) return undefined
    try {
      const body = request.method === 'POST' ? ((await request.json()) as Record<string, unknown>) : {}
      switch (url.pathname) {
        case '/control/state':
          return json(this.#state())
        case '/control/hub': {
          const old = this.#hub
          this.#hub = createHub(body as HubOptions)
          await old?.close({ retry: false })
          return json({ ok: true })
        }
        case '/control/publish': {
          const ids: string[] = []
          for (const event of body.events as TypedEvent<Record<string, unknown>>[])
            ids.push(await this.hub.publish(String(body.topic), event))
          return json({ ids })
        }
        case '/control/send': {
          const tracked = this.streams.get(String(body.name))
          if (!tracked) return json({ error: `no stream named ${String(body.name)}` }, 404)
          const sent: boolean[] = []
          for (const event of (body.events ?? []) as TypedEvent<Record<string, unknown>>[])
            sent.push(tracked.stream.send(event))
          if (body.close) tracked.stream.close()
          return json({ sent })
        }
        case '/control/bulk': {
          // A publisher paced by hub.ready(): batches of 64, each round waiting for the topic's streams.
          const topic = String(body.topic)
          const count = Number(body.count)
          const bytes = Number(body.bytes)
          const started = Date.now()
          for (let seq = 0; seq < count; ) {
            const batch: Promise<string>[] = []
            for (let i = 0; i < 64 && seq < count; i++)
              batch.push(this.hub.publish(topic, { data: numbered(seq++, bytes) }))
            await Promise.all(batch)
            await this.hub.ready(topic)
          }
          return json({ published: count, ms: Date.now() - started, stats: this.hub.stats })
        }
        default:
          return json({ error: `no control route ${url.pathname}` }, 404)
      }
    } catch (error) {
      return json({ error: String((error as Error)?.stack ?? error) }, 500)
    }
  }
}
