/**
 * The client behind `connect`: the public surface (listeners, `readyState`, `lastEventId`,
 * `close()`, `for await`) and the reconnection loop, which opens one connection after another
 * (`connection.ts`) and asks the policy (`reconnect-policy.ts`) whether and when to go on.
 * Delivery is synchronous with parsing, so nothing is delivered after `close()`, not even the
 * rest of the chunk being parsed.
 * https://html.spec.whatwg.org/multipage/server-sent-events.html#sse-processing-model
 */
import type { Attempt } from './attempt.ts'
import { cancelBody } from './check-response.ts'
import type {
  CloseInfo,
  CloseReason,
  OpenInfo,
  ReadyState,
  ReconnectingInfo,
  ResetNotice,
  SseMessage,
  SseMessageOf,
} from './client-events.ts'
import type { ClientConfig } from './connect-options.ts'
import { openConnection, readEventStream } from './connection.ts'
import { decodeEvent } from './decode-event.ts'
import { callListener, Emitter, type Listener } from './emitter.ts'
import { describeCause, SseClientError } from './errors.ts'
import type { ParsedEvent } from './event-stream-parser.ts'
import { MessageQueue } from './message-queue.ts'
import { nextReconnect } from './reconnect-policy.ts'
import type { SseClient } from './sse-client.ts'
import type { ClientTimerHandle } from './timers.ts'

/** Events a `for await` loop may fall behind before reading pauses (the server sees backpressure). */
const ITERATOR_HIGH_WATER_MARK = 1024

/**
 * Made by `connect`, which resolves the options first; it starts connecting at once.
 *
 * @example
 * const source: SseClient = new Client(resolveConnectOptions('http://localhost:3000/events', {}))
 */
export class Client<M extends object> implements SseClient<M> {
  readonly url: string
  readonly #config: ClientConfig
  #state: ReadyState = 'connecting'
  #lastEventId: string
  /** The server's last `retry:`, in ms: it persists across reconnections. */
  #serverRetry: number | undefined
  /** Consecutive failed attempts. */
  #attempt = 0
  #connection: AbortController | undefined
  #wait: { handle: ClientTimerHandle; wake: () => void } | undefined
  #closeInfo: CloseInfo | undefined
  readonly #onAbort = (): void => this.#finish('abort')

  readonly #listeners = new Map<string, Emitter<SseMessage<string, unknown>>>()
  readonly #opens = new Emitter<OpenInfo>()
  readonly #reconnecting = new Emitter<ReconnectingInfo>()
  readonly #errors = new Emitter<SseClientError>()
  readonly #resets = new Emitter<ResetNotice>()
  readonly #closes = new Emitter<CloseInfo>()
  readonly #iterators = new Set<MessageQueue<SseMessageOf<M>>>()
  /** Wakes the reader paused for a lagging `for await` loop. */
  #room: (() => void) | undefined

  constructor(config: ClientConfig) {
    this.url = config.url
    this.#config = config
    this.#lastEventId = config.lastEventId
    if (config.signal?.aborted) {
      this.#finish('abort')
      return
    }
    config.signal?.addEventListener('abort', this.#onAbort, { once: true })
    this.#run().catch((error: unknown) => {
      // Only a bug of ours gets here: every expected failure is an `Attempt`.
      this.#finish('error', new SseClientError('SSE_CLIENT_NETWORK', describeCause(error), { cause: error }))
    })
  }

  /** A getter, so TypeScript does not narrow it across awaits and callbacks. */
  get #closed(): boolean {
    return this.#state === 'closed'
  }

  get readyState(): ReadyState {
    return this.#state
  }

  get lastEventId(): string {
    return this.#lastEventId
  }

  on<K extends keyof M & string>(type: K, listener: (message: SseMessage<K, M[K]>) => void): () => void {
    let emitter = this.#listeners.get(type)
    if (!emitter) {
      emitter = new Emitter()
      this.#listeners.set(type, emitter)
    }
    return emitter.add(listener as unknown as Listener<SseMessage<string, unknown>>)
  }

  onOpen(listener: Listener<OpenInfo>): () => void {
    return this.#opens.add(listener)
  }

  onReconnecting(listener: Listener<ReconnectingInfo>): () => void {
    return this.#reconnecting.add(listener)
  }

  onError(listener: Listener<SseClientError>): () => void {
    return this.#errors.add(listener)
  }

  onReset(listener: Listener<ResetNotice>): () => void {
    return this.#resets.add(listener)
  }

  onClose(listener: Listener<CloseInfo>): () => void {
    const info = this.#closeInfo
    if (!info) return this.#closes.add(listener)
    let cancelled = false
    queueMicrotask(() => {
      if (!cancelled) callListener(listener, info)
    })
    return () => {
      cancelled = true
    }
  }

  close(): void {
    this.#finish('close')
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<SseMessageOf<M>> {
    const queue: MessageQueue<SseMessageOf<M>> = new MessageQueue<SseMessageOf<M>>(
      () => this.#iterators.delete(queue) && this.close(),
      () => this.#checkRoom(),
    )
    if (this.#closeInfo) queue.end(this.#closeInfo.error)
    else this.#iterators.add(queue)
    return queue
  }

  /** One connection after another, until an attempt stops the client or the policy gives up. */
  async #run(): Promise<void> {
    while (!this.#closed) {
      const attempt = await this.#connectOnce()
      if (attempt.kind === 'closed' || this.#closed) return
      if (attempt.kind === 'stop') return this.#finish(attempt.reason, attempt.error)
      const policy = this.#config.policy
      if (!policy) return attempt.error ? this.#finish('error', attempt.error) : this.#finish('ended')
      const { openedAt } = attempt
      const next = nextReconnect(policy, {
        failures: this.#attempt,
        openedFor: openedAt === undefined ? undefined : this.#config.timers.now() - openedAt,
        serverRetry: this.#serverRetry,
        retryAfter: attempt.retryAfter,
      })
      this.#attempt = next.attempt
      if (next.giveUp) return this.#finish('error', this.#exhausted(policy.maxAttempts, attempt.error))
      this.#state = 'connecting'
      this.#reconnecting.emit({ attempt: next.attempt, delay: next.delay, error: attempt.error })
      if (this.#closed) return
      await this.#sleep(next.delay)
    }
  }

  async #connectOnce(): Promise<Attempt> {
    const controller = new AbortController()
    this.#connection = controller
    const closed = (): boolean => this.#closed
    const context = { attempt: this.#attempt, lastEventId: this.#lastEventId }
    const opened = await openConnection(this.#config, context, controller, closed)
    if (opened.kind !== 'open') return opened
    const { response } = opened
    const openedAt = this.#config.timers.now()
    this.#state = 'open'
    this.#opens.emit({ attempt: this.#attempt, status: response.status, headers: response.headers })
    if (this.#closed) {
      cancelBody(response)
      return { kind: 'closed' }
    }
    if (!response.body) return { kind: 'retry', error: undefined, openedAt }
    return readEventStream(response.body, {
      config: this.#config,
      controller,
      openedAt,
      lastEventId: this.#lastEventId,
      handlers: {
        onEvent: (event) => this.#deliver(event),
        onLastEventId: (id) => {
          if (!this.#closed) this.#lastEventId = id
        },
        onRetry: (ms) => {
          this.#serverRetry = ms
        },
      },
      closed,
      room: () => (this.#lagging() ? new Promise<void>((resolve) => (this.#room = resolve)) : undefined),
    })
  }

  #sleep(delay: number): Promise<void> {
    return new Promise<void>((wake) => {
      const handle = this.#config.timers.setTimeout(() => {
        this.#wait = undefined
        wake()
      }, delay)
      this.#wait = { handle, wake }
    })
  }

  #exhausted(maxAttempts: number, cause: SseClientError | undefined): SseClientError {
    const why = cause ? `the last one: ${cause.message}` : 'the last one ended the stream'
    return new SseClientError(
      'SSE_CLIENT_RETRIES_EXHAUSTED',
      `gave up on ${this.url} after ${maxAttempts} consecutive failed attempts (${why}); raise reconnect.maxAttempts to keep trying`,
      { cause, status: cause?.status, body: cause?.body },
    )
  }

  #deliver(event: ParsedEvent): void {
    if (this.#closed) return
    const delivery = decodeEvent(event, this.#config)
    if (delivery.kind === 'reset') this.#resets.emit(delivery.notice)
    else if (delivery.kind === 'invalid') this.#reportError(delivery.error, false)
    else {
      const { message } = delivery
      this.#listeners.get(message.type)?.emit(message)
      for (const queue of this.#iterators) queue.push(message as SseMessageOf<M>)
    }
  }

  /** Errors no one listens to are logged, never swallowed (a `for await` loop throws the one that stops it). */
  #reportError(error: SseClientError, stops: boolean): void {
    if (this.#errors.size > 0) this.#errors.emit(error)
    else if (!stops || this.#iterators.size === 0) console.error('[@sse/client]', error)
  }

  #lagging(): boolean {
    for (const queue of this.#iterators) if (queue.size >= ITERATOR_HIGH_WATER_MARK) return true
    return false
  }

  #checkRoom(): void {
    if (!this.#room || this.#lagging()) return
    const room = this.#room
    this.#room = undefined
    room()
  }

  #finish(reason: CloseReason, error?: SseClientError): void {
    if (this.#closed) return
    this.#state = 'closed'
    const info: CloseInfo = { reason, error }
    this.#closeInfo = info
    this.#config.signal?.removeEventListener('abort', this.#onAbort)
    // Also stops the connection's idle watchdog.
    this.#connection?.abort()
    this.#connection = undefined
    const wait = this.#wait
    this.#wait = undefined
    if (wait) {
      this.#config.timers.clearTimeout(wait.handle)
      wait.wake()
    }
    const room = this.#room
    this.#room = undefined
    room?.()
    if (error) this.#reportError(error, true)
    for (const queue of this.#iterators) queue.end(error)
    this.#iterators.clear()
    this.#closes.emit(info)
    this.#listeners.clear()
    for (const emitter of [this.#opens, this.#reconnecting, this.#errors, this.#resets, this.#closes]) {
      emitter.clear()
    }
  }
}
