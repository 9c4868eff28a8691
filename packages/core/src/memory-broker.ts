/**
 * `MemoryBroker`: the embedded, single-process `Broker`. History is one bounded log for the
 * whole hub (by count, by size and, optionally, by age). Its epoch is random per broker, so after
 * a restart every old id is recognised as stale and answered with a reset.
 *
 * Trimming is tracked per topic: a client of a quiet topic is not reset just because a busy
 * topic pushed older entries out of the log, only when an entry of one of its own topics that
 * it had not seen was evicted.
 */
import type { Broker, BrokerEntry, BrokerMessage, HistoryResult } from './broker.ts'
import { SseError } from './errors.ts'
import { HistoryRing } from './history-ring.ts'
import { createEpoch, type LogPosition } from './last-event-id.ts'
import { reportError } from './report-error.ts'
import { defaultTimers, type TimerProvider } from './timers.ts'

/**
 * Default of `MemoryBrokerOptions.historyMaxBytes`: 64 MiB. Far above what 1000 ordinary events
 * take (1000 of 1 KB: 1 MB), so `historySize` decides for them; it bounds the log when events are
 * large: at least 64 events of the default `maxEventBytes` (1 MiB) are kept.
 */
export const DEFAULT_HISTORY_MAX_BYTES: number = 64 * 1024 * 1024

export interface MemoryBrokerOptions {
  /** Entries kept for replay, across all topics. Default 1000; 0 keeps none. */
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
  /** The retained log. */
  readonly #log: HistoryRing
  #seq = 0
  /** The size of the retained log, as `historyMaxBytes` counts it. */
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
    this.#log = new HistoryRing(size)
  }

  publish(topic: string, message: BrokerMessage): Promise<BrokerEntry> {
    if (this.#closed)
      return Promise.reject(new SseError('SSE_BROKER_UNAVAILABLE', 'the memory broker is closed'))
    const { event, data } = message
    const entry: BrokerEntry = { topic, event, data, epoch: this.epoch, seq: ++this.#seq }
    if (this.#historySize > 0) {
      if (this.#log.count === this.#historySize) this.#evictOldest()
      this.#log.push(entry.seq, topic, event, data, this.#timers.now())
      this.#bytes += sizeOf(topic, event, data)
      while (this.#bytes > this.#maxBytes && this.#log.count > 0) this.#evictOldest()
    } else {
      this.#markEvicted(topic, entry.seq)
    }
    this.#evictExpired()
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
    this.#evictExpired()
    for (const topic of topics) {
      if ((this.#evicted.get(topic)?.seq ?? this.#evictedFloor) > after.seq) {
        return Promise.resolve({ kind: 'reset', reason: 'trimmed', head })
      }
    }
    const entries: BrokerEntry[] = []
    const log = this.#log
    const wanted = new Set(topics)
    // Seqs in the log are contiguous, so the first entry after `after` is found by arithmetic.
    for (let i = Math.max(0, after.seq + 1 - log.firstSeq); i < log.count; i++) {
      const topic = log.topic(i)
      if (wanted.has(topic)) {
        entries.push({
          topic,
          event: log.event(i),
          data: log.data(i),
          epoch: this.epoch,
          seq: log.firstSeq + i,
        })
      }
    }
    return Promise.resolve({ kind: 'ok', entries, head })
  }

  head(): Promise<LogPosition> {
    return Promise.resolve({ epoch: this.epoch, seq: this.#seq })
  }

  close(): Promise<void> {
    this.#closed = true
    this.#listeners.clear()
    this.#log.clear()
    this.#bytes = 0
    return Promise.resolve()
  }

  #evictExpired(): void {
    if (this.#maxAgeMs === Number.POSITIVE_INFINITY) return
    const cutoff = this.#timers.now() - this.#maxAgeMs
    while (this.#log.count > 0 && this.#log.time(0) <= cutoff) this.#evictOldest()
  }

  #evictOldest(): void {
    const log = this.#log
    const topic = log.topic(0)
    this.#bytes -= sizeOf(topic, log.event(0), log.data(0))
    this.#markEvicted(topic, log.firstSeq)
    log.shift()
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
