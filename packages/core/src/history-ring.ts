/**
 * One topic's history in the memory broker: its entries in parallel arrays used as a ring, not
 * an object each.
 *
 * Why arrays: history keeps an entry for a thousand events or more, so an object per entry
 * outlives the young generation's collections by design; every published event then survives a
 * scavenge or two and is promoted, and V8 answers that survival by growing the young generation.
 * In the flow benchmark that was most of core's peak memory over the raw `node:http` loop (see
 * bench/README.md). Here the arrays are allocated once (doubling up to the limit) and an event
 * leaves only its strings behind, which an app's own data usually is anyway.
 *
 * Seqs ascend (the broker numbers every publish), so the entries after a position are found by
 * binary search: a replay costs what the client missed on this topic, whatever other topics did.
 */
export class HistoryRing {
  readonly #limit: number
  #seqs: Float64Array = new Float64Array(0)
  #events: Array<string | undefined> = []
  #data: string[] = []
  #times: Float64Array = new Float64Array(0)
  /** Index of the oldest entry. */
  #head = 0
  #count = 0

  /** @param limit the most entries it will ever hold. */
  constructor(limit: number) {
    this.#limit = limit
  }

  get count(): number {
    return this.#count
  }

  /** Appends an entry; `seq` is above the newest one's. The caller evicts first when it is full. */
  push(seq: number, event: string | undefined, data: string, time: number): void {
    if (this.#count === this.#seqs.length) this.#grow()
    const at = this.#index(this.#count)
    this.#seqs[at] = seq
    this.#events[at] = event
    this.#data[at] = data
    this.#times[at] = time
    this.#count++
  }

  /** Drops the oldest entry, releasing its strings. */
  shift(): void {
    const at = this.#head
    this.#events[at] = undefined
    this.#data[at] = ''
    this.#head = (at + 1) % this.#seqs.length
    this.#count--
  }

  /** Seq of the entry `offset` places after the oldest. */
  seq(offset: number): number {
    return this.#seqs[this.#index(offset)]!
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

  /** Offset of the first entry with a seq above `seq` (`count` when there is none). */
  after(seq: number): number {
    let low = 0
    let high = this.#count
    while (low < high) {
      const mid = (low + high) >>> 1
      if (this.seq(mid) <= seq) low = mid + 1
      else high = mid
    }
    return low
  }

  #index(offset: number): number {
    const at = this.#head + offset
    return at < this.#seqs.length ? at : at - this.#seqs.length
  }

  /** Doubles the capacity (up to the limit), keeping the entries in order from index 0. */
  #grow(): void {
    const capacity = Math.min(this.#limit, Math.max(8, this.#seqs.length * 2))
    const seqs = new Float64Array(capacity)
    const events = new Array<string | undefined>(capacity).fill(undefined)
    const data = new Array<string>(capacity).fill('')
    const times = new Float64Array(capacity)
    for (let i = 0; i < this.#count; i++) {
      const at = this.#index(i)
      seqs[i] = this.#seqs[at]!
      events[i] = this.#events[at]
      data[i] = this.#data[at]!
      times[i] = this.#times[at]!
    }
    this.#seqs = seqs
    this.#events = events
    this.#data = data
    this.#times = times
    this.#head = 0
  }
}
