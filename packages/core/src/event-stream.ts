/**
 * `EventStream`: one open event-stream response. It frames events, commits headers at once,
 * and paces what it writes to what the client reads.
 *
 * Flow control is judged by progress, not by one instant's queue size:
 * - While the sink reports full (`write()` returned false) the stream is *congested*: frames
 *   queue in core, and on drain the whole queue goes out as one write. A producer that awaits
 *   `ready()` (or a hub publisher that awaits `hub.ready()`) waits here, so a reader that reads at
 *   full speed is never cut, however much is sent.
 * - A stream that stays congested for `slowAfterMs` with no drain at all is *slow*: the client
 *   stalled. Under `onOverflow: 'close'` (default) it is closed with reason `'slow'` (the client
 *   reconnects with `Last-Event-ID` and a hub replays what it missed); under `'drop'` it drops
 *   events until it drains again (for volatile data such as cursor positions).
 * - `maxBufferedBytes` is the memory guarantee for producers that ignore backpressure: a queue
 *   that would pass it closes the stream with reason `'overflow'` (or drops, under `'drop'`).
 */
import { SseError } from './errors.ts'
import type { DefaultEventMap, TypedEvent } from './event-map.ts'
import {
  encodeFrame,
  eventTooLarge,
  formatComment,
  formatEvent,
  maxEventBytesOption,
  type Serializer,
  type SseEvent,
} from './format.ts'
import { DEFAULT_HEARTBEAT_MS, type Heartbeat, type HeartbeatMember, sharedHeartbeat } from './heartbeat.ts'
import { readLastEventId } from './last-event-id.ts'
import { reportError } from './report-error.ts'
import { SSE_HEADERS, type SseSink } from './sink.ts'
import { defaultTimers, type TimerProvider } from './timers.ts'

/**
 * The default per-stream queue cap: 1 MiB. Only a producer that ignores backpressure reaches it;
 * one that awaits `ready()` keeps the queue empty (its writes go straight to the transport).
 */
export const DEFAULT_MAX_BUFFERED_BYTES: number = 1024 * 1024

/** The default time a stream may stay congested without any progress before it is slow: 5 s. */
export const DEFAULT_SLOW_AFTER_MS = 5000

/** What a stream does once it is slow, or when its queue would pass `maxBufferedBytes`. */
export type OverflowPolicy = 'close' | 'drop'

/**
 * Why a stream ended: the client left, the server closed it, it stayed congested past
 * `slowAfterMs` (`'slow'`), its queue passed `maxBufferedBytes` (`'overflow'`), under `'close'`,
 * or a hub's `revoke()` took its access away (`'revoked'`).
 */
export type CloseReason = 'client' | 'server' | 'slow' | 'overflow' | 'revoked'

export interface EventStreamOptions {
  /** The request's raw `Last-Event-ID` header; read with `readLastEventId` (a bad value counts as absent). */
  lastEventId?: string | readonly string[] | null | undefined
  /** Extra response headers (CORS and the like), sent with the SSE headers. */
  headers?: Readonly<Record<string, string>> | undefined
  /** Cap of the outbound queue in bytes: the memory guarantee against producers that ignore backpressure. Default 1 MiB. */
  maxBufferedBytes?: number | undefined
  /** How long (ms) the stream may stay congested with no drain before it is judged slow. Default 5000. */
  slowAfterMs?: number | undefined
  /** Policy for a slow stream and past the cap: `'close'` it (default) or `'drop'` events. */
  onOverflow?: OverflowPolicy | undefined
  /**
   * Largest event `send()` takes, in bytes of UTF-8 as framed (`id:`, `event:`, `data:` lines);
   * a larger one throws `SSE_EVENT_TOO_LARGE` and nothing is written. Default 1 MiB.
   */
  maxEventBytes?: number | undefined
  /** Heartbeat interval in ms, or `false` for none. Default 15 000. Ignored while a hub drives the stream. */
  heartbeat?: number | false | undefined
  /** Reconnection delay (ms) sent to the client as the first frame. */
  retry?: number | undefined
  /** Turns non-string `data` into a string. Default `JSON.stringify`. */
  serializer?: Serializer | undefined
  /** Timers for the heartbeat and the slowness check (tests inject fakes). */
  timers?: TimerProvider | undefined
  /** Called once when the stream ends, whatever the reason. */
  onClose?: ((reason: CloseReason) => void) | undefined
}

/** One open event-stream response. */
export interface EventStream<M extends object = DefaultEventMap> {
  /**
   * Sends one event. Throws `SseError` for invalid input, or `SSE_EVENT_TOO_LARGE` past
   * `maxEventBytes` (nothing is written then). Returns
   * `false` when the event was not taken: the stream is closed, or it was dropped under `'drop'`.
   */
  send(event: SendEvent<M>): boolean
  /** Sends a comment (ignored by clients, keeps proxies from timing out). */
  comment(text?: string): boolean
  /** Ends the response. Idempotent. */
  close(): void
  /** Registers a listener for the end of the stream; returns a function that removes it. */
  onClose(listener: (reason: CloseReason) => void): () => void
  /**
   * Resolves `true` once the stream can take more (at once when it is not congested), `false`
   * once it is closed (see `closeReason`). Never rejects. A producer that awaits it before each
   * `send` never queues more than one event in core.
   *
   * @example
   * for await (const token of answer) {
   *   if (!(await stream.ready())) break // the client left, or stalled past slowAfterMs
   *   stream.send({ event: 'token', data: token })
   * }
   */
  ready(): Promise<boolean>
  /** Why the stream ended, once it has. */
  readonly closeReason: CloseReason | undefined
  /** The client's `Last-Event-ID`, decoded, or `undefined` when absent or unusable. */
  readonly lastEventId: string | undefined
  /** Aborts when the stream ends: client gone, `close()`, slow or overflow. */
  readonly signal: AbortSignal
  /** Bytes queued in core while the client reads slowly (the transport's own buffer not included). */
  readonly bufferedBytes: number
  /** Events dropped under the `'drop'` policy. */
  readonly droppedEvents: number
  /** True while the transport is full and frames queue in core. */
  readonly congested: boolean
  readonly closed: boolean
}

/** What `send` accepts: a typed event, plus the optional `id` and `retry` fields. */
export type SendEvent<M extends object> = string extends keyof M
  ? SseEvent
  : TypedEvent<M> & { id?: string; retry?: number }

/** @internal What a hub implements to learn that a stream closed, or changed its pace. */
export interface StreamOwner {
  streamClosed(stream: EventStreamImpl<object>, reason: CloseReason): void
  /** The stream became congested (`true`), or caught up or was judged slow (`false`). */
  streamPaced(stream: EventStreamImpl<object>, holding: boolean): void
}

const NO_LISTENERS: ReadonlyArray<(reason: CloseReason) => void> = Object.freeze([])
const READY: Promise<boolean> = Promise.resolve(true)
const NOT_READY: Promise<boolean> = Promise.resolve(false)

/** `base` overridden by `extra`, header names compared case-insensitively (one `Cache-Control`, never two). */
function mergeHeaders(
  base: Readonly<Record<string, string>>,
  extra: Readonly<Record<string, string>>,
): Record<string, string> {
  const overridden = new Set(Object.keys(extra).map((name) => name.toLowerCase()))
  const merged: Record<string, string> = {}
  for (const [name, value] of Object.entries(base))
    if (!overridden.has(name.toLowerCase())) merged[name] = value
  return Object.assign(merged, extra)
}

function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!
  const out = new Uint8Array(total)
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.length
  }
  return out
}

/** @internal The implementation; `Hub` writes pre-framed bytes through `writeFrame`. */
export class EventStreamImpl<M extends object = DefaultEventMap> implements EventStream<M>, HeartbeatMember {
  readonly lastEventId: string | undefined
  /**
   * @internal The client sent a `Last-Event-ID` that cannot be read (too long, not UTF-8,
   * repeated): a hub answers it with a reset rather than a silent gap.
   */
  readonly lastEventIdUnusable: boolean
  /** @internal Opened with its own `retry`: a hub leaves the client's reconnection delay alone. */
  readonly ownRetry: boolean
  readonly #sink: SseSink
  readonly #maxBufferedBytes: number
  readonly #maxEventBytes: number
  readonly #slowAfterMs: number
  readonly #timers: TimerProvider
  readonly #policy: OverflowPolicy
  readonly #serializer: Serializer | undefined
  /** Replaced, never grown in place: a pushed-to array reserves 17 slots, and most streams have one listener. */
  #listeners: ReadonlyArray<(reason: CloseReason) => void>
  /** Created on the first backpressure; most streams never need it. */
  #queue: Uint8Array[] | undefined
  #queuedBytes = 0
  #blocked = false
  /** When the stream last became congested, or made progress while congested. */
  #blockedSince = 0
  /** The slowness check is armed (one timer at a time, re-armed rather than cleared on every drain). */
  #watching = false
  /** Stayed congested past `slowAfterMs` (under `'drop'`: events are dropped until it drains). */
  #slow = false
  /** Producers awaiting `ready()`; created on the first wait. */
  #waiters: Array<(ready: boolean) => void> | undefined
  #closed = false
  #closeReason: CloseReason | undefined
  #active = false
  #dropped = 0
  #heartbeat: Heartbeat | undefined
  /** The hub this stream is subscribed to: told of the close without a closure per stream. */
  #owner: StreamOwner | undefined
  #ownHeartbeat: Heartbeat | undefined

  constructor(sink: SseSink, options: EventStreamOptions = {}) {
    const max = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES
    if (!Number.isFinite(max) || max < 0) {
      throw new SseError('SSE_INVALID_OPTION', `maxBufferedBytes must be a non-negative number, got ${max}`)
    }
    const slowAfterMs = options.slowAfterMs ?? DEFAULT_SLOW_AFTER_MS
    if (!Number.isFinite(slowAfterMs) || slowAfterMs <= 0) {
      throw new SseError('SSE_INVALID_OPTION', `slowAfterMs must be a positive number, got ${slowAfterMs}`)
    }
    const policy = options.onOverflow ?? 'close'
    if (policy !== 'close' && policy !== 'drop') {
      throw new SseError('SSE_INVALID_OPTION', `onOverflow must be 'close' or 'drop', got ${String(policy)}`)
    }
    const maxEventBytes = maxEventBytesOption(options.maxEventBytes)
    const prelude = encodeFrame(
      options.retry === undefined ? formatComment() : formatEvent({ retry: options.retry }),
    )
    this.ownRetry = options.retry !== undefined
    this.#sink = sink
    this.#maxBufferedBytes = max
    this.#maxEventBytes = maxEventBytes
    this.#slowAfterMs = slowAfterMs
    this.#timers = options.timers ?? defaultTimers
    this.#policy = policy
    this.#serializer = options.serializer
    this.lastEventId = readLastEventId(options.lastEventId)
    const raw = options.lastEventId
    this.lastEventIdUnusable =
      this.lastEventId === undefined &&
      (Array.isArray(raw) ? raw.length > 0 : typeof raw === 'string' && raw !== '')
    this.#listeners = options.onClose ? [options.onClose] : NO_LISTENERS

    if (sink.onAbort) {
      sink.onAbort(() => this.#finish('client'))
      if (this.#closed) return
    } else {
      if (sink.signal.aborted) {
        this.#finish('client')
        return
      }
      sink.signal.addEventListener('abort', () => this.#finish('client'), { once: true })
    }
    sink.onDrain(() => this.#drain())
    sink.open({
      status: 200,
      headers: options.headers ? mergeHeaders(SSE_HEADERS, options.headers) : SSE_HEADERS,
    })
    // Something in the body right away: pushes headers through proxies and compression, so the
    // client's `open` fires now rather than with the first event.
    this.writeFrame(prelude)
    if (options.heartbeat !== false) {
      this.#ownHeartbeat = sharedHeartbeat(options.heartbeat ?? DEFAULT_HEARTBEAT_MS, this.#timers)
      this.useHeartbeat(undefined)
    }
  }

  get signal(): AbortSignal {
    // The sink's own signal: the contract has it abort when the peer leaves and after `close()`,
    // which every end of a stream calls. No second AbortController per stream.
    return this.#sink.signal
  }

  get bufferedBytes(): number {
    return this.#queuedBytes
  }

  get droppedEvents(): number {
    return this.#dropped
  }

  get closed(): boolean {
    return this.#closed
  }

  get closeReason(): CloseReason | undefined {
    return this.#closeReason
  }

  get congested(): boolean {
    return this.#blocked
  }

  /** @internal Congested and not (yet) judged slow: a paced publisher waits for it. */
  get holding(): boolean {
    return this.#blocked && !this.#slow && !this.#closed
  }

  ready(): Promise<boolean> {
    if (this.#closed) return NOT_READY
    if (!this.#blocked) return READY
    return new Promise((resolve) => {
      if (this.#waiters) this.#waiters.push(resolve)
      else this.#waiters = [resolve]
    })
  }

  send(event: SendEvent<M>): boolean {
    if (this.#closed) return false
    const text = formatEvent(event as SseEvent, this.#serializer)
    // UTF-8 takes at least a byte per UTF-16 unit: a longer string cannot fit, and is not encoded.
    if (text.length > this.#maxEventBytes) throw eventTooLarge(text.length, this.#maxEventBytes, true, 'sent')
    const frame = encodeFrame(text)
    if (frame.length > this.#maxEventBytes)
      throw eventTooLarge(frame.length, this.#maxEventBytes, false, 'sent')
    return this.writeFrame(frame)
  }

  comment(text?: string): boolean {
    if (this.#closed) return false
    return this.writeFrame(encodeFrame(formatComment(text)))
  }

  close(): void {
    this.#finish('server')
  }

  onClose(listener: (reason: CloseReason) => void): () => void {
    if (this.#closed) return () => {}
    this.#listeners = [...this.#listeners, listener]
    return () => {
      const index = this.#listeners.indexOf(listener)
      if (index >= 0) this.#listeners = this.#listeners.toSpliced(index, 1)
    }
  }

  /**
   * @internal Writes one or more complete frames. The bytes may be shared with other streams
   * and are never modified. `count` is how many events they hold, for the drop counter.
   */
  writeFrame(frame: Uint8Array, count = 1): boolean {
    if (this.#closed) return false
    this.#active = true
    if (!this.#blocked) {
      if (!this.#sink.write(frame)) this.#congest()
      this.#sink.flush?.()
      return true
    }
    if (this.#slow) {
      // Only under 'drop' (a slow stream is closed under 'close'): volatile data, skipped until it drains.
      this.#dropped += count
      return false
    }
    if (this.#queuedBytes + frame.length > this.#maxBufferedBytes) {
      if (this.#policy === 'close') {
        this.#finish('overflow')
      } else {
        this.#dropped += count
      }
      return false
    }
    if (this.#queue) this.#queue.push(frame)
    else this.#queue = [frame]
    this.#queuedBytes += frame.length
    return true
  }

  /** @internal Sets (or clears) the hub told when this stream closes. */
  setOwner(owner: StreamOwner | undefined): void {
    this.#owner = this.#closed ? undefined : owner
  }

  /** @internal The queue cap, for a hub holding entries back while it replays history. */
  get maxBufferedBytes(): number {
    return this.#maxBufferedBytes
  }

  /** @internal Closes the stream as overflowed. */
  overflow(): void {
    this.#finish('overflow')
  }

  /** @internal Closes the stream as revoked (what it was already sent still goes out). */
  revoke(): void {
    this.#finish('revoked')
  }

  /**
   * @internal Moves the stream to another heartbeat: a hub's, `null` for none, `undefined`
   * for the stream's own again.
   */
  useHeartbeat(heartbeat: Heartbeat | null | undefined): void {
    this.#heartbeat?.delete(this)
    this.#heartbeat = this.#closed
      ? undefined
      : heartbeat === undefined
        ? this.#ownHeartbeat
        : (heartbeat ?? undefined)
    this.#heartbeat?.add(this)
  }

  /** @internal Heartbeat tick: write the shared comment if idle since the last tick and not backed up. */
  onHeartbeat(frame: Uint8Array): void {
    if (this.#active) {
      this.#active = false
      return
    }
    if (this.#blocked || this.#closed) return
    this.writeFrame(frame)
    this.#active = false
  }

  /** The sink reported full: queue from now on, and watch for progress. */
  #congest(): void {
    this.#blocked = true
    this.#blockedSince = this.#timers.now()
    if (!this.#watching) this.#watch(this.#slowAfterMs)
    this.#owner?.streamPaced(this as unknown as EventStreamImpl<object>, true)
  }

  #watch(ms: number): void {
    this.#watching = true
    this.#timers.setTimeout(() => this.#checkProgress(), ms)
  }

  /**
   * The slowness check, at most one timer per stream and per `slowAfterMs`: a drain only moves
   * `#blockedSince`, and this re-arms for the rest of the limit instead of a timer per congestion.
   * A verdict waits two more turns of the event loop: after a busy or starved stretch, timers run
   * before the I/O that was due (the client's reads, then the drain they allow, a turn later when
   * client and server share a process), so only a client that truly stalled is judged.
   */
  #checkProgress(turnsLeft = 2): void {
    this.#watching = false
    if (this.#closed || !this.#blocked || this.#slow) return
    const left = this.#blockedSince + this.#slowAfterMs - this.#timers.now()
    if (left > 0) {
      this.#watch(left)
      return
    }
    if (turnsLeft > 0) {
      this.#watching = true
      this.#timers.setTimeout(() => this.#checkProgress(turnsLeft - 1), 0)
      return
    }
    this.#judgeSlow()
  }

  #judgeSlow(): void {
    if (this.#policy === 'close') {
      this.#finish('slow')
      return
    }
    this.#slow = true
    this.#owner?.streamPaced(this as unknown as EventStreamImpl<object>, false)
  }

  #drain(): void {
    if (this.#closed || !this.#blocked) return
    this.#blocked = false
    this.#slow = false
    if (this.#queue !== undefined && this.#queue.length > 0) {
      const chunk = concat(this.#queue, this.#queuedBytes)
      this.#queue = undefined
      this.#queuedBytes = 0
      if (!this.#sink.write(chunk)) {
        // Progress all the same: the client read everything before the queue.
        this.#blocked = true
        this.#blockedSince = this.#timers.now()
      }
      this.#sink.flush?.()
      if (this.#blocked) return
    }
    this.#owner?.streamPaced(this as unknown as EventStreamImpl<object>, false)
    const waiters = this.#waiters
    if (waiters) {
      this.#waiters = undefined
      for (const resolve of waiters) resolve(true)
    }
  }

  #finish(reason: CloseReason): void {
    if (this.#closed) return
    this.#closed = true
    this.#closeReason = reason
    // Events `send()` accepted are delivered on a server close (a last `done`, a hub's final
    // event and retry); a client gone or an overflow has nobody, or no room, to take them.
    if ((reason === 'server' || reason === 'revoked') && this.#queue) {
      try {
        this.#sink.write(concat(this.#queue, this.#queuedBytes))
      } catch (error) {
        reportError(error)
      }
    }
    this.#queue = undefined
    this.#queuedBytes = 0
    this.#heartbeat?.delete(this)
    this.#heartbeat = undefined
    try {
      this.#sink.close()
    } catch (error) {
      reportError(error)
    }
    const listeners = this.#listeners
    this.#listeners = NO_LISTENERS
    const owner = this.#owner
    this.#owner = undefined
    owner?.streamClosed(this as unknown as EventStreamImpl<object>, reason)
    const waiters = this.#waiters
    this.#waiters = undefined
    if (waiters) for (const resolve of waiters) resolve(false)
    for (const listener of listeners) {
      try {
        listener(reason)
      } catch (error) {
        reportError(error)
      }
    }
  }
}

/**
 * Opens an event stream on a sink: commits the SSE headers at once and returns the stream.
 *
 * @example
 * import { createEventStream } from '@sse/core'
 * import { createNodeSink } from '@sse/core/node'
 *
 * http.createServer((req, res) => {
 *   const stream = createEventStream(createNodeSink(req, res), { lastEventId: req.headers['last-event-id'] })
 *   const timer = setInterval(() => stream.send({ event: 'tick', data: new Date().toISOString() }), 1000)
 *   stream.onClose(() => clearInterval(timer))
 * })
 */
export function createEventStream<M extends object = DefaultEventMap>(
  sink: SseSink,
  options?: EventStreamOptions,
): EventStream<M> {
  return new EventStreamImpl<M>(sink, options)
}
