/**
 * The one error class of `@sse/*`. Every error we throw carries a stable `code` a program can
 * switch on, and a message that says what to do about it. A client disconnecting is never an
 * error: writes after the peer left are silent no-ops.
 */

/** Stable error codes. New codes may be added in minor versions; existing ones never change meaning. */
export type SseErrorCode =
  /** `event` contained CR or LF (field injection). */
  | 'SSE_INVALID_EVENT_NAME'
  /** `id` contained CR, LF or NUL. */
  | 'SSE_INVALID_ID'
  /** `retry` was not a non-negative safe integer. */
  | 'SSE_INVALID_RETRY'
  /** `data` could not be serialized to a string (the serializer threw or returned a non-string). */
  | 'SSE_INVALID_DATA'
  /** An event had nothing a client could act on: no `data`, `id` or `retry`. */
  | 'SSE_EMPTY_EVENT'
  /** A topic name was empty, too long, or not a string. */
  | 'SSE_INVALID_TOPIC'
  /** An option had a value outside its documented range. */
  | 'SSE_INVALID_OPTION'
  /** An event was larger, framed, than `maxEventBytes`; nothing was written or published. Send a reference to the payload instead, split it, or raise the limit. */
  | 'SSE_EVENT_TOO_LARGE'
  /** The hub was closed; it accepts no more publishes or subscriptions. */
  | 'SSE_HUB_CLOSED'
  /** The broker (history and fan-out engine) could not be reached or refused an operation. */
  | 'SSE_BROKER_UNAVAILABLE'
  /** The broker has too many operations waiting (a burst past its queue); this one was not started. Pace publishes, or raise the broker's limit. */
  | 'SSE_BROKER_BUSY'
  /** The broker lost live events (an outage longer than its store kept them, or a store that lost its data). */
  | 'SSE_BROKER_GAP'

/**
 * @example
 * try { stream.send({ event: 'a\nb', data: 1 }) }
 * catch (err) { if (err instanceof SseError && err.code === 'SSE_INVALID_EVENT_NAME') … }
 */
export class SseError extends Error {
  override readonly name = 'SseError'
  readonly code: SseErrorCode

  constructor(code: SseErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}

/** True when `value` is an `SseError`, optionally with the given code. */
export function isSseError(value: unknown, code?: SseErrorCode): value is SseError {
  return value instanceof SseError && (code === undefined || value.code === code)
}
