/**
 * The memory broker's log: entries in parallel arrays used as one ring, not an object each.
 *
 * Why: history keeps an entry for a thousand events or more, so an object per entry outlives
 * the young generation's collections by design; every published event then survives a scavenge
 * or two and is promoted, and V8 answers that survival by growing the young generation. In the
 * flow benchmark that was most of core's peak memory over the raw `node:http` loop (see
 * bench/README.md). Here the arrays are allocated once (doubling up to the limit) and an event
 * leaves only its strings behind, which an app's own data usually is anyway.
 *
 * Seqs are contiguous (the broker numbers every publish), so an entry is found by arithmetic:
 * the one with seq `s` is at offset `s - firstSeq` from the oldest.
 */
export class HistoryRing {
  readonly #limit: number
  #topics: string[] = []
  #events: Array<string | undefined> = []
  #data: string[] = []
  #times: Float64Array = new Float64Array(0)
  /** Index of the oldest entry. */
  #head = 0
  #count = 0
  /** Seq of the oldest entry (of the next one pushed, while empty). */
  #firstSeq = 0

  /** @param limit the most entries it will ever hold (`historySize`). */
  constructor(limit: number) {
    this.#limit = limit
  }

  get count(): number {
    return this.#count
  }

  /** Seq of the oldest entry; meaningful while `count > 0`. */
  get firstSeq(): number {
    return this.#firstSeq
  }

  /** Appends an entry; `seq` follows the newest one. The caller evicts first when it is full. */
  push(seq: number, topic: string, event: string | undefined, data: string, time: number): void {
    if (this.#count === this.#topics.length) this.#grow()
    if (this.#count === 0) this.#firstSeq = seq
    const at = this.#index(this.#count)
    this.#topics[at] = topic
    this.#events[at] = event
    this.#data[at] = data
    this.#times[at] = time
    this.#count++
  }

  /** Drops the oldest entry, releasing its strings. */
  shift(): void {
    const at = this.#head
    this.#topics[at] = ''
    this.#events[at] = undefined
    this.#data[at] = ''
    this.#head = (at + 1) % this.#topics.length
    this.#firstSeq++
    this.#count--
  }

  /** Empties the ring and gives its arrays back. */
  clear(): void {
    this.#topics = []
    this.#events = []
    this.#data = []
    this.#times = new Float64Array(0)
    this.#head = 0
    this.#count = 0
  }

  /** Topic of the entry `offset` places after the oldest. */
  topic(offset: number): string {
    return this.#topics[this.#index(offset)]!
  }

  event(offset: number): string | undefined {
    return this.#events[this.#index(offset)]
  }

  data(offset: number): string {
    return this.#data[this.#index(offset)]!
  }

  time(offset: number): number {
    return this.#times[this.#index(offset)]!
  }

  #index(offset: number): number {
    const at = this.#head + offset
    return at < this.#topics.length ? at : at - this.#topics.length
  }

  /** Doubles the capacity (up to the limit), keeping the entries in order from index 0. */
  #grow(): void {
    const old = this.#topics.length
    const capacity = Math.min(this.#limit, Math.max(16, old * 2))
    const topics = new Array<string>(capacity).fill('')
    const events = new Array<string | undefined>(capacity).fill(undefined)
    const data = new Array<string>(capacity).fill('')
    const times = new Float64Array(capacity)
    for (let i = 0; i < this.#count; i++) {
      const at = this.#index(i)
      topics[i] = this.#topics[at]!
      events[i] = this.#events[at]
      data[i] = this.#data[at]!
      times[i] = this.#times[at]!
    }
    this.#topics = topics
    this.#events = events
    this.#data = data
    this.#times = times
    this.#head = 0
  }
}
