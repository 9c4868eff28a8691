/**
 * Timers, injectable. The defaults look the globals up on every call ("wrap, don't alias"), so
 * `vi.useFakeTimers()` and its peers work, and a test can pass its own. The client's timers are
 * deliberately not `unref`'d: a Node script waiting to reconnect is waiting for its events, and
 * must not exit in the middle of the backoff.
 */

export type ClientTimerHandle = unknown

/**
 * The longest delay a timer holds: Node and browsers keep it in a signed 32-bit integer and run a
 * longer one after 1 ms. A wait that may be longer (an `idleTimeout` of months) is armed in steps.
 */
export const MAX_TIMER_MS: number = 2 ** 31 - 1

/** What the client needs from a clock: one-shot timers and the time. */
export interface ClientTimers {
  setTimeout(callback: () => void, ms: number): ClientTimerHandle
  clearTimeout(handle: ClientTimerHandle): void
  /** Milliseconds since the epoch; used to tell how long a connection stayed open. */
  now(): number
}

/** The runtime's timers, looked up at call time. */
export const defaultTimers: ClientTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as Parameters<typeof clearTimeout>[0]),
  now: () => Date.now(),
}
