/**
 * The idle watchdog of one connection: aborts it when nothing, not even a heartbeat comment,
 * arrived for `idleTimeout` ms. One timer per connection, re-armed lazily: a chunk only records
 * the time, so a fast stream costs no timer churn.
 */
import { type ClientTimerHandle, type ClientTimers, MAX_TIMER_MS } from './timers.ts'

export interface IdleWatchdog {
  /** Something arrived. */
  touch(): void
  /** Whether the watchdog aborted the connection. */
  readonly fired: boolean
}

/**
 * Watches the connection of `controller`; `limit` 0 watches nothing. The timer is cleared when
 * the controller aborts, whoever aborts it, so a closed client leaves no timer behind.
 *
 * @example
 * const idle = watchIdle(timers, 45_000, controller)
 * for (;;) { const chunk = await reader.read(); idle.touch() … }
 */
export function watchIdle(timers: ClientTimers, limit: number, controller: AbortController): IdleWatchdog {
  let last = timers.now()
  let handle: ClientTimerHandle | undefined
  const state = {
    fired: false,
    touch: () => {
      if (limit > 0) last = timers.now()
    },
  }
  const stop = (): void => {
    if (handle !== undefined) timers.clearTimeout(handle)
    handle = undefined
  }
  // At most MAX_TIMER_MS at a time: a longer timer would fire after 1 ms, and the check below
  // re-arms for the rest of the silence anyway.
  const arm = (ms: number): void => {
    handle = timers.setTimeout(
      () => {
        const quiet = timers.now() - last
        if (quiet < limit) return arm(limit - quiet)
        handle = undefined
        state.fired = true
        controller.abort()
      },
      Math.min(ms, MAX_TIMER_MS),
    )
  }
  if (limit > 0 && !controller.signal.aborted) {
    controller.signal.addEventListener('abort', stop, { once: true })
    arm(limit)
  }
  return state
}
