/**
 * How many bytes of buffers the process holds right now, garbage collected first: a measure of
 * what a server keeps queued (frames in core's queues, in a socket's or a Web stream's write
 * buffer) that does not count bytes already handed to the kernel and merely not yet collected.
 *
 * The collector is reached the way Node allows from inside a running process: turn on
 * `--expose-gc` with `v8.setFlagsFromString`, then take `gc` from a fresh context, which is
 * created with the flag on. Nothing else in the test process changes.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

let collect: (() => void) | undefined

function collector(): () => void {
  if (!collect) {
    setFlagsFromString('--expose-gc')
    collect = runInNewContext('gc') as () => void
  }
  return collect
}

/** Bytes held by `ArrayBuffer`s (every `Buffer` and `Uint8Array`) after a full collection. */
export async function liveBufferBytes(): Promise<number> {
  const gc = collector()
  // Twice, a turn apart: buffers freed by finalizers of the first pass go in the second.
  gc()
  await new Promise((resolve) => setImmediate(resolve))
  gc()
  return process.memoryUsage().arrayBuffers
}
