/**
 * Deadlines for every await in a test. A test that waits on a socket without a deadline hangs
 * until the runner's own timeout, and then says nothing about what it was waiting for; with
 * `withTimeout` it fails at once with a label naming the wait and the state it saw.
 *
 * Deadlines detect hangs; they are never timing assertions. Pick them generously.
 */
import { setTimeout as sleep } from 'node:timers/promises'

/** The default deadline of one wait in the helpers of this package. */
export const DEFAULT_TIMEOUT_MS = 5_000

/** Thrown when a wait passes its deadline. */
export class DeadlineError extends Error {
  override readonly name = 'DeadlineError'
}

/**
 * Resolves or rejects like `promise`, or rejects with a `DeadlineError` after `ms`.
 * `label` may be a function, so it can describe the state at the moment the deadline hits.
 *
 * @example
 * const reader = await withTimeout(openEventStream(url), 2000, 'response head')
 */
export function withTimeout<T>(
  promise: PromiseLike<T>,
  ms: number,
  label: string | (() => string),
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      const text = typeof label === 'function' ? label() : label
      reject(new DeadlineError(`${text}: no result after ${ms} ms`))
    }, ms)
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clearTimeout(timer)
        reject(error)
      },
    )
  })
}

/**
 * Polls `check` until it returns true, or rejects after `ms`. For state that has no event to
 * wait on, such as `hub.size` after a client left.
 *
 * @example
 * await pollUntil(() => hub.size === 0, 1000, () => `hub.size is ${hub.size}`)
 */
export async function pollUntil(
  check: () => boolean,
  ms: number,
  label: string | (() => string),
  intervalMs = 5,
): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() >= deadline) {
      const text = typeof label === 'function' ? label() : label
      throw new DeadlineError(`${text}: condition still false after ${ms} ms`)
    }
    await sleep(intervalMs)
  }
}

/**
 * Re-checks conditions whenever something changes. Readers call `notify()` on every frame; a
 * wait registers a check and resolves when it first holds, or fails at its deadline.
 */
export class ChangeWaiter {
  readonly #checks = new Set<() => void>()

  /** Re-runs every pending check. */
  notify(): void {
    for (const run of [...this.#checks]) run()
  }

  /** Resolves with `read()` once `done()` holds (checked now and on every `notify`); a throw rejects. */
  until<T>(done: () => boolean, read: () => T, ms: number, label: string | (() => string)): Promise<T> {
    let run: () => void = () => {}
    const waiting = new Promise<T>((resolve, reject) => {
      run = () => {
        try {
          if (!done()) return
          this.#checks.delete(run)
          resolve(read())
        } catch (error) {
          this.#checks.delete(run)
          reject(error)
        }
      }
      this.#checks.add(run)
      run()
    })
    return withTimeout(waiting, ms, label).finally(() => this.#checks.delete(run))
  }
}
