/**
 * Heartbeats: one ticker for many streams, never one timer per client.
 *
 * Proxies and load balancers close connections that stay silent (nginx's `proxy_read_timeout`
 * is 60 s by default). On each tick a stream that wrote nothing since the previous tick gets a
 * shared comment frame (the same bytes for every stream); a stream under backpressure is
 * skipped, since it is not idle and more bytes would only queue. A stream therefore hears from
 * the server about every two intervals. The ticker runs only while it has streams and is
 * `unref`'d, so it never keeps a process alive.
 *
 * A pass over many streams is cut into slices of `HEARTBEAT_SLICE` (64) spread over the first
 * half of the interval: a write to a socket costs 25–90 µs, so one pass over 19,500 idle streams
 * in one tick held the event loop for 0.46–1.76 s (`bench/scale.mjs`), delaying every request,
 * publish and timer of the process behind it; in slices the longest stall was about 11 ms. Each
 * stream is still visited once per interval.
 * https://html.spec.whatwg.org/multipage/server-sent-events.html#authoring-notes
 */
import { SseError } from './errors.ts'
import { encodeFrame, formatComment } from './format.ts'
import { defaultTimers, type TimerHandle, type TimerProvider } from './timers.ts'

/** The default heartbeat interval: 15 s, as the spec's authoring notes suggest. */
export const DEFAULT_HEARTBEAT_MS = 15_000

/** The comment frame every heartbeat writes: `:\n\n`. One instance, shared by every stream. */
export const HEARTBEAT_FRAME: Uint8Array = encodeFrame(formatComment())

/**
 * Streams visited in one go. A larger pass is cut into slices of this many, run one timer apart
 * over the first half of the interval (64 idle writes take 2–6 ms).
 */
export const HEARTBEAT_SLICE = 64

/** What a heartbeat ticks: implemented by event streams. */
export interface HeartbeatMember {
  /** Called on every tick; writes `frame` if the member has been idle since the last tick. */
  onHeartbeat(frame: Uint8Array): void
}

/** One ticker driving many members. */
export class Heartbeat {
  readonly intervalMs: number
  readonly #timers: TimerProvider
  readonly #sliceSize: number
  readonly #members = new Set<HeartbeatMember>()
  #handle: TimerHandle | undefined
  /**
   * The pass under way, when it is cut into slices: a live iterator over `#members` (a member
   * deleted before its turn is skipped, one added during the pass is visited at its end).
   */
  #pass: Iterator<HeartbeatMember> | undefined
  #sliceHandle: TimerHandle | undefined
  #sliceDelayMs = 0
  /** The ticker fired while a pass was still under way: the next pass starts when it ends. */
  #again = false

  /** `sliceSize` (default `HEARTBEAT_SLICE`): members visited in one go; tests pass small ones. */
  constructor(
    intervalMs: number,
    timers: TimerProvider = defaultTimers,
    sliceSize: number = HEARTBEAT_SLICE,
  ) {
    if (!Number.isFinite(intervalMs) || intervalMs <= 0) {
      throw new SseError(
        'SSE_INVALID_OPTION',
        `heartbeat must be a positive number of milliseconds or false, got ${intervalMs}`,
      )
    }
    this.intervalMs = intervalMs
    this.#timers = timers
    this.#sliceSize = Math.max(1, Math.floor(sliceSize))
  }

  get size(): number {
    return this.#members.size
  }

  add(member: HeartbeatMember): void {
    this.#members.add(member)
    if (this.#handle === undefined)
      this.#handle = this.#timers.setInterval(() => this.#beginPass(), this.intervalMs)
  }

  delete(member: HeartbeatMember): void {
    this.#members.delete(member)
    if (this.#members.size === 0) this.stop()
  }

  /** Visits every member now, in one go, and ends a sliced pass under way (exposed for tests). */
  tick(): void {
    this.#cancelSlices()
    for (const member of this.#members) member.onHeartbeat(HEARTBEAT_FRAME)
  }

  /** Stops the ticker and forgets every member. */
  stop(): void {
    if (this.#handle !== undefined) this.#timers.clearInterval(this.#handle)
    this.#handle = undefined
    this.#cancelSlices()
    this.#members.clear()
  }

  /** The ticker: a small pass in one go, a large one in slices spread over half the interval. */
  #beginPass(): void {
    if (this.#pass) {
      // Still under way (the loop was too busy to run the slices on time): no member is visited
      // twice, and none skipped; the next pass follows this one.
      this.#again = true
      return
    }
    const count = this.#members.size
    if (count <= this.#sliceSize) {
      for (const member of this.#members) member.onHeartbeat(HEARTBEAT_FRAME)
      return
    }
    const slices = Math.ceil(count / this.#sliceSize)
    this.#sliceDelayMs = Math.max(1, Math.floor(this.intervalMs / 2 / slices))
    this.#pass = this.#members.values()
    this.#slice()
  }

  #slice(): void {
    this.#sliceHandle = undefined
    const pass = this.#pass
    if (!pass) return
    for (let visited = 0; visited < this.#sliceSize; visited++) {
      const next = pass.next()
      if (next.done) {
        this.#pass = undefined
        if (this.#again) {
          this.#again = false
          this.#beginPass()
        }
        return
      }
      next.value.onHeartbeat(HEARTBEAT_FRAME)
      // That member's write may have closed the last stream, which stops the heartbeat.
      if (this.#pass !== pass) return
    }
    this.#sliceHandle = this.#timers.setTimeout(() => this.#slice(), this.#sliceDelayMs)
  }

  #cancelSlices(): void {
    if (this.#sliceHandle !== undefined) this.#timers.clearTimeout(this.#sliceHandle)
    this.#sliceHandle = undefined
    this.#pass = undefined
    this.#again = false
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
