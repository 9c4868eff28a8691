/**
 * The listeners of one kind of event. A listener that throws is reported with `console.error`
 * and the others still run: one failing callback of the app must not stop delivery or cleanup.
 */

export type Listener<T> = (value: T) => void

/**
 * Calls `listener`; a throw is logged, never passed on.
 *
 * @example
 * queueMicrotask(() => callListener(listener, closeInfo)) // a late onClose listener
 */
export function callListener<T>(listener: Listener<T>, value: T): void {
  try {
    listener(value)
  } catch (error) {
    console.error('[@sse/client] a listener threw; delivery went on:', error)
  }
}

/**
 * @example
 * const opens = new Emitter<OpenInfo>()
 * const off = opens.add((info) => console.log('open', info.status))
 * opens.emit({ attempt: 0, status: 200, headers: new Headers() })
 * off()
 */
export class Emitter<T> {
  readonly #listeners = new Set<Listener<T>>()

  get size(): number {
    return this.#listeners.size
  }

  /** Adds a listener; returns its unsubscribe. */
  add(listener: Listener<T>): () => void {
    this.#listeners.add(listener)
    return () => {
      this.#listeners.delete(listener)
    }
  }

  /** Calls each listener present when the emit starts, in the order they were added. */
  emit(value: T): void {
    for (const listener of [...this.#listeners]) callListener(listener, value)
  }

  clear(): void {
    this.#listeners.clear()
  }
}
