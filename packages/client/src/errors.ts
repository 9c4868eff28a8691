/**
 * The one error class of `@sse/client`. Every error the client reports carries a stable `code`
 * a program can switch on, and a message that says what happened and what to do. A `close()`,
 * an aborted signal or a 204 is never an error.
 */

/** Stable error codes. New codes may be added in minor versions; existing ones never change meaning. */
export type SseClientErrorCode =
  /** The server answered a status the policy does not retry (by default a 4xx other than 408/429, or a 3xx that is no redirect). Stops. */
  | 'SSE_CLIENT_HTTP_STATUS'
  /**
   * A redirect the client does not follow: to another origin (the headers, `Last-Event-ID` and
   * body stay with the origin given), more than 20 in a row, a bad Location, a stream body that
   * cannot be sent again, or any redirect in a browser (which hides its target). Stops.
   */
  | 'SSE_CLIENT_REDIRECT'
  /** The server answered 2xx with a Content-Type other than `text/event-stream`. Stops. */
  | 'SSE_CLIENT_CONTENT_TYPE'
  /** `fetch` failed or the body broke off: the network, DNS, a reset, a retried status. Retried. */
  | 'SSE_CLIENT_NETWORK'
  /** Nothing arrived, not even a heartbeat comment, for `idleTimeout` ms. Retried. */
  | 'SSE_CLIENT_IDLE_TIMEOUT'
  /** `reconnect.maxAttempts` consecutive attempts failed; `cause` is the last failure. Stops. */
  | 'SSE_CLIENT_RETRIES_EXHAUSTED'
  /** The `headers` or `body` function threw; `cause` is what it threw. Stops. */
  | 'SSE_CLIENT_REQUEST_INIT'
  /** One event grew past `maxEventSize` characters. Stops (reconnecting would fetch it again). */
  | 'SSE_CLIENT_EVENT_TOO_LARGE'
  /** An event of a type decoded as JSON did not parse; it was skipped and the stream goes on. */
  | 'SSE_CLIENT_INVALID_JSON'
  /** An option had a value outside its documented range. Thrown by `connect`. */
  | 'SSE_CLIENT_INVALID_OPTION'

/** What an `SseClientError` can carry besides its code and message. */
export interface SseClientErrorDetails {
  /** The underlying error. */
  cause?: unknown
  /** The HTTP status of the response, when there was one. */
  status?: number | undefined
  /** The start of the response body (at most 64 KiB), for a refused status or content type. */
  body?: string | undefined
}

/**
 * @example
 * source.onError((error) => {
 *   if (error.code === 'SSE_CLIENT_HTTP_STATUS' && error.status === 401) redirectToLogin()
 * })
 */
export class SseClientError extends Error {
  override readonly name = 'SseClientError'
  readonly code: SseClientErrorCode
  /** The HTTP status of the response, when there was one. */
  readonly status: number | undefined
  /** The start of the response body (at most 64 KiB), for a refused status or content type. */
  readonly body: string | undefined

  constructor(code: SseClientErrorCode, message: string, details: SseClientErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.code = code
    this.status = details.status
    this.body = details.body
  }
}

/**
 * The message of a caught value, for the message of an `SseClientError` that wraps it.
 *
 * @example
 * new SseClientError('SSE_CLIENT_NETWORK', `fetch ${url} failed: ${describeCause(cause)}`, { cause })
 */
export function describeCause(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause)
}
