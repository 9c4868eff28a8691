/**
 * When to reconnect, after how long, and when to give up. Pure functions over plain numbers, so
 * the policy is tested on its own and the client only feeds it the count of consecutive failures,
 * how long the last stream stayed open, the server's `retry:` and `Retry-After`.
 *
 * The delay of consecutive failed attempt `n` (1, 2, 3, …) is
 *
 *     ceiling = min(maxDelay, initialDelay × factor^(n−1))
 *     delay   = max(server's retry:, Retry-After, random() × ceiling)     ("full jitter")
 *
 * Full jitter spreads clients evenly over [0, ceiling), so a restarted server is not hit by all
 * of them at once. The server's own instructions are floors, never shortened: the spec lets a
 * client "wait some more" than the reconnection time, never less. The one exception is
 * `MAX_RECONNECT_DELAY_MS`: no delay is longer.
 * https://html.spec.whatwg.org/multipage/server-sent-events.html#reestablish-the-connection
 */
import { SseClientError } from './errors.ts'

/** How the client reconnects. Every field is optional; see the defaults. */
export interface ReconnectOptions {
  /** The ceiling of the first delay, in ms (at most `MAX_RECONNECT_DELAY_MS`); each failed attempt multiplies it by `factor`. Default 1000. */
  initialDelay?: number | undefined
  /** The cap of the ceiling, in ms, at most `MAX_RECONNECT_DELAY_MS`. The server's `retry:` and `Retry-After` may exceed it. Default 30 000. */
  maxDelay?: number | undefined
  /** Growth of the ceiling per consecutive failed attempt. Default 2. */
  factor?: number | undefined
  /** Full jitter: wait `random() × ceiling`. With `false`, wait the ceiling itself. Default `true`. */
  jitter?: boolean | undefined
  /** Consecutive failed attempts before giving up with `SSE_CLIENT_RETRIES_EXHAUSTED`. Default `Infinity`. */
  maxAttempts?: number | undefined
  /** A connection open this long (ms) counts as healthy: the next failure starts again at attempt 1. Default 5000. */
  healthyAfter?: number | undefined
  /** Which statuses are retried (honouring `Retry-After`); any other non-2xx stops. Default: 408, 429 and 5xx. */
  retryStatus?: ((status: number) => boolean) | undefined
  /** Uniform in [0, 1), for the jitter. Default `Math.random`, looked up at each use. */
  random?: (() => number) | undefined
}

/**
 * The longest the client waits before reconnecting, in ms: one hour. Every delay it schedules
 * (the backoff, the server's `retry:`, `Retry-After` in seconds or as a date) is cut to it, and
 * `initialDelay` and `maxDelay` may not exceed it.
 *
 * Why a limit: a timer holds at most 2^31 − 1 ms (about 24.8 days); Node and browsers run a
 * longer one after 1 ms, so `retry: 4294967296` made clients reconnect at once, in a loop. Why an
 * hour, not 24.8 days: a server or proxy asking for more is far likelier broken than planning a
 * month-long outage. A client that asks again after an hour costs one request an hour; one that
 * waits for weeks looks dead. A server still down answers 503 with a new `Retry-After`, and the
 * client waits again.
 *
 * @example
 * connect(url, { reconnect: { maxDelay: MAX_RECONNECT_DELAY_MS } }) // back off up to an hour
 */
export const MAX_RECONNECT_DELAY_MS: number = 60 * 60 * 1000

/** `ReconnectOptions` with every default filled in. */
export type ReconnectPolicy = Required<{ [K in keyof ReconnectOptions]: NonNullable<ReconnectOptions[K]> }>

/** The default status policy: 408 Request Timeout, 429 Too Many Requests and every 5xx are worth retrying. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599)
}

export const DEFAULT_RECONNECT: Readonly<Omit<ReconnectPolicy, 'random' | 'retryStatus'>> = Object.freeze({
  initialDelay: 1000,
  maxDelay: 30_000,
  factor: 2,
  jitter: true,
  maxAttempts: Number.POSITIVE_INFINITY,
  healthyAfter: 5000,
})

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new SseClientError(
      'SSE_CLIENT_INVALID_OPTION',
      `reconnect.${name} must be a number >= 0, got ${value}`,
    )
  }
  return value
}

/** A delay option: refused past the limit at once, rather than cut to it silently at every attempt. */
function delayOption(name: string, value: number | undefined, fallback: number): number {
  const ms = nonNegative(name, value, fallback)
  if (ms > MAX_RECONNECT_DELAY_MS) {
    throw new SseClientError(
      'SSE_CLIENT_INVALID_OPTION',
      `reconnect.${name} must be <= ${MAX_RECONNECT_DELAY_MS} (MAX_RECONNECT_DELAY_MS, one hour), got ${value}`,
    )
  }
  return ms
}

/** Fills in the defaults and checks the ranges; throws `SSE_CLIENT_INVALID_OPTION`. */
export function resolveReconnectPolicy(options: ReconnectOptions = {}): ReconnectPolicy {
  const factor = nonNegative('factor', options.factor, DEFAULT_RECONNECT.factor)
  if (factor < 1) {
    throw new SseClientError('SSE_CLIENT_INVALID_OPTION', `reconnect.factor must be >= 1, got ${factor}`)
  }
  return {
    initialDelay: delayOption('initialDelay', options.initialDelay, DEFAULT_RECONNECT.initialDelay),
    maxDelay: delayOption('maxDelay', options.maxDelay, DEFAULT_RECONNECT.maxDelay),
    factor,
    jitter: options.jitter ?? DEFAULT_RECONNECT.jitter,
    maxAttempts: nonNegative('maxAttempts', options.maxAttempts, DEFAULT_RECONNECT.maxAttempts),
    healthyAfter: nonNegative('healthyAfter', options.healthyAfter, DEFAULT_RECONNECT.healthyAfter),
    retryStatus: options.retryStatus ?? isRetryableStatus,
    random: options.random ?? (() => Math.random()),
  }
}

/** What one reconnection delay depends on. */
export interface DelayInput {
  /** Consecutive failed attempts, counting this one: 1, 2, 3, … */
  readonly attempt: number
  /** The last `retry:` the server sent, in ms. */
  readonly serverRetry?: number | undefined
  /** The `Retry-After` of the response that failed, in ms. */
  readonly retryAfter?: number | undefined
}

/**
 * The delay before reconnection attempt `attempt`, in whole ms, at most `MAX_RECONNECT_DELAY_MS`
 * (see the file comment). Every reconnection delay goes through here, so the limit is kept in
 * this one place.
 *
 * @example
 * reconnectDelay(resolveReconnectPolicy({ jitter: false }), { attempt: 3 }) // 4000
 */
export function reconnectDelay(policy: ReconnectPolicy, input: DelayInput): number {
  const exponent = Math.max(0, input.attempt - 1)
  // 0 × Infinity is NaN (factor Infinity): a zero initial delay stays zero at every attempt.
  const grown = policy.initialDelay === 0 ? 0 : policy.initialDelay * policy.factor ** exponent
  const ceiling = Math.min(policy.maxDelay, grown)
  const backoff = policy.jitter ? clampUnit(policy.random()) * ceiling : ceiling
  const floor = Math.max(input.serverRetry ?? 0, input.retryAfter ?? 0)
  return Math.round(Math.min(MAX_RECONNECT_DELAY_MS, Math.max(floor, backoff)))
}

/** What the end of an attempt (a failure, or the server ending the stream) depends on. */
export interface EndedAttempt {
  /** Consecutive failed attempts before this one (0 at first, and after a healthy connection). */
  readonly failures: number
  /** How long the stream stayed open, in ms, if it opened. */
  readonly openedFor?: number | undefined
  /** The last `retry:` the server sent, in ms. */
  readonly serverRetry?: number | undefined
  /** The `Retry-After` of the response that failed, in ms. */
  readonly retryAfter?: number | undefined
}

/** Reconnect as attempt `attempt` after `delay` ms, or give up (`attempt` would pass `maxAttempts`). */
export type ReconnectDecision =
  | { readonly giveUp: false; readonly attempt: number; readonly delay: number }
  | { readonly giveUp: true; readonly attempt: number }

/**
 * The give-up rules, then the delay. A stream that stayed open `healthyAfter` ms was a real
 * connection: the count starts again at 1. A shorter one counts as a failure, so a server that
 * accepts and drops connections at once gets ever longer waits, not a storm. Past `maxAttempts`
 * consecutive failures the client gives up (and draws no jitter for it).
 *
 * @example
 * nextReconnect(resolveReconnectPolicy({ maxAttempts: 3, jitter: false }), { failures: 1 })
 * // { giveUp: false, attempt: 2, delay: 2000 }
 */
export function nextReconnect(policy: ReconnectPolicy, ended: EndedAttempt): ReconnectDecision {
  const healthy = ended.openedFor !== undefined && ended.openedFor >= policy.healthyAfter
  const attempt = (healthy ? 0 : ended.failures) + 1
  if (attempt > policy.maxAttempts) return { giveUp: true, attempt }
  const delay = reconnectDelay(policy, {
    attempt,
    serverRetry: ended.serverRetry,
    retryAfter: ended.retryAfter,
  })
  return { giveUp: false, attempt, delay }
}

function clampUnit(value: number): number {
  return Number.isFinite(value) ? Math.min(Math.max(value, 0), 1) : 0
}

/**
 * A `Retry-After` header in ms: delta-seconds (`120`) or an HTTP date. Absent or invalid:
 * `undefined`. A date in the past is 0. Not limited here: `reconnectDelay` cuts it to
 * `MAX_RECONNECT_DELAY_MS`.
 * https://www.rfc-editor.org/rfc/rfc9110#name-retry-after
 *
 * @example
 * parseRetryAfter('5', Date.now()) // 5000
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value == null) return undefined
  const text = value.trim()
  if (/^\d+$/.test(text)) return Number(text) * 1000
  // Every HTTP-date form starts with the day's name; `Date.parse` alone would take `-5` for a year.
  if (!/^[A-Za-z]{3}/.test(text)) return undefined
  const date = Date.parse(text)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}
