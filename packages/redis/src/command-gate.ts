/**
 * `CommandGate`: how many commands one Redis connection has in flight, and what waits behind them.
 *
 * Why: ioredis starts a command's timeout when it writes the command, so a burst of 10,000
 * publishes written at once puts the last one behind 9,999 others, and it times out on a healthy
 * Redis only because it waited its turn (issue 20). The gate sends at most `maxInFlight` commands;
 * the rest wait here, in order, and their wait does not count against the command timeout, so a
 * timeout means what it says: Redis did not answer. The wait is bounded too: past `maxQueued`
 * waiting commands, `run` rejects at once with `SSE_BROKER_BUSY`, a clear "too many at once"
 * rather than an unbounded queue in memory.
 *
 * When a command fails because Redis is unreachable (or hangs), every command still waiting is
 * rejected at the same moment: it would meet the same Redis, and it was never sent, so the caller
 * knows for sure it did not happen. A burst during an outage therefore fails after one timeout,
 * never after one timeout per `maxInFlight` commands.
 */
import { SseError } from '@sse/core'

interface Waiter {
  resolve(): void
  reject(error: unknown): void
}

export class CommandGate {
  readonly #maxInFlight: number
  readonly #maxQueued: number
  #inFlight = 0
  /** A FIFO: `#waiting[#head]` is next. Compacted as it empties, so 10,000 waiters cost no O(n²) shifts. */
  #waiting: Waiter[] = []
  #head = 0

  constructor(maxInFlight: number, maxQueued: number) {
    this.#maxInFlight = maxInFlight
    this.#maxQueued = maxQueued
  }

  /** Commands sent and not yet answered. */
  get inFlight(): number {
    return this.#inFlight
  }

  /** Commands waiting to be sent. */
  get queued(): number {
    return this.#waiting.length - this.#head
  }

  /**
   * Runs `command` once a slot is free. `failsAll(error)` says whether its failure means Redis is
   * unreachable, in which case every waiting command is rejected too (with `SSE_BROKER_UNAVAILABLE`).
   */
  async run<T>(command: () => Promise<T>, failsAll: (error: unknown) => boolean): Promise<T> {
    if (this.#inFlight < this.#maxInFlight) {
      this.#inFlight++
    } else {
      if (this.queued >= this.#maxQueued) {
        throw new SseError(
          'SSE_BROKER_BUSY',
          `${this.#maxQueued} Redis commands are already waiting behind ${this.#maxInFlight} in flight; this one was not sent. Await (or pace) publishes before sending more, or raise maxQueued`,
        )
      }
      // The slot of a finished command is handed over directly (see #release): #inFlight stays.
      await new Promise<void>((resolve, reject) => this.#waiting.push({ resolve, reject }))
    }
    try {
      return await command()
    } catch (error) {
      if (failsAll(error)) this.#rejectWaiting(error)
      throw error
    } finally {
      this.#release()
    }
  }

  #release(): void {
    const next = this.#shift()
    if (next) next.resolve()
    else this.#inFlight--
  }

  #shift(): Waiter | undefined {
    if (this.#head === this.#waiting.length) return undefined
    const next = this.#waiting[this.#head]!
    this.#head++
    if (this.#head === this.#waiting.length) {
      this.#waiting = []
      this.#head = 0
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#waiting.length) {
      this.#waiting = this.#waiting.slice(this.#head)
      this.#head = 0
    }
    return next
  }

  #rejectWaiting(cause: unknown): void {
    const waiting = this.#waiting.slice(this.#head)
    this.#waiting = []
    this.#head = 0
    if (waiting.length === 0) return
    const reason = cause instanceof Error ? cause.message : String(cause)
    const error = new SseError(
      'SSE_BROKER_UNAVAILABLE',
      `not sent: an earlier command failed (${reason}); nothing was stored, retry once Redis answers`,
      { cause },
    )
    for (const waiter of waiting) waiter.reject(error)
  }
}
