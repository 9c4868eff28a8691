/**
 * `EventStream`: one open event-stream response. It frames events, commits headers at once,
 * and owns a bounded outbound queue so one slow client can never hold unbounded memory or stall
 * a publisher.
 *
 * Backpressure: while the sink reports full (`write()` returned false), frames queue up to
 * `maxBufferedBytes`; on drain the whole queue goes out as one write. Past the cap the
 * `onOverflow` policy applies: `'close'` (default: the client reconnects with `Last-Event-ID`
 * and a hub replays what it missed, so memory stays bounded and nothing is lost) or `'drop'`
 * (the event is dropped for this client; for volatile data such as cursor positions).
 */
import { SseError } from './errors.ts'
import type { DefaultEventMap, TypedEvent } from './event-map.ts'
import { encodeFrame, formatComment, formatEvent, type Serializer, type SseEvent } from './format.ts'
import { DEFAULT_HEARTBEAT_MS, type Heartbeat, type HeartbeatMember, sharedHeartbeat } from './heartbeat.ts'
import { readLastEventId } from './last-event-id.ts'
import { reportError } from './report-error.ts'
import { SSE_HEADERS, type SseSink } from './sink.ts'
import { defaultTimers, type TimerProvider } from './timers.ts'

/** The default per-stream queue cap: 256 KiB. */
export const DEFAULT_MAX_BUFFERED_BYTES: number = 256 * 1024

/** What a stream does when its queue would pass `maxBufferedBytes`. */
export type OverflowPolicy = 'close' | 'drop'

/** Why a stream ended: the client left, the server closed it, or it overflowed under `'close'`. */
export type CloseReason = 'client' | 'server' | 'overflow'

export interface EventStreamOptions {
  /** The request's raw `Last-Event-ID` header; read with `readLastEventId` (a bad value counts as absent). */
  lastEventId?: string | readonly string[] | null | undefined
  /** Extra response headers (CORS and the like), sent with the SSE headers. */
  headers?: Readonly<Record<string, string>> | undefined
  /** Cap of the outbound queue in bytes, while the client reads slowly. Default 256 KiB. */
  maxBufferedBytes?: number | undefined
  /** Policy past the cap. Default `'close'`. */
  onOverflow?: OverflowPolicy | undefined
  /** Heartbeat interval in ms, or `false` for none. Default 15 000. Ignored while a hub drives the stream. */
  heartbeat?: number | false | undefined
  /** Reconnection delay (ms) sent to the client as the first frame. */
  retry?: number | undefined
  /** Turns non-string `data` into a string. Default `JSON.stringify`. */
  serializer?: Serializer | undefined
  /** Timers for the heartbeat (tests inject fakes). */
  timers?: TimerProvider | undefined
  /** Called once when the stream ends, whatever the reason. */
  onClose?: ((reason: CloseReason) => void) | undefined
}

/** One open event-stream response. */
export interface EventStream<M extends object = DefaultEventMap> {
  /**
   * Sends one event. Throws `SseError` for invalid input (nothing is written then). Returns
   * `false` when the event was not taken: the stream is closed, or it was dropped under `'drop'`.
   */
  send(event: SendEvent<M>): boolean
  /** Sends a comment (ignored by clients, keeps proxies from timing out). */
  comment(text?: string): boolean
  /** Ends the response. Idempotent. */
  close(): void
  /** Registers a listener for the end of the stream; returns a function that removes it. */
  onClose(listener: (reason: CloseReason) => void): () => void
  /** The client's `Last-Event-ID`, decoded, or `undefined` when absent or unusable. */
  readonly lastEventId: string | undefined
  /** Aborts when the stream ends: client gone, `close()`, or overflow. */
  readonly signal: AbortSignal
  /** Bytes queued in core while the client reads slowly (the transport's own buffer not included). */
  readonly bufferedBytes: number
  /** Events dropped under the `'drop'` policy. */
  readonly droppedEvents: number
  readonly closed: boolean
}

/** What `send` accepts: a typed event, plus the optional `id` and `retry` fields. */
export type SendEvent<M extends object> = string extends keyof M
  ? SseEvent
  : TypedEvent<M> & { id?: string; retry?: number }

/** @internal What a hub implements to learn that a stream closed. */
export interface StreamOwner {
  streamClosed(stream: EventStreamImpl<object>, reason: CloseReason): void
}

const NO_LISTENERS: ReadonlyArray<(reason: CloseReason) => void> = Object.freeze([])

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
  readonly #sink: SseSink
  readonly #maxBufferedBytes: number
  readonly #policy: OverflowPolicy
  readonly #serializer: Serializer | undefined
  /** Replaced, never grown in place: a pushed-to array reserves 17 slots, and most streams have one listener. */
  #listeners: ReadonlyArray<(reason: CloseReason) => void>
  /** Created on the first backpressure; most streams never need it. */
  #queue: Uint8Array[] | undefined
  #queuedBytes = 0
  #blocked = false
  #closed = false
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
    const policy = options.onOverflow ?? 'close'
    if (policy !== 'close' && policy !== 'drop') {
      throw new SseError('SSE_INVALID_OPTION', `onOverflow must be 'close' or 'drop', got ${String(policy)}`)
    }
    const prelude = encodeFrame(
      options.retry === undefined ? formatComment() : formatEvent({ retry: options.retry }),
    )
    this.#sink = sink
    this.#maxBufferedBytes = max
    this.#policy = policy
    this.#serializer = options.serializer
    this.lastEventId = readLastEventId(options.lastEventId)
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
      this.#ownHeartbeat = sharedHeartbeat(
        options.heartbeat ?? DEFAULT_HEARTBEAT_MS,
        options.timers ?? defaultTimers,
      )
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

  /** @internal True while the sink is full: frames queue instead of being written. */
  get blocked(): boolean {
    return this.#blocked
  }

  send(event: SendEvent<M>): boolean {
    if (this.#closed) return false
    return this.writeFrame(encodeFrame(formatEvent(event as SseEvent, this.#serializer)))
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
      if (!this.#sink.write(frame)) this.#blocked = true
      this.#sink.flush?.()
      return true
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

  #drain(): void {
    if (this.#closed) return
    this.#blocked = false
    if (this.#queue === undefined || this.#queue.length === 0) return
    const chunk = concat(this.#queue, this.#queuedBytes)
    this.#queue = undefined
    this.#queuedBytes = 0
    if (!this.#sink.write(chunk)) this.#blocked = true
    this.#sink.flush?.()
  }

  #finish(reason: CloseReason): void {
    if (this.#closed) return
    this.#closed = true
    // Events `send()` accepted are delivered on a server close (a last `done`, a hub's final
    // event and retry); a client gone or an overflow has nobody, or no room, to take them.
    if (reason === 'server' && this.#queue) {
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
