/**
 * `MemoryBroker`: the embedded, single-process `Broker`. History is kept per topic, under bounds
 * for the whole hub (by count, by size and, optionally, by age). Its epoch is random per broker,
 * so after a restart every old id is recognised as stale and answered with a reset.
 *
 * Per topic, so that a busy topic costs a quiet one nothing:
 * - A replay reads only the client's topics: what it missed there, found by binary search,
 *   however many entries the other topics have.
 * - Past a bound, the oldest entry of the topic that holds the most (entries for `historySize`,
 *   bytes for `historyMaxBytes`) goes first, so a busy topic evicts its own history, never that of
 *   a quiet topic holding less than its share.
 * - Trimming is tracked per topic: a client of a topic is reset only when an entry of one of its
 *   own topics that it had not seen was evicted.
 */
import type { Broker, BrokerEntry, BrokerMessage, HistoryResult } from './broker.ts'
import { SseError } from './errors.ts'
import { HistoryRing } from './history-ring.ts'
import { createEpoch, type LogPosition } from './last-event-id.ts'
import { KeyedMaxHeap } from './max-heap.ts'
import { reportError } from './report-error.ts'
import { defaultTimers, type TimerProvider } from './timers.ts'

/**
 * Default of `MemoryBrokerOptions.historyMaxBytes`: 64 MiB. Far above what 1000 ordinary events
 * take (1000 of 1 KB: 1 MB), so `historySize` decides for them; it bounds the log when events are
 * large: at least 64 events of the default `maxEventBytes` (1 MiB) are kept.
 */
export const DEFAULT_HISTORY_MAX_BYTES: number = 64 * 1024 * 1024

export interface MemoryBrokerOptions {
  /**
   * Entries kept for replay, across all topics. Default 1000; 0 keeps none. Past it, the oldest
   * entry of the topic holding the most entries goes.
   */
  historySize?: number | undefined
  /**
   * Size of the entries kept for replay, across all topics, counted as the length of their topic,
   * event name and serialized data (UTF-16 code units: bytes for ASCII text such as JSON; text
   * beyond Latin-1 takes up to twice that in memory). The oldest entries go first; an entry larger
   * than this is not kept at all. Default 64 MiB; 0 keeps none.
   */
  historyMaxBytes?: number | undefined
  /** Entries older than this (ms) are dropped from history. Default: no age limit. */
  historyMaxAgeMs?: number | undefined
  /** Clock for ages (tests inject fakes). */
  timers?: TimerProvider | undefined
}

/** An entry's size for `historyMaxBytes`: O(1), whatever the size of its data. */
function sizeOf(topic: string, event: string | undefined, data: string): number {
  return topic.length + (event?.length ?? 0) + data.length
}

/** One topic's retained history and its size. */
interface TopicLog {
  readonly ring: HistoryRing
  bytes: number
}

/** A topic's eviction point; `recent` marks one evicted from since the last sweep passed it. */
interface EvictedTopic {
  seq: number
  recent: boolean
}

/** Distinct topics whose eviction point is remembered; past it the oldest merge into one floor. */
const MAX_TRACKED_TOPICS = 10_000

export class MemoryBroker implements Broker {
  readonly epoch: string = createEpoch()
  readonly #historySize: number
  readonly #maxBytes: number
  readonly #maxAgeMs: number
  readonly #timers: TimerProvider
  readonly #listeners = new Set<(entry: BrokerEntry) => void>()
  /** Each topic's retained history, for topics with at least one entry. */
  readonly #logs = new Map<string, TopicLog>()
  /** Topics by how many entries they hold, and by their size: who gives up an entry past a bound. */
  readonly #byCount = new KeyedMaxHeap<string>()
  readonly #bySize = new KeyedMaxHeap<string>()
  #seq = 0
  /** Entries retained, across topics. */
  #count = 0
  /** The size of what is retained, as `historyMaxBytes` counts it. */
  #bytes = 0
  /** Per topic, the highest seq evicted from history. */
  readonly #evicted = new Map<string, EvictedTopic>()
  /** The highest evicted seq of topics no longer tracked individually. */
  #evictedFloor = 0
  #closed = false

  constructor(options: MemoryBrokerOptions = {}) {
    const size = options.historySize ?? 1000
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new SseError('SSE_INVALID_OPTION', `historySize must be a non-negative integer, got ${size}`)
    }
    const bytes = options.historyMaxBytes ?? DEFAULT_HISTORY_MAX_BYTES
    if (!Number.isSafeInteger(bytes) || bytes < 0) {
      throw new SseError(
        'SSE_INVALID_OPTION',
        `historyMaxBytes must be a non-negative integer, got ${String(bytes)}`,
      )
    }
    const age = options.historyMaxAgeMs ?? Number.POSITIVE_INFINITY
    if (!(age > 0)) throw new SseError('SSE_INVALID_OPTION', `historyMaxAgeMs must be positive, got ${age}`)
    this.#historySize = size
    this.#maxBytes = bytes
    this.#maxAgeMs = age
    this.#timers = options.timers ?? defaultTimers
  }

  publish(topic: string, message: BrokerMessage): Promise<BrokerEntry> {
    if (this.#closed)
      return Promise.reject(new SseError('SSE_BROKER_UNAVAILABLE', 'the memory broker is closed'))
    const { event, data } = message
    const entry: BrokerEntry = { topic, event, data, epoch: this.epoch, seq: ++this.#seq }
    if (this.#historySize > 0) {
      this.#evictExpired(topic)
      let log = this.#logs.get(topic)
      if (!log) {
        // One over the bound: an entry is pushed before the bound evicts.
        log = { ring: new HistoryRing(this.#historySize + 1), bytes: 0 }
        this.#logs.set(topic, log)
      }
      const size = sizeOf(topic, event, data)
      log.ring.push(entry.seq, event, data, this.#timers.now())
      log.bytes += size
      this.#count++
      this.#bytes += size
      // Among topics holding as much, the one whose oldest entry is oldest gives one up first.
      this.#byCount.set(topic, log.ring.count, -log.ring.seq(0))
      this.#bySize.set(topic, log.bytes, -log.ring.seq(0))
      while (this.#count > this.#historySize) this.#evictOldest(this.#byCount.peek()!)
      while (this.#bytes > this.#maxBytes && this.#count > 0) this.#evictOldest(this.#bySize.peek()!)
    } else {
      this.#markEvicted(topic, entry.seq)
    }
    for (const listener of this.#listeners) {
      try {
        listener(entry)
      } catch (error) {
        reportError(error)
      }
    }
    return Promise.resolve(entry)
  }

  subscribe(listener: (entry: BrokerEntry) => void): () => void {
    const own = (entry: BrokerEntry) => listener(entry)
    this.#listeners.add(own)
    return () => {
      this.#listeners.delete(own)
    }
  }

  history(topics: readonly string[], after: LogPosition): Promise<HistoryResult> {
    const head = { epoch: this.epoch, seq: this.#seq }
    if (after.epoch !== this.epoch) return Promise.resolve({ kind: 'reset', reason: 'epoch', head })
    if (after.seq > this.#seq) return Promise.resolve({ kind: 'reset', reason: 'unknown', head })
    for (const topic of topics) {
      this.#evictExpired(topic)
      if ((this.#evicted.get(topic)?.seq ?? this.#evictedFloor) > after.seq) {
        return Promise.resolve({ kind: 'reset', reason: 'trimmed', head })
      }
    }
    // Only the client's topics, from where it stands in each: what it missed, nothing else.
    const entries: BrokerEntry[] = []
    for (const topic of new Set(topics)) {
      const ring = this.#logs.get(topic)?.ring
      if (!ring) continue
      for (let i = ring.after(after.seq); i < ring.count; i++) {
        entries.push({ topic, event: ring.event(i), data: ring.data(i), epoch: this.epoch, seq: ring.seq(i) })
      }
    }
    if (topics.length > 1) entries.sort((a, b) => a.seq - b.seq)
    return Promise.resolve({ kind: 'ok', entries, head })
  }

  head(): Promise<LogPosition> {
    return Promise.resolve({ epoch: this.epoch, seq: this.#seq })
  }

  close(): Promise<void> {
    this.#closed = true
    this.#listeners.clear()
    this.#logs.clear()
    this.#byCount.clear()
    this.#bySize.clear()
    this.#count = 0
    this.#bytes = 0
    return Promise.resolve()
  }

  /**
   * Drops `topic`'s entries older than `historyMaxAgeMs`. Per topic, when it is published to or
   * read: a topic nobody touches keeps its expired entries until a bound evicts them, and no
   * client can be replayed one.
   */
  #evictExpired(topic: string): void {
    if (this.#maxAgeMs === Number.POSITIVE_INFINITY) return
    const ring = this.#logs.get(topic)?.ring
    if (!ring) return
    const cutoff = this.#timers.now() - this.#maxAgeMs
    while (ring.count > 0 && ring.time(0) <= cutoff) this.#evictOldest(topic)
  }

  /** Evicts `topic`'s oldest entry. */
  #evictOldest(topic: string): void {
    const log = this.#logs.get(topic)!
    const ring = log.ring
    const size = sizeOf(topic, ring.event(0), ring.data(0))
    this.#markEvicted(topic, ring.seq(0))
    ring.shift()
    log.bytes -= size
    this.#count--
    this.#bytes -= size
    if (ring.count === 0) {
      this.#logs.delete(topic)
      this.#byCount.delete(topic)
      this.#bySize.delete(topic)
    } else {
      this.#byCount.set(topic, ring.count, -ring.seq(0))
      this.#bySize.set(topic, log.bytes, -ring.seq(0))
    }
  }

  #markEvicted(topic: string, seq: number): void {
    // Updated in place: this runs for every event once history is full, and a delete and set
    // per event on a Map this old makes V8 rebuild its table each time, in the old generation.
    const known = this.#evicted.get(topic)
    if (known) {
      known.seq = seq
      known.recent = true
      return
    }
    this.#evicted.set(topic, { seq, recent: false })
    if (this.#evicted.size > MAX_TRACKED_TOPICS) this.#forgetOneTopic()
  }

  /**
   * Merges one topic into `#evictedFloor`: the oldest tracked one that nothing was evicted from
   * since the last sweep passed it (a second chance, as a clock cache does). Each pass over a
   * recent topic clears its mark, so a sweep ends within one round of the map.
   */
  #forgetOneTopic(): void {
    for (const [topic, evicted] of this.#evicted) {
      this.#evicted.delete(topic)
      if (evicted.recent) {
        evicted.recent = false
        this.#evicted.set(topic, evicted)
        continue
      }
      this.#evictedFloor = Math.max(this.#evictedFloor, evicted.seq)
      return
    }
  }
}
