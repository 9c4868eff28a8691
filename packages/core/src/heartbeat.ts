/**
 * Heartbeats: one ticker for many streams, never one timer per client.
 *
 * Proxies and load balancers close connections that stay silent (nginx's `proxy_read_timeout`
 * is 60 s by default). On each tick a stream that wrote nothing since the previous tick gets a
 * shared comment frame (the same bytes for every stream); a stream under backpressure is
 * skipped, since it is not idle and more bytes would only queue. A stream therefore hears from
 * the server at least every two intervals. The ticker runs only while it has streams and is
 * `unref`'d, so it never keeps a process alive.
 * https://html.spec.whatwg.org/multipage/server-sent-events.html#authoring-notes
 */
import { SseError } from './errors.ts'
import { encodeFrame, formatComment } from './format.ts'
import { defaultTimers, type TimerHandle, type TimerProvider } from './timers.ts'

/** The default heartbeat interval: 15 s, as the spec's authoring notes suggest. */
export const DEFAULT_HEARTBEAT_MS = 15_000

/** The comment frame every heartbeat writes: `:\n\n`. One instance, shared by every stream. */
export const HEARTBEAT_FRAME: Uint8Array = encodeFrame(formatComment())

/** What a heartbeat ticks: implemented by event streams. */
export interface HeartbeatMember {
  /** Called on every tick; writes `frame` if the member has been idle since the last tick. */
  onHeartbeat(frame: Uint8Array): void
}

/** One ticker driving many members. */
export class Heartbeat {
  readonly intervalMs: number
  readonly #timers: TimerProvider
  readonly #members = new Set<HeartbeatMember>()
  #handle: TimerHandle | undefined

  constructor(intervalMs: number, timers: TimerProvider = defaultTimers) {
    if (!Number.isFinite(intervalMs) || intervalMs <= 0) {
      throw new SseError(
        'SSE_INVALID_OPTION',
        `heartbeat must be a positive number of milliseconds or false, got ${intervalMs}`,
      )
    }
    this.intervalMs = intervalMs
    this.#timers = timers
  }

  get size(): number {
    return this.#members.size
  }

  add(member: HeartbeatMember): void {
    this.#members.add(member)
    if (this.#handle === undefined)
      this.#handle = this.#timers.setInterval(() => this.tick(), this.intervalMs)
  }

  delete(member: HeartbeatMember): void {
    this.#members.delete(member)
    if (this.#members.size === 0) this.stop()
  }

  /** Runs one tick now (the ticker calls this; exposed for tests). */
  tick(): void {
    for (const member of this.#members) member.onHeartbeat(HEARTBEAT_FRAME)
  }

  /** Stops the ticker and forgets every member. */
  stop(): void {
    if (this.#handle !== undefined) this.#timers.clearInterval(this.#handle)
    this.#handle = undefined
    this.#members.clear()
  }
}

const shared = new WeakMap<TimerProvider, Map<number, Heartbeat>>()

/** The process-wide heartbeat for standalone streams with this interval and timer provider. */
export function sharedHeartbeat(intervalMs: number, timers: TimerProvider = defaultTimers): Heartbeat {
  let byInterval = shared.get(timers)
  if (!byInterval) {
    byInterval = new Map()
    shared.set(timers, byInterval)
  }
  let heartbeat = byInterval.get(intervalMs)
  if (!heartbeat) {
    heartbeat = new Heartbeat(intervalMs, timers)
    byInterval.set(intervalMs, heartbeat)
  }
  return heartbeat
}
