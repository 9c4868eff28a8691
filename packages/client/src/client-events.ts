/**
 * What a client hands its listeners: the events from the server (typed by an event map) and the
 * lifecycle infos of `onOpen`, `onReconnecting`, `onReset` and `onClose`. Types only, plus the
 * name of `@sse/core`'s reset event.
 */
import type { SseClientError } from './errors.ts'

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
