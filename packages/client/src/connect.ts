/**
 * `connect(url, options)`: an EventSource over `fetch`, so it can send headers, any method and a
 * body, and reconnect on a policy instead of a fixed delay. The stream is parsed by
 * `eventsource-parser`; the connection follows the spec where it can
 * (https://html.spec.whatwg.org/multipage/server-sent-events.html#sse-processing-model) and
 * adds what the browser's lacks: backoff with jitter, `Retry-After`, a status policy, an idle
 * watchdog fed by heartbeat comments, typed events and async iteration.
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser'
import { SseClientError } from './errors.ts'
import {
  parseRetryAfter,
  type ReconnectOptions,
  type ReconnectPolicy,
  reconnectDelay,
  resolveReconnectPolicy,
} from './reconnect-policy.ts'
import { type ClientTimerHandle, type ClientTimers, defaultTimers, MAX_TIMER_MS } from './timers.ts'

/** The event type of `@sse/core`'s reset notice: the server could not replay from our `Last-Event-ID`. */
export const RESET_EVENT = 'sse-reset'

/** Events without a map: any type, string data. */
export type DefaultEventMap = { [type: string]: string }

/** One event from the server. */
export interface SseMessage<K extends string = string, T = string> {
  /** The `event:` field, or `'message'` when the server sent none. */
  readonly type: K
  /** The `data:` lines joined by `\n`; decoded from JSON when `json` covers this type. */
  readonly data: T
  /** The last event ID after this event (it persists across events and reconnections, as in the browser). */
  readonly lastEventId: string
}

/** Any event of the map `M`, as a union discriminated by `type`. */
export type SseMessageOf<M extends object> = { [K in keyof M & string]: SseMessage<K, M[K]> }[keyof M &
  string]

/** `'connecting'` (also while waiting to reconnect), `'open'`, or `'closed'` for good. */
export type ReadyState = 'connecting' | 'open' | 'closed'

/** Passed to `onOpen`: the response that opened the stream. */
export interface OpenInfo {
  /** Consecutive failed attempts before this one: 0 when it connected at the first try. */
  readonly attempt: number
  readonly status: number
  readonly headers: Headers
}

/** Passed to `onReconnecting`, before the wait. */
export interface ReconnectingInfo {
  /** Consecutive failed attempts, counting the one that just ended: 1, 2, 3, … (back to 1 after a healthy connection). */
  readonly attempt: number
  /** How long the client waits before reconnecting, in ms. */
  readonly delay: number
  /** Why: a network error, a retried status, an idle timeout; `undefined` when the server ended the stream. */
  readonly error: SseClientError | undefined
}

/**
 * Why the client closed: `close()` was called (or a `for await` loop was left), the `signal`
 * aborted, the server answered 204 (or 205), the stream ended with `reconnect: false`, or an error.
 */
export type CloseReason = 'close' | 'abort' | 'no-content' | 'ended' | 'error'

/** Passed to `onClose`, once. */
export interface CloseInfo {
  readonly reason: CloseReason
  /** The error that stopped the client, when `reason` is `'error'`. */
  readonly error: SseClientError | undefined
}

/**
 * The data of a reset notice (`@sse/core`'s `sse-reset` event): the events after `lastEventId`
 * cannot be replayed, so the app should refetch its state.
 */
export interface ResetNotice {
  /** `@sse/core` sends `'epoch'` (history lost), `'trimmed'` (too old) or `'unknown'`. */
  readonly reason: string
  /** The id the client had sent. */
  readonly lastEventId: string
}

/** Passed to the `headers` and `body` functions before each attempt. */
export interface RequestContext {
  /** Consecutive failed attempts so far (0 for the first connection and after a healthy one). */
  readonly attempt: number
  /** The `Last-Event-ID` this request carries (`''` for none). */
  readonly lastEventId: string
}

type HeadersLike = NonNullable<RequestInit['headers']>
type BodyLike = NonNullable<RequestInit['body']>

/** A `fetch`: the global one, a wrapper, or a test double. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>

/** The event types of `M` whose data is not a string: they must be decoded from JSON. */
export type JsonEventTypes<M extends object> = {
  [K in keyof M & string]: M[K] extends string ? never : K
}[keyof M & string]

/** `true` (every type), or the types to decode: each non-string type of the map is required. */
export type JsonOption<M extends object> =
  | true
  | ({ readonly [K in JsonEventTypes<M>]: true } & { readonly [K in keyof M & string]?: boolean })

export interface BaseConnectOptions {
  /** Default `'GET'`. */
  method?: string | undefined
  /** Request headers, or a function called before every attempt (refresh a token there). A throw stops the client. */
  headers?: HeadersLike | ((context: RequestContext) => HeadersLike | Promise<HeadersLike>) | undefined
  /** Request body, or a function called before every attempt (a stream can only be sent once). */
  body?: BodyLike | ((context: RequestContext) => BodyLike | Promise<BodyLike>) | undefined
  /** `fetch`'s `credentials` (EventSource's `withCredentials` is `'include'`). */
  credentials?: RequestInit['credentials'] | undefined
  /** Aborting it closes the client for good, as `close()` does. */
  signal?: AbortSignal | undefined
  /** The `Last-Event-ID` of the first request, to resume where a previous session stopped. */
  lastEventId?: string | undefined
  /** The reconnection policy, or `false` to connect once (the end of the stream ends the client). */
  reconnect?: ReconnectOptions | false | undefined
  /** Reconnect when nothing, not even a heartbeat comment, arrived for this long (ms). Default off (0). */
  idleTimeout?: number | undefined
  /** The longest event (or line) in characters; past it the client stops with `SSE_CLIENT_EVENT_TOO_LARGE`. Default 16 Mi. */
  maxEventSize?: number | undefined
  /** The event type delivered to `onReset` instead of as a message, or `false`. Default `'sse-reset'`. */
  resetEvent?: string | false | undefined
  /** Default: the global `fetch`, looked up at each attempt. */
  fetch?: FetchLike | undefined
  /** Default: the global timers, looked up at each use (fake timers work). */
  timers?: ClientTimers | undefined
}

/** Options of `connect<M>`: `json` is required when the map `M` has a non-string type. */
export type ConnectOptions<M extends object = DefaultEventMap> = BaseConnectOptions &
  ([JsonEventTypes<M>] extends [never]
    ? { /** Event types whose data is JSON. */ json?: JsonOption<M> | undefined }
    : { /** Event types whose data is JSON. */ json: JsonOption<M> })

/** `connect`'s arguments after the URL: the options may be left out unless the map needs `json`. */
export type ConnectArgs<M extends object> = [JsonEventTypes<M>] extends [never]
  ? [options?: ConnectOptions<M>]
  : [options: ConnectOptions<M>]

/** A connection, with reconnection, to one event stream. */
export interface SseClient<M extends object = DefaultEventMap> extends AsyncIterable<SseMessageOf<M>> {
  /** The URL requested. */
  readonly url: string
  readonly readyState: ReadyState
  /** The last event ID received (or given as `lastEventId`), sent as `Last-Event-ID` on reconnection. */
  readonly lastEventId: string
  /** Listens to events of one type (`'message'` for events without `event:`). Returns the unsubscribe. */
  on<K extends keyof M & string>(type: K, listener: (message: SseMessage<K, M[K]>) => void): () => void
  /** The stream opened (2xx, `text/event-stream`). */
  onOpen(listener: (info: OpenInfo) => void): () => void
  /** A connection failed or ended; the client waits `delay` ms, then reconnects. */
  onReconnecting(listener: (info: ReconnectingInfo) => void): () => void
  /** An error stopped the client (then `onClose`), or an event failed to decode (skipped; the stream goes on). */
  onError(listener: (error: SseClientError) => void): () => void
  /** The server could not replay from our `Last-Event-ID` (`sse-reset`): refetch the state. */
  onReset(listener: (notice: ResetNotice) => void): () => void
  /** The client closed, once. A listener added after that is called at once (in a microtask). */
  onClose(listener: (info: CloseInfo) => void): () => void
  /** Closes for good: aborts the request, cancels any wait; no event is delivered after it. Idempotent. */
  close(): void
  /**
   * Every event, in order, from the moment the iterator is made. Leaving the loop closes the
   * client. The loop ends when the client closes, after the events already received, and throws
   * the error that stopped it.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<SseMessageOf<M>>
}

/** Longest excerpt of a refused response's body kept on the error. */
const MAX_ERROR_BODY = 64 * 1024
/** How long a refused response's body may take to arrive before the error is reported without it. */
const ERROR_BODY_TIMEOUT_MS = 5000
/** Events a `for await` loop may fall behind before reading pauses (the server sees backpressure). */
const ITERATOR_HIGH_WATER_MARK = 1024
const DEFAULT_MAX_EVENT_SIZE = 16 * 1024 * 1024
/** Redirects followed in one attempt before giving up: fetch's own limit (https://fetch.spec.whatwg.org/#http-redirect-fetch). */
const MAX_REDIRECTS = 20
/** The statuses fetch follows; any other 3xx (300, 304, …) is a response like any other. */
const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308])
/** Headers that describe a body, dropped with it when a redirect turns the request into a GET. */
const BODY_HEADERS = ['content-encoding', 'content-language', 'content-location', 'content-type'] as const

/**
 * Opens an event stream and keeps it open: reconnects with `Last-Event-ID` after the stream ends
 * or the network fails, with exponential backoff and full jitter; stops on 204, on a refused
 * status (4xx other than 408/429), on a wrong Content-Type and on a redirect to another origin.
 *
 * @example
 * const source = connect<{ tick: string; price: { symbol: string; price: number } }>('/events', {
 *   headers: async () => ({ Authorization: `Bearer ${await getToken()}` }),
 *   json: { price: true },
 * })
 * source.on('price', ({ data }) => render(data.symbol, data.price))
 * source.onError((error) => console.error(error.code, error.status, error.body))
 */
export function connect<M extends object = DefaultEventMap>(
  url: string | URL,
  ...args: ConnectArgs<M>
): SseClient<M> {
  return new Client<M>(resolveUrl(url), (args[0] ?? {}) as ConnectOptions<M>)
}

/**
 * The absolute URL, resolved against the page in a browser. Checked here, because `fetch` rejects
 * a bad URL with the same `TypeError` as a network failure, which would be retried forever.
 */
function resolveUrl(url: string | URL): string {
  const base = (globalThis as { location?: { href?: string } }).location?.href
  try {
    return new URL(url, base).href
  } catch (cause) {
    const hint = base === undefined ? ' (outside a browser the URL must be absolute: http://host/path)' : ''
    throw new SseClientError(
      'SSE_CLIENT_INVALID_OPTION',
      `not a URL: ${JSON.stringify(String(url))}${hint}`,
      {
        cause,
      },
    )
  }
}

/** The request a same-origin redirect leads to. */
interface Hop {
  readonly url: string
  readonly init: RequestInit
}

/** The outcome of one attempt. */
type Attempt =
  | { readonly kind: 'closed' }
  | { readonly kind: 'stop'; readonly reason: 'no-content' | 'error'; readonly error?: SseClientError }
  | {
      readonly kind: 'retry'
      readonly error: SseClientError | undefined
      readonly retryAfter?: number | undefined
      /** When the stream opened, if it did. */
      readonly openedAt?: number | undefined
    }

type Listener<T> = (value: T) => void

function checkSize(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new SseClientError('SSE_CLIENT_INVALID_OPTION', `${name} must be a number >= 0, got ${value}`)
  }
  return value
}

/** `true` for `text/event-stream`, with any parameters and in any case (MIME essence). */
function isEventStream(contentType: string | null): boolean {
  return contentType?.split(';', 1)[0]?.trim().toLowerCase() === 'text/event-stream'
}

/**
 * A header value must be a byte string; the spec sends the last event ID as UTF-8. So each UTF-8
 * byte becomes one char (`é` → `\xC3\xA9`), and the server reads the bytes it expects.
 */
function utf8ByteString(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range is the point
  if (/^[\x00-\x7f]*$/.test(text)) return text
  let out = ''
  for (const byte of new TextEncoder().encode(text)) out += String.fromCharCode(byte)
  return out
}

function reportListenerError(error: unknown): void {
  console.error('[@sse/client] a listener threw; delivery went on:', error)
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** Reads at most `MAX_ERROR_BODY` bytes of a refused response, then cancels it. Never throws. */
async function readExcerpt(response: Response, timers: ClientTimers): Promise<string | undefined> {
  const body = response.body
  if (!body) return undefined
  const reader = body.getReader()
  const decoder = new TextDecoder()
  let text = ''
  let timer: ClientTimerHandle | undefined
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = timers.setTimeout(() => resolve('timeout'), ERROR_BODY_TIMEOUT_MS)
  })
  try {
    while (text.length < MAX_ERROR_BODY) {
      const chunk = await Promise.race([reader.read(), timeout])
      if (chunk === 'timeout' || chunk.done) break
      text += decoder.decode(chunk.value, { stream: true })
    }
    text += decoder.decode()
    return text.slice(0, MAX_ERROR_BODY)
  } catch {
    return text === '' ? undefined : text
  } finally {
    timers.clearTimeout(timer)
    reader.cancel().catch(() => {})
  }
}

function cancelBody(response: Response): void {
  response.body?.cancel().catch(() => {})
}

class Client<M extends object> implements SseClient<M> {
  readonly url: string
  readonly #method: string
  readonly #headers: BaseConnectOptions['headers']
  readonly #body: BaseConnectOptions['body']
  readonly #credentials: RequestInit['credentials'] | undefined
  readonly #signal: AbortSignal | undefined
  readonly #policy: ReconnectPolicy | undefined
  readonly #idleTimeout: number
  readonly #maxEventSize: number
  readonly #resetEvent: string | undefined
  readonly #json: true | ReadonlySet<string>
  readonly #fetch: FetchLike | undefined
  readonly #timers: ClientTimers

  #state: ReadyState = 'connecting'
  #lastEventId: string
  /** The server's last `retry:`, in ms: it persists across reconnections. */
  #serverRetry: number | undefined
  /** Consecutive failed attempts. */
  #attempt = 0
  #connection: AbortController | undefined
  /** The idle watchdog of the open connection. */
  #idle: { stop(): void } | undefined
  /** Set by the parser's guard or by dispatch; ends the connection after the current chunk. */
  #tooLarge: SseClientError | undefined
  #wait: { handle: ClientTimerHandle; wake: () => void } | undefined
  #closeInfo: CloseInfo | undefined
  readonly #onAbort = (): void => this.#finish('abort')

  readonly #listeners = new Map<string, Set<Listener<SseMessage<string, unknown>>>>()
  readonly #openListeners = new Set<Listener<OpenInfo>>()
  readonly #reconnectingListeners = new Set<Listener<ReconnectingInfo>>()
  readonly #errorListeners = new Set<Listener<SseClientError>>()
  readonly #resetListeners = new Set<Listener<ResetNotice>>()
  readonly #closeListeners = new Set<Listener<CloseInfo>>()
  readonly #iterators = new Set<MessageQueue<SseMessageOf<M>>>()
  /** Wakes the reader paused for a lagging `for await` loop. */
  #room: (() => void) | undefined

  constructor(url: string, options: ConnectOptions<M>) {
    this.url = url
    this.#method = options.method ?? 'GET'
    this.#headers = options.headers
    this.#body = options.body
    this.#credentials = options.credentials
    this.#signal = options.signal
    this.#policy = options.reconnect === false ? undefined : resolveReconnectPolicy(options.reconnect)
    this.#idleTimeout = checkSize('idleTimeout', options.idleTimeout, 0)
    this.#maxEventSize = checkSize('maxEventSize', options.maxEventSize, DEFAULT_MAX_EVENT_SIZE)
    this.#resetEvent = options.resetEvent === false ? undefined : (options.resetEvent ?? RESET_EVENT)
    const json = options.json
    this.#json =
      json === true
        ? true
        : new Set(Object.entries(json ?? {}).flatMap(([type, on]) => (on === true ? [type] : [])))
    this.#fetch = options.fetch
    this.#timers = options.timers ?? defaultTimers
    const lastEventId = options.lastEventId ?? ''
    if (/[\0\r\n]/.test(lastEventId)) {
      throw new SseClientError(
        'SSE_CLIENT_INVALID_OPTION',
        `lastEventId must not contain NUL, CR or LF (the spec's id grammar), got ${JSON.stringify(lastEventId)}`,
      )
    }
    this.#lastEventId = lastEventId

    if (this.#signal?.aborted) {
      this.#finish('abort')
      return
    }
    this.#signal?.addEventListener('abort', this.#onAbort, { once: true })
    this.#run().catch((error: unknown) => {
      // Only a bug of ours gets here: every expected failure is an `Attempt`.
      this.#finish('error', new SseClientError('SSE_CLIENT_NETWORK', describe(error), { cause: error }))
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
    let set = this.#listeners.get(type)
    if (!set) {
      set = new Set()
      this.#listeners.set(type, set)
    }
    const entry = listener as unknown as Listener<SseMessage<string, unknown>>
    set.add(entry)
    return () => {
      set.delete(entry)
    }
  }

  onOpen(listener: Listener<OpenInfo>): () => void {
    return subscribe(this.#openListeners, listener)
  }

  onReconnecting(listener: Listener<ReconnectingInfo>): () => void {
    return subscribe(this.#reconnectingListeners, listener)
  }

  onError(listener: Listener<SseClientError>): () => void {
    return subscribe(this.#errorListeners, listener)
  }

  onReset(listener: Listener<ResetNotice>): () => void {
    return subscribe(this.#resetListeners, listener)
  }

  onClose(listener: Listener<CloseInfo>): () => void {
    const info = this.#closeInfo
    if (info) {
      let cancelled = false
      queueMicrotask(() => {
        if (!cancelled) emit(new Set([listener]), info)
      })
      return () => {
        cancelled = true
      }
    }
    return subscribe(this.#closeListeners, listener)
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

  async #run(): Promise<void> {
    while (this.#state !== 'closed') {
      const attempt = await this.#connectOnce()
      if (attempt.kind === 'closed' || this.#closed) return
      if (attempt.kind === 'stop') return this.#finish(attempt.reason, attempt.error)
      const policy = this.#policy
      if (!policy) {
        return attempt.error ? this.#finish('error', attempt.error) : this.#finish('ended')
      }
      const { openedAt } = attempt
      if (openedAt !== undefined && this.#timers.now() - openedAt >= policy.healthyAfter) this.#attempt = 0
      this.#attempt++
      if (this.#attempt > policy.maxAttempts) {
        const cause = attempt.error
        const why = cause ? `the last one: ${cause.message}` : 'the last one ended the stream'
        return this.#finish(
          'error',
          new SseClientError(
            'SSE_CLIENT_RETRIES_EXHAUSTED',
            `gave up on ${this.url} after ${policy.maxAttempts} consecutive failed attempts (${why}); raise reconnect.maxAttempts to keep trying`,
            { cause, status: cause?.status, body: cause?.body },
          ),
        )
      }
      const delay = reconnectDelay(policy, {
        attempt: this.#attempt,
        serverRetry: this.#serverRetry,
        retryAfter: attempt.retryAfter,
      })
      this.#state = 'connecting'
      emit(this.#reconnectingListeners, { attempt: this.#attempt, delay, error: attempt.error })
      if (this.#closed) return
      await new Promise<void>((wake) => {
        const handle = this.#timers.setTimeout(() => {
          this.#wait = undefined
          wake()
        }, delay)
        this.#wait = { handle, wake }
      })
    }
  }

  async #connectOnce(): Promise<Attempt> {
    const controller = new AbortController()
    this.#connection = controller
    const context: RequestContext = { attempt: this.#attempt, lastEventId: this.#lastEventId }
    let init: RequestInit
    try {
      init = await this.#requestInit(context, controller.signal)
    } catch (cause) {
      if (this.#closed) return { kind: 'closed' }
      const error = new SseClientError(
        'SSE_CLIENT_REQUEST_INIT',
        `the headers or body for ${this.url} could not be made: ${describe(cause)}`,
        { cause },
      )
      return { kind: 'stop', reason: 'error', error }
    }
    if (this.#closed) return { kind: 'closed' }

    let response: Response
    let target = this.url
    for (let hops = 0; ; hops++) {
      try {
        response = await (this.#fetch ?? fetch)(target, init)
      } catch (cause) {
        if (this.#closed) return { kind: 'closed' }
        const error = new SseClientError('SSE_CLIENT_NETWORK', `fetch ${target} failed: ${describe(cause)}`, {
          cause,
        })
        return { kind: 'retry', error }
      }
      if (this.#closed) {
        cancelBody(response)
        return { kind: 'closed' }
      }
      const next = this.#redirect(response, target, init, hops)
      if (next === undefined) break
      cancelBody(response)
      if (next instanceof SseClientError) return { kind: 'stop', reason: 'error', error: next }
      target = next.url
      init = next.init
    }

    const { status } = response
    if (status === 204 || status === 205) {
      cancelBody(response)
      return { kind: 'stop', reason: 'no-content' }
    }
    if (status < 200 || status > 299) {
      if (this.#policy?.retryStatus(status) ?? false) {
        cancelBody(response)
        const retryAfter = parseRetryAfter(response.headers.get('retry-after'), this.#timers.now())
        const error = new SseClientError('SSE_CLIENT_HTTP_STATUS', `${target} answered ${status}`, {
          status,
        })
        return { kind: 'retry', error, retryAfter }
      }
      const body = await readExcerpt(response, this.#timers)
      if (this.#closed) return { kind: 'closed' }
      const retried = this.#policy === undefined && (status === 408 || status === 429 || status >= 500)
      const hint = retried
        ? 'reconnect is false, so it is not retried'
        : 'not retried: fix the request (a 401 or 403 usually means refresh the credentials), or accept the status in reconnect.retryStatus'
      const error = new SseClientError('SSE_CLIENT_HTTP_STATUS', `${target} answered ${status}; ${hint}`, {
        status,
        body,
      })
      return { kind: 'stop', reason: 'error', error }
    }
    const contentType = response.headers.get('content-type')
    if (!isEventStream(contentType)) {
      const body = await readExcerpt(response, this.#timers)
      if (this.#closed) return { kind: 'closed' }
      const error = new SseClientError(
        'SSE_CLIENT_CONTENT_TYPE',
        `${target} answered ${status} with Content-Type ${JSON.stringify(contentType ?? '')}, not text/event-stream: is this the event stream's URL?`,
        { status, body },
      )
      return { kind: 'stop', reason: 'error', error }
    }

    const openedAt = this.#timers.now()
    this.#state = 'open'
    emit(this.#openListeners, { attempt: this.#attempt, status, headers: response.headers })
    if (this.#closed) {
      cancelBody(response)
      return { kind: 'closed' }
    }
    if (!response.body) return { kind: 'retry', error: undefined, openedAt }
    return this.#read(response.body, controller, openedAt)
  }

  async #requestInit(context: RequestContext, signal: AbortSignal): Promise<RequestInit> {
    const source = typeof this.#headers === 'function' ? await this.#headers(context) : this.#headers
    const headers = new Headers(source)
    if (!headers.has('accept')) headers.set('accept', 'text/event-stream')
    if (context.lastEventId !== '') headers.set('last-event-id', utf8ByteString(context.lastEventId))
    // `no-store`, as the spec's EventSource request. Node's fetch accepts it; its types lack `cache`.
    // `redirect: 'manual'`: fetch's own following would take the headers, `Last-Event-ID` and (on
    // 307/308) the body to any origin the server names, dropping only `Authorization`; the client
    // follows redirects itself, within the origin (`#redirect`).
    const init = {
      method: this.#method,
      headers,
      signal,
      cache: 'no-store',
      redirect: 'manual',
    } as RequestInit
    const body = typeof this.#body === 'function' ? await this.#body(context) : this.#body
    if (body !== undefined) {
      init.body = body
      // A stream body needs `duplex: 'half'` (Node's fetch throws without it); it can only be sent once.
      if (typeof ReadableStream !== 'undefined' && body instanceof ReadableStream) {
        ;(init as RequestInit & { duplex?: string }).duplex = 'half'
      }
    }
    if (this.#credentials !== undefined) init.credentials = this.#credentials
    return init
  }

  /**
   * What to do with a response to a request to `from`: `undefined` when it is no redirect to
   * follow (its status is handled as any other), the next request for a redirect within the
   * origin (as fetch would make it), or the error that stops the client. A redirect to another
   * origin is never followed: the app's headers, `Last-Event-ID` and body are meant for the origin
   * it named. Nor is it followed without them: the stream most likely needs them (a token, the
   * resume point), and a silent move to another server would hide a misconfiguration, or an
   * attack, that the app should see. https://fetch.spec.whatwg.org/#http-redirect-fetch
   */
  #redirect(
    response: Response,
    from: string,
    init: RequestInit,
    hops: number,
  ): Hop | SseClientError | undefined {
    if (response.type === 'opaqueredirect') {
      // A browser answers `redirect: 'manual'` with no status and no Location: the target, same
      // origin or not, is hidden from scripts, so no redirect can be followed safely.
      return new SseClientError(
        'SSE_CLIENT_REDIRECT',
        `${from} answered a redirect, and a browser does not let a script see where it leads; connect to the final URL instead`,
      )
    }
    const { status } = response
    const location = response.headers.get('location')
    if (!REDIRECT_STATUSES.has(status) || location === null) return undefined
    let to: URL
    try {
      to = new URL(location, from)
    } catch (cause) {
      return new SseClientError(
        'SSE_CLIENT_REDIRECT',
        `${from} answered ${status} with a Location that is not a URL: ${JSON.stringify(location)}`,
        { cause, status },
      )
    }
    const origin = new URL(this.url).origin
    if (to.origin !== origin) {
      return new SseClientError(
        'SSE_CLIENT_REDIRECT',
        `${from} answered ${status}, a redirect to another origin (${to.href}); not followed, so the headers, Last-Event-ID and body stay with ${origin}: connect to ${to.href} if it is the stream's URL`,
        { status },
      )
    }
    if (hops >= MAX_REDIRECTS) {
      return new SseClientError(
        'SSE_CLIENT_REDIRECT',
        `more than ${MAX_REDIRECTS} redirects from ${this.url} (the last one to ${to.href}): a redirect loop?`,
        { status },
      )
    }
    const method = (init.method ?? 'GET').toUpperCase()
    if (
      ((status === 301 || status === 302) && method === 'POST') ||
      (status === 303 && method !== 'GET' && method !== 'HEAD')
    ) {
      // fetch's rule: the request becomes a GET without its body.
      const headers = new Headers(init.headers)
      for (const name of BODY_HEADERS) headers.delete(name)
      const { body: _body, duplex: _duplex, ...rest } = init as RequestInit & { duplex?: string }
      return { url: to.href, init: { ...rest, method: 'GET', headers } }
    }
    if (typeof ReadableStream !== 'undefined' && init.body instanceof ReadableStream) {
      return new SseClientError(
        'SSE_CLIENT_REDIRECT',
        `${from} answered ${status}, a redirect that sends the body again, and a stream body can only be sent once: connect to ${to.href}, or send a string, Blob or buffer`,
        { status },
      )
    }
    return { url: to.href, init }
  }

  /** Reads one open stream to its end. */
  async #read(
    body: ReadableStream<Uint8Array>,
    controller: AbortController,
    openedAt: number,
  ): Promise<Attempt> {
    const reader = body.getReader()
    const decoder = new TextDecoder()
    this.#tooLarge = undefined
    const parser = createParser({
      onEvent: (message) => this.#dispatch(message),
      onRetry: (ms) => {
        this.#serverRetry = ms
      },
      onError: (error) => {
        if (error.type === 'max-buffer-size-exceeded') this.#tooLarge ??= this.#eventTooLarge(error)
      },
      maxBufferSize: this.#maxEventSize,
    })
    const idle = this.#watchIdle(controller)
    this.#idle = idle
    try {
      for (;;) {
        const chunk = await reader.read()
        if (this.#closed) return { kind: 'closed' }
        idle.touch()
        if (chunk.done) {
          // An event not ended by a blank line is discarded (the spec's "end of the file").
          parser.feed(decoder.decode())
          return { kind: 'retry', error: undefined, openedAt }
        }
        parser.feed(decoder.decode(chunk.value, { stream: true }))
        if (this.#closed) return { kind: 'closed' }
        if (this.#tooLarge) return { kind: 'stop', reason: 'error', error: this.#tooLarge }
        if (this.#lagging()) await new Promise<void>((resolve) => (this.#room = resolve))
      }
    } catch (cause) {
      if (this.#closed) return { kind: 'closed' }
      if (idle.fired) {
        const error = new SseClientError(
          'SSE_CLIENT_IDLE_TIMEOUT',
          `nothing arrived from ${this.url} for ${this.#idleTimeout} ms (idleTimeout); reconnecting`,
        )
        return { kind: 'retry', error, openedAt }
      }
      const error = new SseClientError(
        'SSE_CLIENT_NETWORK',
        `the stream from ${this.url} broke: ${describe(cause)}`,
        {
          cause,
        },
      )
      return { kind: 'retry', error, openedAt }
    } finally {
      idle.stop()
      this.#idle = undefined
      controller.abort()
      reader.cancel().catch(() => {})
    }
  }

  #eventTooLarge(cause?: unknown): SseClientError {
    return new SseClientError(
      'SSE_CLIENT_EVENT_TOO_LARGE',
      `an event from ${this.url} is longer than maxEventSize (${this.#maxEventSize} characters); raise maxEventSize if that is expected`,
      { cause },
    )
  }

  /** One timer per connection, re-armed lazily: a chunk only records the time. */
  #watchIdle(controller: AbortController): { touch(): void; stop(): void; readonly fired: boolean } {
    const timers = this.#timers
    const limit = this.#idleTimeout
    let last = timers.now()
    let handle: ClientTimerHandle | undefined
    const state = {
      fired: false,
      touch: () => {
        if (limit > 0) last = timers.now()
      },
      stop: () => {
        if (handle !== undefined) timers.clearTimeout(handle)
        handle = undefined
      },
    }
    // At most MAX_TIMER_MS at a time: a longer timer would fire after 1 ms, and the check below
    // re-arms for the rest of the silence anyway.
    const arm = (ms: number): void => {
      handle = timers.setTimeout(
        () => {
          const quiet = timers.now() - last
          if (quiet < limit) return arm(limit - quiet)
          handle = undefined
          state.fired = true
          controller.abort()
        },
        Math.min(ms, MAX_TIMER_MS),
      )
    }
    if (limit > 0) arm(limit)
    return state
  }

  #dispatch(message: EventSourceMessage): void {
    if (this.#closed || this.#tooLarge) return
    // The parser bounds what it buffers across chunks; an event that came in one chunk is checked here.
    if (message.data.length > this.#maxEventSize) {
      this.#tooLarge = this.#eventTooLarge()
      return
    }
    if (message.id !== undefined) this.#lastEventId = message.id
    const type = message.event || 'message'
    if (type === this.#resetEvent) {
      emit(this.#resetListeners, this.#resetNotice(message.data))
      return
    }
    let data: unknown = message.data
    if (this.#json === true || this.#json.has(type)) {
      try {
        data = JSON.parse(message.data)
      } catch (cause) {
        const error = new SseClientError(
          'SSE_CLIENT_INVALID_JSON',
          `the data of a ${JSON.stringify(type)} event is not JSON (${describe(cause)}); the event was skipped`,
          { cause, body: message.data.slice(0, MAX_ERROR_BODY) },
        )
        this.#reportError(error, false)
        return
      }
    }
    const event = { type, data, lastEventId: this.#lastEventId } as SseMessage<string, unknown>
    const listeners = this.#listeners.get(type)
    if (listeners) emit(listeners, event)
    for (const queue of this.#iterators) queue.push(event as SseMessageOf<M>)
  }

  #resetNotice(data: string): ResetNotice {
    let parsed: unknown
    try {
      parsed = JSON.parse(data)
    } catch {
      parsed = undefined
    }
    const fields = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>
    return {
      reason: typeof fields.reason === 'string' ? fields.reason : 'unknown',
      lastEventId: typeof fields.lastEventId === 'string' ? fields.lastEventId : '',
    }
  }

  /** Errors no one listens to are logged, never swallowed (a `for await` loop throws the one that stops it). */
  #reportError(error: SseClientError, stops: boolean): void {
    if (this.#errorListeners.size > 0) emit(this.#errorListeners, error)
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
    this.#signal?.removeEventListener('abort', this.#onAbort)
    this.#connection?.abort()
    this.#connection = undefined
    this.#idle?.stop()
    const wait = this.#wait
    this.#wait = undefined
    if (wait) {
      this.#timers.clearTimeout(wait.handle)
      wait.wake()
    }
    const room = this.#room
    this.#room = undefined
    room?.()
    if (error) this.#reportError(error, true)
    for (const queue of this.#iterators) queue.end(error)
    this.#iterators.clear()
    emit(this.#closeListeners, info)
    this.#listeners.clear()
    for (const set of [
      this.#openListeners,
      this.#reconnectingListeners,
      this.#errorListeners,
      this.#resetListeners,
      this.#closeListeners,
    ]) {
      set.clear()
    }
  }
}

function subscribe<T>(set: Set<Listener<T>>, listener: Listener<T>): () => void {
  set.add(listener)
  return () => {
    set.delete(listener)
  }
}

/** Calls each listener; one that throws is reported and the others still run. */
function emit<T>(set: ReadonlySet<Listener<T>>, value: T): void {
  for (const listener of [...set]) {
    try {
      listener(value)
    } catch (error) {
      reportListenerError(error)
    }
  }
}

/** The queue behind one `for await` loop. */
class MessageQueue<T> implements AsyncIterableIterator<T> {
  #items: T[] = []
  #head = 0
  #waiter: { resolve(result: IteratorResult<T>): void; reject(error: unknown): void } | undefined
  #ended = false
  #error: unknown
  readonly #onReturn: () => void
  readonly #onTake: () => void

  constructor(onReturn: () => void, onTake: () => void) {
    this.#onReturn = onReturn
    this.#onTake = onTake
  }

  get size(): number {
    return this.#items.length - this.#head
  }

  push(item: T): void {
    if (this.#ended) return
    const waiter = this.#waiter
    if (waiter) {
      this.#waiter = undefined
      waiter.resolve({ value: item, done: false })
    } else {
      this.#items.push(item)
    }
  }

  /** No more items; the loop ends after the queued ones, throwing `error` if given. */
  end(error?: unknown): void {
    if (this.#ended) return
    this.#ended = true
    this.#error = error
    const waiter = this.#waiter
    if (!waiter) return
    this.#waiter = undefined
    if (error === undefined) waiter.resolve({ value: undefined, done: true })
    else {
      this.#error = undefined
      waiter.reject(error)
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.size > 0) {
      const value = this.#items[this.#head] as T
      this.#head++
      if (this.#head === this.#items.length) {
        this.#items = []
        this.#head = 0
      }
      this.#onTake()
      return Promise.resolve({ value, done: false })
    }
    if (this.#ended) {
      const error = this.#error
      this.#error = undefined
      return error === undefined ? Promise.resolve({ value: undefined, done: true }) : Promise.reject(error)
    }
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject }
    })
  }

  return(): Promise<IteratorResult<T>> {
    this.#items = []
    this.#head = 0
    this.#error = undefined
    this.end()
    this.#onReturn()
    return Promise.resolve({ value: undefined, done: true })
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this
  }
}
