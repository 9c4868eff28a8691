/**
 * The queue behind one `for await` loop: events pushed by the client wait here until the loop
 * takes them. The client watches `size` to pause reading while a loop lags (the server then sees
 * backpressure), and `onTake` to resume. `return()` (leaving the loop) closes the client.
 */

/**
 * @example
 * const queue = new MessageQueue<string>(() => client.close(), () => resumeReading())
 * queue.push('a')
 * for await (const item of queue) console.log(item)
 */
export class MessageQueue<T> implements AsyncIterableIterator<T> {
  #items: T[] = []
  #head = 0
  #waiter: { resolve(result: IteratorResult<T>): void; reject(error: unknown): void } | undefined
  #ended = false
  #error: unknown
  readonly #onReturn: () => void
  readonly #onTake: () => void

  /** `onReturn`: the loop was left; `onTake`: the loop took an item (the queue shrank). */
  constructor(onReturn: () => void, onTake: () => void) {
    this.#onReturn = onReturn
    this.#onTake = onTake
  }

  get size(): number {
    return this.#items.length - this.#head
  }

  push(item: T): void {
    if (this.#ended) return
    const waiter = this.#waiter
    if (waiter) {
      this.#waiter = undefined
      waiter.resolve({ value: item, done: false })
    } else {
      this.#items.push(item)
    }
  }

  /** No more items; the loop ends after the queued ones, throwing `error` if given. */
  end(error?: unknown): void {
    if (this.#ended) return
    this.#ended = true
    this.#error = error
    const waiter = this.#waiter
    if (!waiter) return
    this.#waiter = undefined
    if (error === undefined) waiter.resolve({ value: undefined, done: true })
    else {
      this.#error = undefined
      waiter.reject(error)
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.size > 0) {
      const value = this.#items[this.#head] as T
      this.#head++
      if (this.#head === this.#items.length) {
        this.#items = []
        this.#head = 0
      }
      this.#onTake()
      return Promise.resolve({ value, done: false })
    }
    if (this.#ended) {
      const error = this.#error
      this.#error = undefined
      return error === undefined ? Promise.resolve({ value: undefined, done: true }) : Promise.reject(error)
    }
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject }
    })
  }

  return(): Promise<IteratorResult<T>> {
    this.#items = []
    this.#head = 0
    this.#error = undefined
    this.end()
    this.#onReturn()
    return Promise.resolve({ value: undefined, done: true })
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this
  }
}
