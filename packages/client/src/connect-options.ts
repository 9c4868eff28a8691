/**
 * The options of `connect`, and their resolution into the `ClientConfig` the client runs on:
 * defaults filled in and every range checked once, at `connect`, so a bad option throws
 * `SSE_CLIENT_INVALID_OPTION` there instead of failing at some later attempt.
 */
import { type DefaultEventMap, RESET_EVENT } from './client-events.ts'
import { SseClientError } from './errors.ts'
import { type ReconnectOptions, type ReconnectPolicy, resolveReconnectPolicy } from './reconnect-policy.ts'
import { type ClientTimers, defaultTimers } from './timers.ts'

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

const DEFAULT_MAX_EVENT_SIZE = 16 * 1024 * 1024

/** The options of one client, resolved: what every attempt is made from. */
export interface ClientConfig {
  /** The absolute URL, as given (reconnections start here again, wherever a redirect led). */
  readonly url: string
  readonly method: string
  readonly headers: BaseConnectOptions['headers']
  readonly body: BaseConnectOptions['body']
  readonly credentials: RequestInit['credentials'] | undefined
  readonly signal: AbortSignal | undefined
  /** `undefined` for `reconnect: false`. */
  readonly policy: ReconnectPolicy | undefined
  readonly idleTimeout: number
  readonly maxEventSize: number
  /** `undefined` for `resetEvent: false`. */
  readonly resetEvent: string | undefined
  /** `true` (every type), or the types whose data is decoded from JSON. */
  readonly json: true | ReadonlySet<string>
  /** `undefined`: the global `fetch`, looked up at each attempt. */
  readonly fetch: FetchLike | undefined
  readonly timers: ClientTimers
  /** The `Last-Event-ID` of the first request. */
  readonly lastEventId: string
}

function checkSize(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new SseClientError('SSE_CLIENT_INVALID_OPTION', `${name} must be a number >= 0, got ${value}`)
  }
  return value
}

/**
 * Fills in the defaults and checks the ranges; throws `SSE_CLIENT_INVALID_OPTION`.
 *
 * @example
 * resolveConnectOptions('http://localhost:3000/events', { idleTimeout: 45_000 }).maxEventSize // 16 Mi
 */
export function resolveConnectOptions(
  url: string,
  options: BaseConnectOptions & { json?: unknown },
): ClientConfig {
  const policy = options.reconnect === false ? undefined : resolveReconnectPolicy(options.reconnect)
  const idleTimeout = checkSize('idleTimeout', options.idleTimeout, 0)
  const maxEventSize = checkSize('maxEventSize', options.maxEventSize, DEFAULT_MAX_EVENT_SIZE)
  const json = options.json as JsonOption<DefaultEventMap> | undefined
  const lastEventId = options.lastEventId ?? ''
  if (/[\0\r\n]/.test(lastEventId)) {
    throw new SseClientError(
      'SSE_CLIENT_INVALID_OPTION',
      `lastEventId must not contain NUL, CR or LF (the spec's id grammar), got ${JSON.stringify(lastEventId)}`,
    )
  }
  return {
    url,
    method: options.method ?? 'GET',
    headers: options.headers,
    body: options.body,
    credentials: options.credentials,
    signal: options.signal,
    policy,
    idleTimeout,
    maxEventSize,
    resetEvent: options.resetEvent === false ? undefined : (options.resetEvent ?? RESET_EVENT),
    json:
      json === true
        ? true
        : new Set(Object.entries(json ?? {}).flatMap(([type, on]) => (on === true ? [type] : []))),
    fetch: options.fetch,
    timers: options.timers ?? defaultTimers,
    lastEventId,
  }
}
