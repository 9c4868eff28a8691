/**
 * `@sse/core`: everything that is hard about Server-Sent Events, against one small sink.
 * Framing, heartbeats, bounded backpressure, the hub (topics, fan-out, stats, shutdown) and
 * replay by `Last-Event-ID`. No framework and no `node:*` import here: Node glue lives in
 * `@sse/core/node`, Web Streams glue in `@sse/core/web`.
 */
export type { Broker, BrokerEntry, BrokerMessage, HistoryResult, ResetReason } from './broker.ts'
export type {
  BrokerControl,
  ClusterPresence,
  ControlTarget,
  LocalPresence,
  PresenceChange,
  RevokeCommand,
  RevokeEverywhereResult,
} from './control.ts'
export { isSseError, SseError, type SseErrorCode } from './errors.ts'
export type { DefaultEventMap, TypedEvent } from './event-map.ts'
export {
  type CloseReason,
  createEventStream,
  DEFAULT_MAX_BUFFERED_BYTES,
  DEFAULT_SLOW_AFTER_MS,
  type EventStream,
  type EventStreamOptions,
  type OverflowPolicy,
  type SendEvent,
} from './event-stream.ts'
export {
  assertEventId,
  assertEventName,
  assertRetry,
  DEFAULT_MAX_EVENT_BYTES,
  encodeFrame,
  formatComment,
  formatEvent,
  jsonSerializer,
  type Serializer,
  type SseEvent,
} from './format.ts'
export { DEFAULT_HEARTBEAT_MS, HEARTBEAT_FRAME } from './heartbeat.ts'
export {
  createHub,
  DEFAULT_MAX_STREAMS,
  DEFAULT_MAX_STREAMS_PER_KEY,
  DEFAULT_MAX_TOPICS_PER_STREAM,
  DEFAULT_REVOKE_TIMEOUT_MS,
  DEFAULT_SUBSCRIBE_RETRY,
  describeInvalidTopic,
  type Hub,
  type HubCloseOptions,
  type HubEntry,
  type HubEvents,
  type HubLimits,
  type HubOptions,
  type HubStats,
  MAX_PRINCIPAL_LENGTH,
  MAX_TAGS_PER_STREAM,
  MAX_TOPIC_LENGTH,
  type Presence,
  RESET_EVENT,
  type ResetNotice,
  type RevokeEverywhereOptions,
  type RevokeOptions,
  type RevokeSelector,
  type SubscribeOptions,
} from './hub.ts'
export {
  type AuthorizeContext,
  type AuthorizeResult,
  decideHubRoute,
  type Grant,
  type HubRouteDecision,
  type HubRouteOptions,
  type Refusal,
  type RefusalResponse,
  toRefusalResponse,
} from './hub-route.ts'
export {
  createEpoch,
  formatLogId,
  type LogPosition,
  MAX_LAST_EVENT_ID_BYTES,
  parseLogId,
  readLastEventId,
} from './last-event-id.ts'
export { DEFAULT_HISTORY_MAX_BYTES, MemoryBroker, type MemoryBrokerOptions } from './memory-broker.ts'
export { SSE_HEADERS, type SseHead, type SseSink } from './sink.ts'
export { defaultTimers, type TimerHandle, type TimerProvider } from './timers.ts'
