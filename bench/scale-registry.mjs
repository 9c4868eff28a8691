/**
 * What one subscribe and one unsubscribe cost as the hub's registry grows: a hub already holding
 * 0, 10,000, 50,000 … streams (on sinks that take every write and never block), then
 * `--ops` streams created, subscribed and closed again, `--reps` times. In one process, no
 * sockets: the hub's own cost, which `scale.mjs` measures through HTTP. Part of "Scale" in
 * README.md.
 *
 *   node --expose-gc bench/scale-registry.mjs [--sizes=0,10000,50000,100000] [--ops=2000] [--reps=7]
 */
import { createEventStream, createHub } from '@sse/core'
import { benchArgs } from './lib/args.mjs'
import { columnsTable, fmt, median } from './lib/report.mjs'

const args = benchArgs({ numbers: { ops: 2000, reps: 7 }, strings: { sizes: '0,10000,50000,100000' } })
const sizes = args.sizes.split(',').map(Number)
const gc = /** @type {(() => void) | undefined} */ (globalThis.gc)

/**
 * A sink that takes every write: a stream that is always ready, never gone until closed. Like the
 * Node sink, it is told of an abort through `onAbort` and makes its `AbortSignal` only when read.
 */
function nullSink() {
  /** @type {AbortController | undefined} */
  let controller
  return {
    open() {},
    write: () => true,
    onDrain() {},
    onAbort() {},
    close() {},
    get signal() {
      controller ??= new AbortController()
      return controller.signal
    },
  }
}

/**
 * @param {import('@sse/core').Hub<any>} hub
 * @param {number} count
 */
function fill(hub, count) {
  const streams = []
  for (let i = 0; i < count; i++) {
    const stream = createEventStream(nullSink(), { heartbeat: false })
    hub.subscribe(stream, { topics: ['scale'] })
    streams.push(stream)
  }
  return streams
}

const rows = []
for (const size of sizes) {
  const hub = createHub({ heartbeat: 15_000, maxStreams: size + args.ops + 1 })
  const held = fill(hub, size)
  /** @type {number[]} */
  const subscribeUs = []
  /** @type {number[]} */
  const unsubscribeUs = []
  /** @type {number[]} */
  const middleUs = []
  for (let rep = 0; rep < args.reps; rep++) {
    gc?.()
    let t = performance.now()
    const fresh = fill(hub, args.ops)
    subscribeUs.push(((performance.now() - t) * 1000) / args.ops)
    t = performance.now()
    for (const stream of fresh) stream.close()
    unsubscribeUs.push(((performance.now() - t) * 1000) / args.ops)
    // Streams from the middle of the registry leave, and as many join again.
    if (held.length >= args.ops) {
      const start = (held.length - args.ops) >> 1
      const leaving = held.splice(start, args.ops)
      t = performance.now()
      for (const stream of leaving) stream.close()
      middleUs.push(((performance.now() - t) * 1000) / args.ops)
      held.push(...fill(hub, args.ops))
    }
  }
  if (hub.size !== size) throw new Error(`the hub holds ${hub.size} streams, expected ${size}`)
  rows.push({
    size,
    subscribe: median(subscribeUs),
    unsubscribe: median(unsubscribeUs),
    middle: middleUs.length > 0 ? median(middleUs) : Number.NaN,
  })
  for (const stream of held) stream.close()
  await hub.close()
}

if (args.json) console.log(JSON.stringify(rows, null, 2))
else {
  const us = (/** @type {number} */ value) => (Number.isFinite(value) ? value.toFixed(2) : '—')
  console.log(`medians of ${args.reps} reps of ${fmt(args.ops)} streams each (µs per stream):`)
  console.log(
    columnsTable(rows, [
      ['streams already held', (r) => fmt(r.size)],
      ['create + subscribe µs', (r) => us(r.subscribe)],
      ['close (newest) µs', (r) => us(r.unsubscribe)],
      ['close (from the middle) µs', (r) => us(r.middle)],
    ]),
  )
}
