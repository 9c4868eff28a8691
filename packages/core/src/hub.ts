/**
 * `Hub`: the client registry. Streams subscribe to topics; `publish(topic, event)` frames and
 * UTF-8 encodes each event once and writes the same bytes to every subscriber. Events published
 * in the same tick reach each stream as one write (a write costs about the same whatever its
 * size, so a burst of N events costs one write per client, not N).
 *
 * Ids are assigned by the hub's broker: `<epoch>-<seq>`, positions in one log across all topics.
 * A stream that reconnects with `Last-Event-ID` first receives exactly the events of its topics
 * it missed, then live events, with no duplicate and no gap at the seam: live entries that
 * arrive while history is read are held back and de-duplicated by position. When the id cannot
 * be resumed from (unknown, trimmed from history, or from another epoch), the stream gets a
 * `sse-reset` event instead of a silent gap, so the app can refetch its state.
 *
 * Publisher backpressure: `await hub.ready()` waits until no stream is congested, except those
 * congested past their `slowAfterMs` (they are closed as slow, or drop under `'drop'`), so a
 * stalled client delays a paced publisher by at most that limit and never stops it. A replay is
 * written in pages under the same flow control. A broker that pulls entries (Redis) awaits
 * `ready()` before it reads more, so its entries wait in the store, not in this process.
 */
import type { Broker, BrokerEntry, HistoryResult, ResetReason } from './broker.ts'
import {
  type BrokerControl,
  type ClusterPresence,
  type ControlTarget,
  LocalControl,
  type PresenceChange,
  type RevokeCommand,
  type RevokeEverywhereResult,
} from './control.ts'
import { SseError } from './errors.ts'
import type { DefaultEventMap, TypedEvent } from './event-map.ts'
import { type CloseReason, type EventStream, EventStreamImpl, type StreamOwner } from './event-stream.ts'
import {
  assertEventFits,
  assertEventName,
  encodeFrame,
  formatEvent,
  maxEventBytesOption,
  type Serializer,
  serializeData,
} from './format.ts'
import { DEFAULT_HEARTBEAT_MS, Heartbeat } from './heartbeat.ts'
import { formatLogId, type LogPosition, parseLogId } from './last-event-id.ts'
import { MemoryBroker, type MemoryBrokerOptions } from './memory-broker.ts'
import { reportError, reportUnhandledHubError } from './report-error.ts'
import { defaultTimers, type TimerProvider } from './timers.ts'

/** The event type of the reset notice. Its data is JSON: `{ reason, lastEventId }`. */
export const RESET_EVENT = 'sse-reset'

/** The data of a `sse-reset` event. */
export interface ResetNotice {
  /**
   * `epoch`: history was lost (server restart, flushed store); `trimmed`: the events are no
   * longer kept; `unknown`: the id is not one of ours; `revoked`: the client's access was revoked
   * after that id, so it is not replayed what was published since (refetch what it may see now).
   */
  readonly reason: ResetReason | 'revoked'
  /** The id the client sent. */
  readonly lastEventId: string
}

/** Longest topic name, in UTF-16 code units. */
export const MAX_TOPIC_LENGTH = 256

/** Default of `HubOptions.maxStreams`: streams one hub holds at most. */
export const DEFAULT_MAX_STREAMS = 100_000
/** Default of `HubOptions.maxStreamsPerKey`: streams of one key (an address, a user) at most. */
export const DEFAULT_MAX_STREAMS_PER_KEY = 1000
/** Default of `HubOptions.maxTopicsPerStream`: topics one subscription names at most. */
export const DEFAULT_MAX_TOPICS_PER_STREAM = 100

/** What a hub holds at most; `hub.limits`. */
export interface HubLimits {
  readonly maxStreams: number
  readonly maxStreamsPerKey: number
  readonly maxTopicsPerStream: number
}

/** An event as subscribers see it, for filters. */
export interface HubEntry {
  readonly topic: string
  readonly id: string
  readonly event: string | undefined
  /** The serialized data, as written on the wire. */
  readonly data: string
}

export interface HubOptions extends MemoryBrokerOptions {
  /**
   * History and fan-out engine. Default: a `MemoryBroker` made with `historySize`,
   * `historyMaxBytes` and `historyMaxAgeMs`; with a broker of your own, those go to the broker
   * (passing them here too is an `SSE_INVALID_OPTION` error, not silently ignored).
   */
  broker?: Broker | undefined
  /**
   * Whether `close()` also closes the broker. Default: `true` for the broker the hub makes,
   * `false` for one you pass (it may serve other hubs); `true` hands yours over, so
   * `await hub.close()` is the one line that shuts both down.
   */
  closeBroker?: boolean | undefined
  /**
   * A `retry:` (ms) sent to each stream as it subscribes, drawn uniformly from `[min, max]` per
   * stream, so that after an instance dies its clients come back within about a second (the
   * EventSource default is about 3 s) without all arriving at once. `false` sends none; a stream
   * created with its own `retry` keeps it. Default `{ min: 500, max: 1500 }`.
   */
  retry?: { min: number; max: number } | false | undefined
  /** Heartbeat interval (ms) for every subscribed stream, or `false`. Default 15 000. */
  heartbeat?: number | false | undefined
  /** Turns non-string `data` into a string. Default `JSON.stringify`. */
  serializer?: Serializer | undefined
  /** Timers for the heartbeat and history ages. */
  timers?: TimerProvider | undefined
  /** Streams subscribed at once, at most; a hub route answers 503 past it. Default 100 000. */
  maxStreams?: number | undefined
  /** Streams of one `key` (see `SubscribeOptions.key`) at once, at most; a hub route answers 429 past it. Default 1000. */
  maxStreamsPerKey?: number | undefined
  /** Topics one subscription names, at most; a hub route answers 400 past it. Default 100. */
  maxTopicsPerStream?: number | undefined
  /**
   * Largest event `publish()` takes, in bytes of UTF-8 as the hub frames it (its id counted at the
   * longest, 256 bytes); a larger one rejects with `SSE_EVENT_TOO_LARGE` before the broker sees
   * it, so nothing is published. Default 1 MiB.
   */
  maxEventBytes?: number | undefined
}

export interface SubscribeOptions {
  /** Topics to receive. At least one, at most `maxTopicsPerStream`. */
  topics: readonly string[]
  /** Per-stream filter, applied to live and replayed events. */
  filter?: ((entry: HubEntry) => boolean) | undefined
  /** Whose stream this is (a client address, a user id), for `maxStreamsPerKey`. */
  key?: string | undefined
  /**
   * Who reads it (a user id, a session id), for `revoke({ principal })` and `presence()`. What
   * `authorize` decided, typically. At most 256 characters.
   */
  principal?: string | undefined
  /** Labels for `revoke({ tag })` (a role, a tenant, a plan). At most 32, of 256 characters each. */
  tags?: readonly string[] | undefined
}

/** Which streams `revoke()` closes: those matching every field given (at least one). */
export interface RevokeSelector {
  readonly principal?: string | undefined
  readonly tag?: string | undefined
  readonly topic?: string | undefined
}

export interface RevokeOptions {
  /** A last event sent to each revoked stream before it closes (e.g. `{ event: 'revoked', data: '' }`). */
  event?: { event?: string; data: unknown } | undefined
  /** A `retry:` (ms) sent before it closes, for the client's reconnection (which `authorize` then answers). Default: none. */
  retry?: number | undefined
}

/** Options of `revokeEverywhere()`. */
export interface RevokeEverywhereOptions extends RevokeOptions {
  /** How long to wait for the other instances' answers, in ms. Default 5000. */
  timeoutMs?: number | undefined
}

/** Default of `RevokeEverywhereOptions.timeoutMs`. */
export const DEFAULT_REVOKE_TIMEOUT_MS = 5000

/** Who watches a topic, on this hub. */
export interface Presence {
  /** Streams subscribed to the topic. */
  readonly streams: number
  /** Streams per principal, for the streams that have one. */
  readonly principals: ReadonlyMap<string, number>
}

/** Most tags on one stream, and the longest principal or tag. */
export const MAX_TAGS_PER_STREAM = 32
export const MAX_PRINCIPAL_LENGTH = 256

export interface HubCloseOptions {
  /** A last event sent to every stream before it closes (e.g. `{ event: 'shutdown', data: '' }`). */
  event?: { event?: string; data: unknown } | undefined
  /**
   * A `retry:` sent to each client, drawn uniformly from `[min, max]` ms per client so that
   * reconnects spread out instead of stampeding the next instance. `false` sends none.
   * Default `{ min: 1000, max: 5000 }`.
   */
  retry?: { min: number; max: number } | false | undefined
}

/** Counters since the hub was created. */
export interface HubStats {
  /** Streams subscribed now. */
  readonly streams: number
  /** Events published through this hub. */
  readonly published: number
  /** Event deliveries to streams (one per event per stream), live and replayed. */
  readonly delivered: number
  /** Deliveries dropped by streams with `onOverflow: 'drop'`. */
  readonly dropped: number
  /** Streams closed because their queue passed `maxBufferedBytes` (a producer that ignored backpressure). */
  readonly overflowCloses: number
  /** Streams closed because they stayed congested past `slowAfterMs` with no progress. */
  readonly slowCloses: number
  /** Milliseconds during which at least one caller of `ready()` (or a paced broker) was waiting. */
  readonly pacedMs: number
  /** Events replayed from history. */
  readonly replayed: number
  /** `sse-reset` notices sent. */
  readonly resets: number
}

/** Lifecycle events of a hub, with their listener arguments. */
export interface HubEvents {
  subscribe: [info: { topics: readonly string[]; lastEventId: string | undefined }]
  unsubscribe: [info: { topics: readonly string[]; reason: CloseReason | 'unsubscribe' }]
  reset: [notice: ResetNotice]
  /**
   * A topic's streams changed, cluster-wide over a broker with `control` (this hub's own changes,
   * and instances that died, reported by the instance that noticed), here otherwise: one event per
   * topic per change, for the app to publish (a "who is online" list).
   */
  presence: [change: PresenceChange]
  error: [error: unknown]
}

export interface Hub<M extends object = DefaultEventMap> {
  /** Publishes an event to a topic; resolves with its id once the broker has stored it. */
  publish(topic: string, event: TypedEvent<M>): Promise<string>
  /**
   * Publisher backpressure: resolves once no stream (of `topic`, when given) is congested, at
   * once when none is. Streams congested past their `slowAfterMs` do not hold it (they are
   * closed as slow, or drop events under `'drop'`), so one stalled client delays a publisher by at
   * most that limit. Resolves at once after `close()`. Never rejects.
   *
   * @example
   * for (const row of rows) {
   *   await hub.publish('export', { event: 'row', data: row })
   *   await hub.ready('export') // every reader of 'export' gets every row, at the pace of the slowest healthy one
   * }
   */
  ready(topic?: string): Promise<void>
  /**
   * Subscribes a stream to topics. Replays what the stream missed when it carries a
   * `Last-Event-ID`; resolves once the stream is live. The stream leaves the hub when it closes.
   */
  subscribe(stream: EventStream<M> | EventStream, options: SubscribeOptions): Promise<void>
  /** Removes a stream from the hub without closing it. */
  unsubscribe(stream: EventStream<M> | EventStream): void
  /** Streams subscribed now. */
  readonly size: number
  /** Streams subscribed to `topic` now. */
  topicSize(topic: string): number
  /** Topics with at least one subscriber, with their counts. */
  topics(): Map<string, number>
  /** Streams subscribed now with this `key`. */
  keySize(key: string): number
  /** What the hub holds at most (from its options). */
  readonly limits: HubLimits
  /**
   * Closes the streams that match `selector` (by `principal`, `tag` and/or `topic`), now, with
   * the close reason `'revoked'`, after an optional last event and `retry:`; returns how many.
   * A revoked client that reconnects goes through `authorize` again, and is not replayed what was
   * published after the revocation on the strength of an older `Last-Event-ID`: a stream of that
   * principal or tag resuming from before it gets an `sse-reset` (`revoked`) instead. This hub
   * only: `revokeEverywhere()` reaches every instance.
   *
   * @example
   * hub.revoke({ principal: userId }, { event: { event: 'logout', data: '' } })
   */
  revoke(selector: RevokeSelector, options?: RevokeOptions): number
  /** The streams of `topic` now, and per principal for those subscribed with one. */
  presence(topic: string): Presence
  /**
   * `revoke()` on every instance: closes the matching streams here at once (as `revoke()` does),
   * then through the broker's `control` on every other live instance, and resolves with what they
   * answered within `timeoutMs` (default 5000). `complete` says whether every live instance did:
   * only then is `closed` the cluster-wide count. A store that does not answer resolves it with
   * `complete: false` and `reason: 'unavailable'` (this instance's streams are closed all the
   * same); it never reports a success it did not get. Bad selectors and options reject with
   * `SseError` before anything closes. Without a broker `control` this process is the cluster.
   *
   * @example
   * const result = await hub.revokeEverywhere({ principal: userId }, { timeoutMs: 2000 })
   * if (!result.complete) retryLater() // result.closed streams closed on result.instances instances
   */
  revokeEverywhere(
    selector: RevokeSelector,
    options?: RevokeEverywhereOptions,
  ): Promise<RevokeEverywhereResult>
  /**
   * The topic's streams on every live instance (over a broker with `control`; this hub's
   * otherwise), and per principal where the broker shares them. While the store is unreachable,
   * the last numbers read with `stale: true`; rejects with `SSE_BROKER_UNAVAILABLE` when there are
   * none.
   */
  presenceEverywhere(topic: string): Promise<ClusterPresence>
  /**
   * Reports an error to the hub's `error` listeners (to stderr when there is none). For code
   * around the hub, such as an adapter's `authorize` step whose error must not reach the client.
   */
  reportError(error: unknown): void
  readonly stats: HubStats
  /** Registers a lifecycle listener; returns a function that removes it. */
  on<E extends keyof HubEvents>(event: E, listener: (...args: HubEvents[E]) => void): () => void
  /**
   * Graceful shutdown: sends the optional final event and a jittered `retry:` to every client,
   * closes every stream (so `server.close()` completes promptly), stops the heartbeat and
   * releases the broker it created. Later subscribers are told to retry and closed at once.
   */
  close(options?: HubCloseOptions): Promise<void>
  readonly closed: boolean
}

interface Subscription {
  readonly stream: EventStreamImpl<object>
  readonly topics: readonly string[]
  /** Only for several topics; one topic is compared directly (a Set costs ~200 B per stream). */
  readonly topicSet: ReadonlySet<string> | undefined
  readonly filter: ((entry: HubEntry) => boolean) | undefined
  /** One topic and no filter: can take a topic's shared batch as is. */
  readonly simple: boolean
  readonly key: string | undefined
  /** Entries at or below this position were already delivered (or deliberately skipped). */
  watermark: LogPosition | undefined
  /** While history is read: live entries held back, and their size. */
  pending: Item[] | undefined
  pendingBytes: number
  /** Congested and not (yet) slow: a paced publisher of its topics waits for it. */
  holding: boolean
  readonly principal: string | undefined
  readonly tags: readonly string[] | undefined
}

/**
 * A topic's subscriptions, and how many of them hold a paced publisher. A count, not a set of
 * holders: streams become congested and drain once per batch, and adding to and deleting from a
 * long-lived Set (or Map) makes V8 rebuild its table each time, in the old generation.
 */
class TopicSubscriptions extends Set<Subscription> {
  holding = 0
}

interface ReadyWaiter {
  readonly topic: string | undefined
  readonly resolve: () => void
}

/** Bytes of history written to a replaying stream before it waits for the client to read them. */
const REPLAY_PAGE_BYTES = 64 * 1024

const RESOLVED: Promise<void> = Promise.resolve()

interface Item {
  readonly entry: BrokerEntry
  readonly id: string
  readonly frame: Uint8Array
}

function concatFrames(items: readonly Item[]): Uint8Array {
  if (items.length === 1) return items[0]!.frame
  let total = 0
  for (const item of items) total += item.frame.length
  const out = new Uint8Array(total)
  let offset = 0
  for (const item of items) {
    out.set(item.frame, offset)
    offset += item.frame.length
  }
  return out
}

function seen(watermark: LogPosition | undefined, entry: BrokerEntry): boolean {
  return watermark !== undefined && watermark.epoch === entry.epoch && entry.seq <= watermark.seq
}

/** Revocations remembered for the resume check (the most recent ones). */
const MAX_REVOCATIONS = 10_000
const EMPTY: ReadonlySet<Subscription> = new Set()

function addTo(index: Map<string, Set<Subscription>>, key: string, sub: Subscription): void {
  const set = index.get(key)
  if (set) set.add(sub)
  else index.set(key, new Set([sub]))
}

function removeFrom(index: Map<string, Set<Subscription>>, key: string, sub: Subscription): void {
  const set = index.get(key)
  set?.delete(sub)
  if (set?.size === 0) index.delete(key)
}

/** Why `value` cannot be a principal or tag, or `undefined` when it can. */
function nameProblem(what: string, value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '' && value.length <= MAX_PRINCIPAL_LENGTH) return undefined
  return `${what} must be a non-empty string of at most ${MAX_PRINCIPAL_LENGTH} characters, got ${JSON.stringify(value)}`
}

/**
 * @internal Why a stream cannot carry this principal or tag list, or `undefined` when it can:
 * what `subscribe` rejects, and what a hub route checks in a `Grant` before the 200.
 */
export function describeInvalidPrincipalAndTags(principal: unknown, tags: unknown): string | undefined {
  if (principal !== undefined) {
    const problem = nameProblem('principal', principal)
    if (problem) return problem
  }
  if (tags === undefined) return undefined
  if (!Array.isArray(tags) || tags.length > MAX_TAGS_PER_STREAM) {
    return `tags must be an array of at most ${MAX_TAGS_PER_STREAM} strings, got ${Array.isArray(tags) ? `${tags.length} of them` : JSON.stringify(tags)}`
  }
  for (const tag of tags) {
    const problem = nameProblem('a tag', tag)
    if (problem) return problem
  }
  return undefined
}

function validSelector(selector: unknown): RevokeSelector {
  if (typeof selector !== 'object' || selector === null) {
    throw new SseError(
      'SSE_INVALID_OPTION',
      `revoke() needs a selector such as { principal }, got ${JSON.stringify(selector)}`,
    )
  }
  const known = new Set(['principal', 'tag', 'topic'])
  const given = Object.entries(selector).filter(([, value]) => value !== undefined)
  const unknown = given.filter(([name]) => !known.has(name)).map(([name]) => name)
  if (unknown.length > 0) {
    throw new SseError(
      'SSE_INVALID_OPTION',
      `revoke() selects by principal, tag and topic, not by ${unknown.join(', ')}`,
    )
  }
  if (given.length === 0) {
    throw new SseError(
      'SSE_INVALID_OPTION',
      'revoke() needs at least one of principal, tag or topic: it never closes every stream',
    )
  }
  const { principal, tag, topic } = selector as RevokeSelector
  const problem =
    describeInvalidPrincipalAndTags(principal, tag === undefined ? undefined : [tag]) ??
    (topic === undefined ? undefined : describeInvalidTopic(topic))
  if (problem) throw new SseError('SSE_INVALID_OPTION', problem)
  return { principal, tag, topic }
}

function validRevokeRetry(retry: unknown): number | undefined {
  if (retry !== undefined && !(Number.isSafeInteger(retry) && (retry as number) >= 0)) {
    throw new SseError(
      'SSE_INVALID_RETRY',
      `revoke({ retry }) needs integer milliseconds >= 0, got ${String(retry)}`,
    )
  }
  return retry as number | undefined
}

/** The later of two log positions (in the same epoch); `ours` when the epochs differ. */
function later(theirs: LogPosition | undefined, ours: LogPosition | undefined): LogPosition | undefined {
  if (!theirs) return ours
  if (!ours) return theirs
  if (theirs.epoch !== ours.epoch) return ours
  return theirs.seq > ours.seq ? theirs : ours
}

function jitter(range: { min: number; max: number }): number {
  return Math.round(range.min + Math.random() * Math.max(0, range.max - range.min))
}

/** Why `topic` is not a valid topic name, or `undefined` when it is. */
export function describeInvalidTopic(topic: unknown): string | undefined {
  if (typeof topic === 'string' && topic !== '' && topic.length <= MAX_TOPIC_LENGTH) return undefined
  return `a topic must be a non-empty string of at most ${MAX_TOPIC_LENGTH} characters, got ${JSON.stringify(topic)}`
}

function limitOption(name: string, value: number | undefined, fallback: number): number {
  const limit = value ?? fallback
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new SseError('SSE_INVALID_OPTION', `${name} must be a positive integer, got ${String(limit)}`)
  }
  return limit
}

/** Default of `HubOptions.retry`: clients of a stream that ends without notice return in 0.5–1.5 s. */
export const DEFAULT_SUBSCRIBE_RETRY: { readonly min: number; readonly max: number } = { min: 500, max: 1500 }

/** The options a hub passes to the `MemoryBroker` it makes; with a broker of the app's, they belong there. */
const BROKER_OPTIONS = ['historySize', 'historyMaxBytes', 'historyMaxAgeMs'] as const

function validateRetryRange(retry: HubCloseOptions['retry'], where = 'close({ retry })'): void {
  if (retry === undefined || retry === false) return
  const { min, max } = retry as { min: unknown; max: unknown }
  if (
    !Number.isSafeInteger(min) ||
    !Number.isSafeInteger(max) ||
    (min as number) < 0 ||
    (min as number) > (max as number)
  ) {
    throw new SseError(
      'SSE_INVALID_RETRY',
      `${where} needs integer milliseconds with 0 <= min <= max, got ${JSON.stringify(retry)}`,
    )
  }
}

function validateTopic(topic: unknown): string {
  const problem = describeInvalidTopic(topic)
  if (problem) throw new SseError('SSE_INVALID_TOPIC', problem)
  return topic as string
}

class HubImpl<M extends object> implements Hub<M>, StreamOwner {
  readonly #broker: Broker
  readonly #ownsBroker: boolean
  readonly #openRetry: { readonly min: number; readonly max: number } | false
  readonly #serializer: Serializer | undefined
  readonly #maxEventBytes: number
  readonly #heartbeat: Heartbeat | undefined
  readonly #subs = new Map<EventStreamImpl<object>, Subscription>()
  readonly #byTopic = new Map<string, TopicSubscriptions>()
  // biome-ignore lint/suspicious/noExplicitAny: listeners of every event share one map; `on` keeps them typed.
  readonly #listeners = new Map<keyof HubEvents, Set<(...args: any[]) => void>>()
  readonly #stopBroker: () => void
  #brokerIsReady = false
  #readying: Promise<void> | undefined
  #batch: Item[] = []
  #scheduled = false
  #closed = false
  /** How many subscribed streams are congested and not (yet) slow: what `ready()` waits for. */
  #holding = 0
  #readyWaiters: ReadyWaiter[] = []
  /** Since when a caller of `ready()` has been waiting (for `stats.pacedMs`). */
  #pacedSince = 0
  readonly #timers: TimerProvider
  readonly limits: HubLimits
  /** Streams per `key`, for keys with at least one. */
  readonly #byKey = new Map<string, number>()
  /** Streams per principal and per tag, for those with one: what `revoke()` looks up. */
  readonly #byPrincipal = new Map<string, Set<Subscription>>()
  readonly #byTag = new Map<string, Set<Subscription>>()
  /**
   * Where the log stood when a principal (`p:…`) or tag (`t:…`) was last revoked: a stream of
   * theirs resuming from before it is reset, not replayed. The most recent `MAX_REVOCATIONS`.
   */
  readonly #revokedAt = new Map<string, LogPosition>()
  /** The newest entry this hub has seen, live or published: the log's position as far as it knows. */
  #lastSeen: LogPosition | undefined
  /** Revocation and presence across instances: the broker's `control`, or this process alone. */
  readonly #control: BrokerControl
  readonly #controlTarget: ControlTarget
  readonly #detachControl: () => void
  #stats = {
    published: 0,
    delivered: 0,
    dropped: 0,
    overflowCloses: 0,
    slowCloses: 0,
    pacedMs: 0,
    replayed: 0,
    resets: 0,
  }

  constructor(options: HubOptions) {
    const timers = options.timers ?? defaultTimers
    this.#timers = timers
    this.limits = Object.freeze({
      maxStreams: limitOption('maxStreams', options.maxStreams, DEFAULT_MAX_STREAMS),
      maxStreamsPerKey: limitOption(
        'maxStreamsPerKey',
        options.maxStreamsPerKey,
        DEFAULT_MAX_STREAMS_PER_KEY,
      ),
      maxTopicsPerStream: limitOption(
        'maxTopicsPerStream',
        options.maxTopicsPerStream,
        DEFAULT_MAX_TOPICS_PER_STREAM,
      ),
    })
    if (options.broker) {
      const misplaced = BROKER_OPTIONS.filter((name) => options[name] !== undefined)
      if (misplaced.length > 0) {
        throw new SseError(
          'SSE_INVALID_OPTION',
          `${misplaced.join(', ')} configure${misplaced.length === 1 ? 's' : ''} the hub's own MemoryBroker and would be ignored with the broker you passed: give ${misplaced.length === 1 ? 'it' : 'them'} to the broker instead (e.g. new RedisBroker({ ${misplaced[0]} }))`,
        )
      }
    }
    validateRetryRange(options.retry, 'createHub({ retry })')
    this.#openRetry = options.retry === undefined ? DEFAULT_SUBSCRIBE_RETRY : options.retry
    this.#broker = options.broker ?? new MemoryBroker(options)
    this.#ownsBroker = options.closeBroker ?? options.broker === undefined
    this.#serializer = options.serializer
    this.#maxEventBytes = maxEventBytesOption(options.maxEventBytes)
    if (options.heartbeat !== false)
      this.#heartbeat = new Heartbeat(options.heartbeat ?? DEFAULT_HEARTBEAT_MS, timers)
    this.#stopBroker = this.#broker.subscribe(
      (entry) => this.#onEntry(entry),
      (error) => this.#onGap(error),
      () => this.ready(),
    )
    this.#control = this.#broker.control ?? new LocalControl()
    const hub = this
    this.#controlTarget = {
      revoke: (command) => this.#applyRevoke(command),
      presence: (topic) => this.presence(topic),
      topicSize: (topic) => this.topicSize(topic),
      topics: () => this.#byTopic.keys(),
      presenceChanged: (change) => this.#emit('presence', change),
      get wantsPresence() {
        return (hub.#listeners.get('presence')?.size ?? 0) > 0
      },
    }
    this.#detachControl = this.#control.attach(this.#controlTarget)
  }

  get closed(): boolean {
    return this.#closed
  }

  get size(): number {
    return this.#subs.size
  }

  get stats(): HubStats {
    const pacing = this.#readyWaiters.length > 0 ? this.#timers.now() - this.#pacedSince : 0
    return { streams: this.#subs.size, ...this.#stats, pacedMs: this.#stats.pacedMs + pacing }
  }

  ready(topic?: string): Promise<void> {
    if (this.#holding === 0 || this.#closed || !this.#holds(topic)) return RESOLVED
    if (this.#readyWaiters.length === 0) this.#pacedSince = this.#timers.now()
    return new Promise((resolve) => this.#readyWaiters.push({ topic, resolve }))
  }

  /** Whether a congested stream (of `topic`) holds a paced publisher. */
  #holds(topic: string | undefined): boolean {
    if (topic === undefined) return this.#holding > 0
    return (this.#byTopic.get(topic)?.holding ?? 0) > 0
  }

  /** Marks `sub` as holding paced publishers or not; whether that changed anything. */
  #setHolding(sub: Subscription, holding: boolean): boolean {
    if (sub.holding === holding) return false
    sub.holding = holding
    const step = holding ? 1 : -1
    this.#holding += step
    for (const topic of sub.topics) {
      const subs = this.#byTopic.get(topic)
      if (subs) subs.holding += step
    }
    return true
  }

  /** Releases the callers of `ready()` that nothing holds any more (all of them after close). */
  #releaseReady(): void {
    const waiters = this.#readyWaiters
    if (waiters.length === 0) return
    const still: ReadyWaiter[] = []
    for (const waiter of waiters) {
      if (!this.#closed && this.#holds(waiter.topic)) still.push(waiter)
      else waiter.resolve()
    }
    this.#readyWaiters = still
    if (still.length === 0) this.#stats.pacedMs += this.#timers.now() - this.#pacedSince
  }

  /** @internal Called by a subscribed stream when it becomes congested, catches up, or is judged slow. */
  streamPaced(stream: EventStreamImpl<object>, holding: boolean): void {
    const sub = this.#subs.get(stream)
    if (sub && this.#setHolding(sub, holding) && !holding) this.#releaseReady()
  }

  topicSize(topic: string): number {
    return this.#byTopic.get(topic)?.size ?? 0
  }

  topics(): Map<string, number> {
    const counts = new Map<string, number>()
    for (const [topic, subs] of this.#byTopic) counts.set(topic, subs.size)
    return counts
  }

  keySize(key: string): number {
    return this.#byKey.get(key) ?? 0
  }

  revoke(selector: RevokeSelector, options: RevokeOptions = {}): number {
    const valid = validSelector(selector)
    const retry = validRevokeRetry(options.retry)
    // Framed before anything changes: a bad last event leaves every stream as it was.
    const final = encodeFrame(
      (options.event ? formatEvent(options.event, this.#serializer) : '') +
        (retry === undefined ? '' : formatEvent({ retry })),
    )
    return this.#closeRevoked(valid, final, undefined)
  }

  async revokeEverywhere(
    selector: RevokeSelector,
    options: RevokeEverywhereOptions = {},
  ): Promise<RevokeEverywhereResult> {
    const valid = validSelector(selector)
    const retry = validRevokeRetry(options.retry)
    const timeoutMs = options.timeoutMs ?? DEFAULT_REVOKE_TIMEOUT_MS
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1) {
      throw new SseError(
        'SSE_INVALID_OPTION',
        `revokeEverywhere({ timeoutMs }) needs a positive integer (ms), got ${String(timeoutMs)}`,
      )
    }
    // Serialized once, here: every instance sends the same last event, whatever its serializer.
    const event = options.event
      ? { event: options.event.event, data: serializeData(options.event.data, this.#serializer) }
      : undefined
    const final = encodeFrame(
      (event ? formatEvent(event) : '') + (retry === undefined ? '' : formatEvent({ retry })),
    )
    const local = this.#closeRevoked(valid, final, undefined)
    const command: RevokeCommand = { selector: valid, event, retry, at: this.#lastSeen }
    return this.#control.revoke(command, { timeoutMs, local, origin: this.#controlTarget })
  }

  async presenceEverywhere(topic: string): Promise<ClusterPresence> {
    return this.#control.presence(validateTopic(topic))
  }

  /** A revocation from another instance: as `revoke()`, marked at the later of its position and ours. */
  #applyRevoke(command: RevokeCommand): { closed: number; at: LogPosition | undefined } {
    if (this.#closed) return { closed: 0, at: this.#lastSeen }
    const { event, retry } = command
    let final: Uint8Array
    try {
      final = encodeFrame(
        (event ? formatEvent(event) : '') + (retry === undefined ? '' : formatEvent({ retry })),
      )
    } catch (error) {
      // Validated where it was sent; a foreign writer's bad event still closes the streams.
      this.#emit('error', error)
      final = new Uint8Array(0)
    }
    const closed = this.#closeRevoked(validSelector(command.selector), final, command.at)
    return { closed, at: this.#lastSeen }
  }

  /** Closes the streams of a (valid) selector after `final`; marks the revocation for the resume check. */
  #closeRevoked(selector: RevokeSelector, final: Uint8Array, at: LogPosition | undefined): number {
    const { principal, tag, topic } = selector
    // Where the log stands: a stream of theirs resuming from before it is reset, not replayed.
    const mark = later(at, this.#lastSeen)
    if (mark) {
      if (principal !== undefined) this.#markRevoked(`p:${principal}`, mark)
      if (tag !== undefined) this.#markRevoked(`t:${tag}`, mark)
    }
    const sets = [
      principal === undefined ? undefined : (this.#byPrincipal.get(principal) ?? EMPTY),
      tag === undefined ? undefined : (this.#byTag.get(tag) ?? EMPTY),
      topic === undefined ? undefined : (this.#byTopic.get(topic) ?? EMPTY),
    ].filter((set) => set !== undefined)
    const smallest = sets.reduce((a, b) => (b.size < a.size ? b : a))
    const matches = [...smallest].filter(
      (sub) =>
        (principal === undefined || sub.principal === principal) &&
        (tag === undefined || (sub.tags?.includes(tag) ?? false)) &&
        (topic === undefined || (sub.topicSet ? sub.topicSet.has(topic) : sub.topics[0] === topic)),
    )
    for (const sub of matches) {
      if (final.length > 0) sub.stream.writeFrame(final)
      sub.stream.revoke()
    }
    return matches.length
  }

  presence(topic: string): Presence {
    const subs = this.#byTopic.get(topic)
    const principals = new Map<string, number>()
    for (const sub of subs ?? []) {
      if (sub.principal !== undefined) principals.set(sub.principal, (principals.get(sub.principal) ?? 0) + 1)
    }
    return { streams: subs?.size ?? 0, principals }
  }

  #markRevoked(key: string, at: LogPosition): void {
    this.#revokedAt.delete(key)
    this.#revokedAt.set(key, { epoch: at.epoch, seq: at.seq })
    if (this.#revokedAt.size > MAX_REVOCATIONS) {
      this.#revokedAt.delete(this.#revokedAt.keys().next().value as string)
    }
  }

  reportError(error: unknown): void {
    this.#emit('error', error)
  }

  on<E extends keyof HubEvents>(event: E, listener: (...args: HubEvents[E]) => void): () => void {
    let set = this.#listeners.get(event)
    if (!set) {
      set = new Set()
      this.#listeners.set(event, set)
    }
    set.add(listener)
    return () => {
      set.delete(listener)
    }
  }

  async publish(topic: string, event: TypedEvent<M>): Promise<string> {
    if (this.#closed)
      throw new SseError('SSE_HUB_CLOSED', 'publish() after hub.close(); the hub accepts no more events')
    validateTopic(topic)
    const { event: name, data } = event as { event?: string; data: unknown }
    if (name !== undefined) assertEventName(name)
    if (data === undefined) {
      throw new SseError('SSE_EMPTY_EVENT', 'a published event needs data (the hub assigns the id)')
    }
    const text = serializeData(data, this.#serializer)
    assertEventFits(text, name, this.#maxEventBytes)
    const entry = await this.#broker.publish(topic, { event: name === '' ? undefined : name, data: text })
    this.#stats.published++
    return formatLogId(entry)
  }

  async subscribe(stream: EventStream<M> | EventStream, options: SubscribeOptions): Promise<void> {
    if (!(stream instanceof EventStreamImpl)) {
      throw new SseError('SSE_INVALID_OPTION', 'hub.subscribe() takes a stream made by createEventStream()')
    }
    const impl = stream as EventStreamImpl<object>
    let topics: string[]
    try {
      topics = this.#validTopics(options?.topics)
      const problem = describeInvalidPrincipalAndTags(options.principal, options.tags)
      if (problem) throw new SseError('SSE_INVALID_OPTION', problem)
    } catch (error) {
      // The response is already a stream: end it rather than leave it open and subscribed to nothing.
      impl.close()
      throw error
    }
    if (impl.closed || this.#subs.has(impl)) return
    const key = options.key
    if (
      this.#subs.size >= this.limits.maxStreams ||
      (key !== undefined && this.keySize(key) >= this.limits.maxStreamsPerKey)
    ) {
      // Past a limit (a hub route checks before the 200; this is a race or a direct subscribe): retry later.
      impl.writeFrame(encodeFrame(formatEvent({ retry: jitter({ min: 1000, max: 5000 }) })))
      impl.close()
      return
    }
    if (this.#closed) {
      impl.writeFrame(encodeFrame(formatEvent({ retry: jitter({ min: 1000, max: 5000 }) })))
      impl.close()
      return
    }

    if ((this.#broker.ready || this.#control.ready) && !this.#brokerIsReady) {
      await this.#brokerReady()
      if (impl.closed || this.#subs.has(impl)) return
      if (this.#closed || !this.#brokerIsReady) {
        // Not ready (its error went to the `error` listeners): without a known position in the
        // log, events published elsewhere could pass this stream by. The client comes back later.
        impl.writeFrame(encodeFrame(formatEvent({ retry: jitter({ min: 1000, max: 5000 }) })))
        impl.close()
        return
      }
    }

    // An unreadable Last-Event-ID resumes from '', which no log knows: the client gets a reset
    // ('unknown') instead of live events after a silent gap.
    const resumeFrom = impl.lastEventId ?? (impl.lastEventIdUnusable ? '' : undefined)
    const sub: Subscription = {
      stream: impl,
      topics,
      topicSet: topics.length > 1 ? new Set(topics) : undefined,
      filter: options.filter,
      simple: topics.length === 1 && options.filter === undefined,
      key,
      watermark: undefined,
      pending: resumeFrom === undefined ? undefined : [],
      pendingBytes: 0,
      holding: false,
      principal: options.principal,
      tags: options.tags && options.tags.length > 0 ? [...new Set(options.tags)] : undefined,
    }
    this.#subs.set(impl, sub)
    if (key !== undefined) this.#byKey.set(key, this.keySize(key) + 1)
    for (const topic of topics) {
      let set = this.#byTopic.get(topic)
      if (!set) {
        set = new TopicSubscriptions()
        this.#byTopic.set(topic, set)
      }
      set.add(sub)
    }
    if (sub.principal !== undefined) addTo(this.#byPrincipal, sub.principal, sub)
    for (const tag of sub.tags ?? []) addTo(this.#byTag, tag, sub)
    this.#control.changed(this.#controlTarget, topics)
    impl.setOwner(this)
    if (impl.holding) this.#setHolding(sub, true)
    impl.useHeartbeat(this.#heartbeat ?? null)
    if (this.#openRetry && !impl.ownRetry) {
      impl.writeFrame(encodeFrame(formatEvent({ retry: jitter(this.#openRetry) })))
    }
    this.#emit('subscribe', { topics, lastEventId: impl.lastEventId })

    if (resumeFrom !== undefined) await this.#replay(sub, resumeFrom)
  }

  unsubscribe(stream: EventStream<M> | EventStream): void {
    const sub = this.#subs.get(stream as EventStreamImpl<object>)
    if (!sub) return
    sub.stream.setOwner(undefined)
    this.#remove(sub, 'unsubscribe')
    sub.stream.useHeartbeat(undefined)
  }

  async close(options: HubCloseOptions = {}): Promise<void> {
    if (this.#closed) return
    // Validated before anything changes: a bad final event or range leaves the hub as it was.
    validateRetryRange(options.retry)
    const final = options.event ? encodeFrame(formatEvent(options.event, this.#serializer)) : undefined
    this.#closed = true
    this.#stopBroker()
    this.#flush()
    this.#heartbeat?.stop()
    this.#releaseReady()
    const retry = options.retry ?? { min: 1000, max: 5000 }
    for (const sub of [...this.#subs.values()]) {
      if (final) sub.stream.writeFrame(final)
      if (retry) sub.stream.writeFrame(encodeFrame(formatEvent({ retry: jitter(retry) })))
      sub.stream.close()
    }
    this.#detachControl()
    if (this.#ownsBroker) await this.#broker.close()
    // One macrotask: servers that end a response a tick after its body (@hono/node-server) have
    // then released the connections, so a `server.close()` right after completes at once.
    await new Promise((resolve) => setTimeout(resolve, 0))
  }

  /**
   * Waits (once) for a broker with `ready()` to deliver from a known position. If it fails (its
   * store is down), the stream is registered anyway: it stays open and gets events once the
   * broker recovers, and the next subscribe asks again.
   */
  async #brokerReady(): Promise<void> {
    // The control too: a stream registered before its instance can be reached by revocations
    // would stay open through a cluster-wide revoke that reported none missing.
    this.#readying ??= Promise.all([this.#broker.ready?.(), this.#control.ready?.()]).then(
      () => {
        this.#brokerIsReady = true
      },
      (error: unknown) => {
        this.#readying = undefined
        this.#emit('error', error)
      },
    )
    await this.#readying
  }

  async #replay(sub: Subscription, lastEventId: string): Promise<void> {
    const stream = sub.stream
    const position = parseLogId(lastEventId)
    let revoked = position !== undefined && this.#revokedAfter(sub, position)
    if (position && !revoked && (sub.principal !== undefined || sub.tags)) {
      // Revoked on another instance (or before this one started)? The broker's control knows.
      let marks: readonly LogPosition[]
      try {
        marks = await this.#control.revokedAt(sub.principal, sub.tags ?? [])
      } catch (error) {
        // Replaying without knowing could hand it what it had no access to: the client retries.
        this.#emit('error', error)
        stream.close()
        return
      }
      if (stream.closed || this.#subs.get(stream) !== sub) return
      revoked = marks.some((at) => at.epoch === position.epoch && at.seq >= position.seq)
    }
    if (position && revoked) {
      // Revoked after this id: replaying would hand it what was published while it had no access.
      let head: LogPosition
      try {
        head = await this.#broker.head()
      } catch (error) {
        this.#emit('error', error)
        stream.close()
        return
      }
      if (stream.closed || this.#subs.get(stream) !== sub) return
      this.#goLive(sub, head, 'revoked', lastEventId)
      return
    }
    // In pages, each written once the client has read the one before: a replay of a long
    // history to a client that never reads pins one page, not the whole history. A broker that
    // answers in pages (`next`) is asked for the next one only then, so its copy is paced too.
    let page: Item[] = []
    let pageBytes = 0
    const writePage = async (): Promise<boolean> => {
      this.#deliver(sub, concatFrames(page), page.length)
      this.#stats.replayed += page.length
      page = []
      pageBytes = 0
      return (await stream.ready()) && this.#subs.get(stream) === sub
    }
    let after = position
    let result: HistoryResult
    for (;;) {
      try {
        result = after
          ? await this.#broker.history(sub.topics, after)
          : { kind: 'reset', reason: 'unknown', head: await this.#broker.head() }
      } catch (error) {
        // Going live now would leave a silent gap; closing lets the client retry the replay.
        this.#emit('error', error)
        stream.close()
        return
      }
      if (stream.closed || this.#subs.get(stream) !== sub) return
      if (result.kind !== 'ok') break
      for (const entry of result.entries) {
        const item = this.#toItem(entry)
        if (!item || !this.#accepts(sub, item)) continue
        page.push(item)
        pageBytes += item.frame.length
        if (pageBytes >= REPLAY_PAGE_BYTES && !(await writePage())) return
      }
      if (!result.next) break
      // The broker's page is taken: write what is gathered before asking for more.
      if (page.length > 0 && !(await writePage())) return
      after = result.next
    }
    if (result.kind === 'ok') {
      if (page.length > 0 && !(await writePage())) return
    }
    // A reset also mid-replay: a paged history can be trimmed, or lost, while the client reads.
    this.#goLive(sub, result.head, result.kind === 'ok' ? undefined : result.reason, lastEventId)
  }

  /** Ends a replay: the reset notice if there is one, then the live entries held back meanwhile. */
  #goLive(
    sub: Subscription,
    head: LogPosition,
    reset: ResetNotice['reason'] | undefined,
    lastEventId: string,
  ): void {
    if (reset) {
      const notice: ResetNotice = { reason: reset, lastEventId }
      sub.stream.writeFrame(
        encodeFrame(formatEvent({ id: formatLogId(head), event: RESET_EVENT, data: JSON.stringify(notice) })),
      )
      this.#stats.resets++
      this.#emit('reset', notice)
    }
    sub.watermark = head
    const pending = sub.pending ?? []
    sub.pending = undefined
    sub.pendingBytes = 0
    const live = pending.filter((item) => !seen(sub.watermark, item.entry))
    if (live.length > 0) this.#deliver(sub, concatFrames(live), live.length)
  }

  /** Whether `sub`'s principal or one of its tags was revoked at or after `position`. */
  #revokedAfter(sub: Subscription, position: LogPosition): boolean {
    if (this.#revokedAt.size === 0) return false
    const keys = [
      ...(sub.principal === undefined ? [] : [`p:${sub.principal}`]),
      ...(sub.tags ?? []).map((tag) => `t:${tag}`),
    ]
    for (const key of keys) {
      const at = this.#revokedAt.get(key)
      if (at && at.epoch === position.epoch && at.seq >= position.seq) return true
    }
    return false
  }

  #onEntry(entry: BrokerEntry): void {
    if (this.#closed) return
    this.#lastSeen = entry
    const item = this.#toItem(entry)
    if (!item) return
    this.#batch.push(item)
    if (!this.#scheduled) {
      this.#scheduled = true
      queueMicrotask(() => this.#flush())
    }
  }

  /**
   * The broker lost live entries: rather than let streams go on with a hole, close them. Each
   * client reconnects with its `Last-Event-ID` and gets the missed events from history, or a
   * reset when history lost them too.
   */
  #onGap(error: SseError): void {
    this.#emit('error', error)
    this.#flush()
    for (const sub of [...this.#subs.values()]) sub.stream.close()
  }

  /** Fans out the events published since the last flush: one shared buffer per topic. */
  #flush(): void {
    this.#scheduled = false
    const batch = this.#batch
    if (batch.length === 0) return
    this.#batch = []

    const byTopic = new Map<string, Item[]>()
    for (const item of batch) {
      const list = byTopic.get(item.entry.topic)
      if (list) list.push(item)
      else byTopic.set(item.entry.topic, [item])
    }
    let complex: Set<Subscription> | undefined
    for (const [topic, items] of byTopic) {
      const subs = this.#byTopic.get(topic)
      if (!subs) continue
      let shared: Uint8Array | undefined
      const first = items[0]!.entry
      for (const sub of subs) {
        if (sub.simple && sub.pending === undefined && !seen(sub.watermark, first)) {
          shared ??= concatFrames(items)
          this.#deliver(sub, shared, items.length)
        } else {
          complex ??= new Set()
          complex.add(sub)
        }
      }
    }
    if (!complex) return
    for (const sub of complex) {
      const items = batch.filter(
        (item) =>
          (sub.topicSet ? sub.topicSet.has(item.entry.topic) : sub.topics[0] === item.entry.topic) &&
          !seen(sub.watermark, item.entry),
      )
      const accepted = sub.filter ? items.filter((item) => this.#accepts(sub, item)) : items
      if (accepted.length === 0) continue
      if (sub.pending !== undefined) {
        for (const item of accepted) {
          sub.pending.push(item)
          sub.pendingBytes += item.frame.length
        }
        if (sub.pendingBytes > sub.stream.maxBufferedBytes) sub.stream.overflow()
      } else {
        this.#deliver(sub, concatFrames(accepted), accepted.length)
      }
    }
  }

  #deliver(sub: Subscription, bytes: Uint8Array, count: number): void {
    if (sub.stream.writeFrame(bytes, count)) this.#stats.delivered += count
    else if (!sub.stream.closed) this.#stats.dropped += count
  }

  #accepts(sub: Subscription, item: Item): boolean {
    if (!sub.filter) return true
    const { entry } = item
    try {
      return sub.filter({ topic: entry.topic, id: item.id, event: entry.event, data: entry.data })
    } catch (error) {
      reportError(error)
      return false
    }
  }

  #toItem(entry: BrokerEntry): Item | undefined {
    const id = formatLogId(entry)
    try {
      return { entry, id, frame: encodeFrame(formatEvent({ id, event: entry.event, data: entry.data })) }
    } catch (error) {
      // Only a broker shared with foreign writers can hand us an entry we would refuse to frame.
      this.#emit('error', error)
      return undefined
    }
  }

  /** @internal Called by a subscribed stream when it closes. */
  streamClosed(stream: EventStreamImpl<object>, reason: CloseReason): void {
    const sub = this.#subs.get(stream)
    if (sub) this.#remove(sub, reason)
  }

  /** The distinct topics of a subscription, or `SSE_INVALID_TOPIC` (none, too many, or a bad name). */
  #validTopics(requested: readonly string[] | undefined): string[] {
    const topics = [...new Set((requested ?? []).map(validateTopic))]
    if (topics.length === 0) throw new SseError('SSE_INVALID_TOPIC', 'subscribe() needs at least one topic')
    if (topics.length > this.limits.maxTopicsPerStream) {
      throw new SseError(
        'SSE_INVALID_TOPIC',
        `a subscription names at most ${this.limits.maxTopicsPerStream} topics (maxTopicsPerStream), got ${topics.length}`,
      )
    }
    return topics
  }

  #remove(sub: Subscription, reason: CloseReason | 'unsubscribe'): void {
    if (this.#subs.get(sub.stream) !== sub) return
    this.#subs.delete(sub.stream)
    if (sub.key !== undefined) {
      const left = this.keySize(sub.key) - 1
      if (left > 0) this.#byKey.set(sub.key, left)
      else this.#byKey.delete(sub.key)
    }
    if (sub.principal !== undefined) removeFrom(this.#byPrincipal, sub.principal, sub)
    for (const tag of sub.tags ?? []) removeFrom(this.#byTag, tag, sub)
    // Before the topics' sets go: their counts of holders include this stream.
    const released = this.#setHolding(sub, false)
    for (const topic of sub.topics) {
      const set = this.#byTopic.get(topic)
      set?.delete(sub)
      if (set?.size === 0) this.#byTopic.delete(topic)
    }
    this.#control.changed(this.#controlTarget, sub.topics)
    if (reason === 'overflow') this.#stats.overflowCloses++
    else if (reason === 'slow') this.#stats.slowCloses++
    if (released) this.#releaseReady()
    this.#emit('unsubscribe', { topics: sub.topics, reason })
  }

  #emit<E extends keyof HubEvents>(event: E, ...args: HubEvents[E]): void {
    const set = this.#listeners.get(event) as Set<(...args: HubEvents[E]) => void> | undefined
    if (!set || set.size === 0) {
      if (event === 'error') reportUnhandledHubError(args[0])
      return
    }
    for (const listener of set) {
      try {
        listener(...args)
      } catch (error) {
        reportError(error)
      }
    }
  }
}

/**
 * Creates a hub. Typed by an event map when given one.
 *
 * @example
 * const hub = createHub<{ price: { symbol: string; price: number } }>()
 * // per request: const stream = createEventStream(sink, { lastEventId }); hub.subscribe(stream, { topics: ['prices'] })
 * await hub.publish('prices', { event: 'price', data: { symbol: 'ACME', price: 12.5 } })
 */
export function createHub<M extends object = DefaultEventMap>(options: HubOptions = {}): Hub<M> {
  return new HubImpl<M>(options)
}
