/**
 * Timers, injectable. Core never captures `setTimeout` at import time: the defaults call the
 * globals on every use ("wrap, don't alias"), so `vi.useFakeTimers()` and friends work, and tests
 * or exotic runtimes can pass their own provider. Every timer core starts is `unref`'d where the
 * runtime supports it, so an idle hub never keeps a process alive.
 */

export type TimerHandle = unknown

export interface TimerProvider {
  setTimeout(callback: () => void, ms: number): TimerHandle
  clearTimeout(handle: TimerHandle): void
  setInterval(callback: () => void, ms: number): TimerHandle
  clearInterval(handle: TimerHandle): void
  /** Milliseconds since the epoch; used for history ages. */
  now(): number
}

function unref(handle: TimerHandle): TimerHandle {
  const maybe = handle as { unref?: () => void } | null
  if (maybe && typeof maybe.unref === 'function') maybe.unref()
  return handle
}

/** The runtime's own timers, looked up at call time and `unref`'d. */
export const defaultTimers: TimerProvider = {
  setTimeout: (callback, ms) => unref(setTimeout(callback, ms)),
  clearTimeout: (handle) => clearTimeout(handle as Parameters<typeof clearTimeout>[0]),
  setInterval: (callback, ms) => unref(setInterval(callback, ms)),
  clearInterval: (handle) => clearInterval(handle as Parameters<typeof clearInterval>[0]),
  now: () => Date.now(),
}
