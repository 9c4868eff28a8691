/**
 * `Broker`: where a hub's history and cross-process fan-out live. The hub frames, queues and
 * replays; the broker only orders, stores and distributes messages. `MemoryBroker` is the
 * embedded default; `@sse/redis` implements the same interface on Redis so that many processes
 * behind a load balancer act as one hub: publish anywhere, deliver everywhere, replay anywhere.
 *
 * Obligations of an implementation:
 * - Every published message gets a `seq` that is strictly greater than every earlier one in the
 *   same epoch, across all topics (one log per hub, so one `Last-Event-ID` covers a stream
 *   subscribed to several topics).
 * - `subscribe` delivers every entry, published by any process, to the listener in `seq` order,
 *   each once. Delivery may lag behind `history` (the hub de-duplicates by `seq`). When the
 *   broker knows it skipped entries (it was cut off from its store longer than the store kept
 *   them, or the store lost its data), it calls `onGap` instead of delivering a silent gap: the
 *   hub then closes its streams, which reconnect and replay from history (or get a reset).
 * - `history(topics, after)` returns every entry of `topics` with `seq > after.seq`, ascending,
 *   and the log head it read up to; or a reset when it cannot prove the list is complete: the
 *   epoch differs (history was lost), entries after `after` on those topics were trimmed, or
 *   `after` is ahead of the log. A broker that copies entries out of a store (Redis) may answer
 *   one page at a time: the entries up to `next`, complete up to there; the hub asks again with
 *   `after = next` once the stream has taken the page, so a reconnect with an old id holds one
 *   page in this process, not the whole history.
 * - The epoch changes whenever stored history is lost (a restart of an in-memory log, a flushed
 *   Redis), so a stale id is always detected, never answered with a silent gap.
 * - Failures reject with `SseError('SSE_BROKER_UNAVAILABLE', …)`; nothing is dropped silently.
 */
import type { BrokerControl } from './control.ts'
import type { SseError } from './errors.ts'
import type { LogPosition } from './last-event-id.ts'

/** What a hub hands to the broker: the event name and the already serialized data. */
export interface BrokerMessage {
  readonly event?: string | undefined
  readonly data: string
}

/** A message once it is in the log. */
export interface BrokerEntry extends BrokerMessage, LogPosition {
  readonly topic: string
}

/** Why history could not be replayed. */
export type ResetReason = 'epoch' | 'trimmed' | 'unknown'

/** The answer to a history query. */
export type HistoryResult =
  | {
      readonly kind: 'ok'
      /** Entries of the requested topics after the given position, ascending. */
      readonly entries: readonly BrokerEntry[]
      /** The log head this answer is complete up to (the head when the query ran). */
      readonly head: LogPosition
      /**
       * Set when this is one page of a longer answer: `entries` are complete up to this position
       * (at most `head`) and the rest comes from `history(topics, next)`. Absent: `entries` are
       * complete up to `head`.
       */
      readonly next?: LogPosition | undefined
    }
  | { readonly kind: 'reset'; readonly reason: ResetReason; readonly head: LogPosition }

export interface Broker {
  /** Appends a message to `topic` and to the log; resolves with the stored entry. */
  publish(topic: string, message: BrokerMessage): Promise<BrokerEntry>
  /**
   * Delivers every entry (from any process) to `listener`, in `seq` order; calls `onGap` when
   * live entries were lost. A broker that pulls entries from a store awaits `ready` before it
   * reads more (the hub's publisher backpressure: entries wait in the store while local streams
   * are congested); one that is handed entries in-process may ignore it. Returns an unsubscribe function.
   */
  subscribe(
    listener: (entry: BrokerEntry) => void,
    onGap?: (error: SseError) => void,
    ready?: () => Promise<void>,
  ): () => void
  /** Entries of `topics` after `after`, or a reset (see the obligations above). */
  history(topics: readonly string[], after: LogPosition): Promise<HistoryResult>
  /** The current head of the log. */
  head(): Promise<LogPosition>
  /**
   * Optional: resolves once live delivery runs from a known position, so every entry published
   * from then on reaches `subscribe`'s listener. A networked broker needs a round trip for that;
   * the hub awaits it (once) before registering its first streams.
   */
  ready?(): Promise<void>
  /**
   * Optional: cluster-wide revocation and presence (see `BrokerControl` in `control.ts`). A
   * broker shared by several processes implements it; without it the hub's `revokeEverywhere()`
   * and `presenceEverywhere()` cover this process, which is then the whole cluster.
   */
  readonly control?: BrokerControl | undefined
  /** Releases the broker's resources. */
  close(): Promise<void>
}
