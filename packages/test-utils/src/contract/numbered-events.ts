/**
 * What the contract cases that move many MiB share: events that carry their sequence number, a
 * reader that only checks their order, the bytes core queues, and a generous deadline.
 */
import type { EventStream } from '@sse/core'

/** An event whose data starts with its sequence number, padded to `size` bytes on the wire-ish. */
export function numbered(seq: number, size: number): string {
  const head = `${seq}:`
  return head + 'p'.repeat(Math.max(0, size - head.length))
}

/**
 * A reader that keeps no events, only checks they come in order: `ok` stays true while every
 * event's data starts with the next sequence number.
 */
export function orderedCounter(): {
  onEvent(event: { data: string }): void
  readonly count: number
  readonly ok: boolean
} {
  let count = 0
  let ok = true
  return {
    onEvent(event) {
      if (!event.data.startsWith(`${count}:`)) ok = false
      count++
    },
    get count() {
      return count
    },
    get ok() {
      return ok
    },
  }
}

/**
 * Deadline of the flow-control cases that move tens of MiB: generous, since every package's suite
 * shares the same 2 cores under `npm test` (alone they take 0.3–5 s). A deadline, not a timing claim.
 */
export const HEAVY_TEST_MS = 180_000

/** The sum of what core queues for `streams` right now. */
export function queuedBytes(streams: readonly EventStream[]): number {
  let total = 0
  for (const stream of streams) total += stream.bufferedBytes
  return total
}
