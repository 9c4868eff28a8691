/**
 * `@sse/client`: an EventSource over `fetch` for browsers and Node, with the reconnection
 * control the browser's lacks. `connect(url, options)` sends any headers, method and body,
 * resumes with `Last-Event-ID`, backs off with full jitter, honours `retry:` and `Retry-After`
 * (up to an hour), stops on 204, refused statuses, wrong content types and redirects to another
 * origin, and delivers typed events to listeners and `for await` loops.
 */
export {
  type CloseInfo,
  type CloseReason,
  type DefaultEventMap,
  type OpenInfo,
  RESET_EVENT,
  type ReadyState,
  type ReconnectingInfo,
  type ResetNotice,
  type SseMessage,
  type SseMessageOf,
} from './client-events.ts'
export { connect } from './connect.ts'
export type {
  BaseConnectOptions,
  ConnectArgs,
  ConnectOptions,
  FetchLike,
  JsonEventTypes,
  JsonOption,
  RequestContext,
} from './connect-options.ts'
export { SseClientError, type SseClientErrorCode, type SseClientErrorDetails } from './errors.ts'
export { isRetryableStatus, MAX_RECONNECT_DELAY_MS, type ReconnectOptions } from './reconnect-policy.ts'
export type { SseClient } from './sse-client.ts'
export type { ClientTimerHandle, ClientTimers } from './timers.ts'
