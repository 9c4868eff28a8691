/**
 * How much memory the process holds right now, garbage collected first: a measure of what a
 * server keeps (frames in core's queues or in a socket's write buffer, a history page copied out
 * of a store) that leaves out what was already handed on and merely not yet collected.
 *
 * The collector is reached the way Node allows from inside a running process: turn on
 * `--expose-gc` with `v8.setFlagsFromString`, then take `gc` from a fresh context, which is
 * created with the flag on. Nothing else in the test process changes.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

/** Live memory after a full collection, in bytes. */
export interface LiveBytes {
  /** The JavaScript heap (strings, objects). */
  readonly heap: number
  /** `ArrayBuffer`s: every `Buffer` and `Uint8Array`. */
  readonly buffers: number
}

let collect: (() => void) | undefined

function collector(): () => void {
  if (!collect) {
    setFlagsFromString('--expose-gc')
    collect = runInNewContext('gc') as () => void
  }
  return collect
}

/** Collects garbage, then reports what is still live. */
export async function liveBytes(): Promise<LiveBytes> {
  const gc = collector()
  // Twice, a turn apart: what finalizers of the first pass release goes in the second.
  gc()
  await new Promise((resolve) => setImmediate(resolve))
  gc()
  const usage = process.memoryUsage()
  return { heap: usage.heapUsed, buffers: usage.arrayBuffers }
}
