/**
 * The public surface: what `connect` returns. An EventSource-like object (`readyState`,
 * `lastEventId`, listeners by event type, `close()`) that is also an async iterable, with a
 * listener method for each lifecycle event the browser's folds into `onerror`.
 */
import type {
  CloseInfo,
  DefaultEventMap,
  OpenInfo,
  ReadyState,
  ReconnectingInfo,
  ResetNotice,
  SseMessage,
  SseMessageOf,
} from './client-events.ts'
import type { SseClientError } from './errors.ts'

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
