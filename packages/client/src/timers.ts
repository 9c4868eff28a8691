/**
 * Timers, injectable. The defaults look the globals up on every call ("wrap, don't alias"), so
 * `vi.useFakeTimers()` and its peers work, and a test can pass its own. The client's timers are
 * deliberately not `unref`'d: a Node script waiting to reconnect is waiting for its events, and
 * must not exit in the middle of the backoff.
 */

export type ClientTimerHandle = unknown

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
