/**
 * A max-heap of keys by a number that changes, with O(log n) updates: which topic holds the most
 * history right now, so that the memory broker evicts from it and never from a quiet topic that
 * holds less than its share. Among equal values the larger `tie` ranks first (the broker passes
 * minus the seq of the topic's oldest entry: the oldest entry goes, not the newest).
 */
export class KeyedMaxHeap<K> {
  readonly #keys: K[] = []
  readonly #values: number[] = []
  readonly #ties: number[] = []
  readonly #at = new Map<K, number>()

  get size(): number {
    return this.#keys.length
  }

  /** The key with the largest value; among equals, the one with the largest tie. */
  peek(): K | undefined {
    return this.#keys[0]
  }

  /** Inserts `key`, or moves it to its place for a new `value` (and `tie`, for equal values). */
  set(key: K, value: number, tie = 0): void {
    const at = this.#at.get(key)
    if (at === undefined) {
      this.#keys.push(key)
      this.#values.push(value)
      this.#ties.push(tie)
      this.#at.set(key, this.#keys.length - 1)
      this.#up(this.#keys.length - 1)
      return
    }
    this.#values[at] = value
    this.#ties[at] = tie
    this.#up(at)
    this.#down(at)
  }

  delete(key: K): void {
    const at = this.#at.get(key)
    if (at === undefined) return
    const last = this.#keys.length - 1
    this.#swap(at, last)
    this.#keys.pop()
    this.#values.pop()
    this.#ties.pop()
    this.#at.delete(key)
    if (at < last) {
      this.#up(at)
      this.#down(at)
    }
  }

  clear(): void {
    this.#keys.length = 0
    this.#values.length = 0
    this.#ties.length = 0
    this.#at.clear()
  }

  #up(index: number): void {
    let at = index
    while (at > 0) {
      const parent = (at - 1) >> 1
      if (!this.#above(at, parent)) return
      this.#swap(at, parent)
      at = parent
    }
  }

  #down(index: number): void {
    let at = index
    for (;;) {
      const left = 2 * at + 1
      const right = left + 1
      let top = at
      if (left < this.#keys.length && this.#above(left, top)) top = left
      if (right < this.#keys.length && this.#above(right, top)) top = right
      if (top === at) return
      this.#swap(at, top)
      at = top
    }
  }

  /** Whether the entry at `a` ranks strictly above the one at `b`. */
  #above(a: number, b: number): boolean {
    const values = this.#values
    return values[a]! > values[b]! || (values[a] === values[b] && this.#ties[a]! > this.#ties[b]!)
  }

  #swap(a: number, b: number): void {
    if (a === b) return
    const keys = this.#keys
    const values = this.#values
    const ties = this.#ties
    ;[keys[a], keys[b]] = [keys[b]!, keys[a]!]
    ;[values[a], values[b]] = [values[b]!, values[a]!]
    ;[ties[a], ties[b]] = [ties[b]!, ties[a]!]
    this.#at.set(keys[a]!, a)
    this.#at.set(keys[b]!, b)
  }
}
