#!/usr/bin/env node
/**
 * Replay on a quiet topic behind a busy one: what a reconnect costs when the client's own topic
 * missed few events and another topic filled history. `MemoryBroker` with 100,000 entries of a
 * busy topic in history and 100 of a quiet one spread among them; a client of the quiet topic
 * reconnects with an id from before all of them and is replayed its 100 events.
 *
 *   npx turbo run build --output-logs=errors-only   # the bench imports the packages' dist
 *   node bench/quiet-replay.mjs [--busy=100000] [--quiet=100] [--runs=50]
 *
 * Reports the median and p95 over runs of `broker.history(['quiet'], …)` alone and of a whole
 * `hub.subscribe` replay into an in-memory sink (framing and writing included), and the heap the
 * history holds. Not a test: numbers depend on the machine.
 */
import { parseArgs } from 'node:util'
import { createEventStream, createHub, MemoryBroker } from '@sse/core'
import { createMemorySink } from '@sse/core/testing'

const { values } = parseArgs({
  options: {
    busy: { type: 'string', default: '100000' },
    quiet: { type: 'string', default: '100' },
    runs: { type: 'string', default: '50' },
  },
})
const BUSY = Number(values.busy)
const QUIET = Number(values.quiet)
const RUNS = Number(values.runs)

const broker = new MemoryBroker({ historySize: BUSY + QUIET })
const hub = createHub({ broker, heartbeat: false, retry: false })
const first = await broker.publish('busy', { data: 'start' })
const every = Math.floor(BUSY / QUIET)
for (let i = 0; i < BUSY; i++) {
  await broker.publish('busy', { data: `{"busy":${i}}` })
  if (i % every === every - 1) await broker.publish('quiet', { data: `{"quiet":${i}}` })
}
const after = { epoch: first.epoch, seq: first.seq }

/**
 * Median and 95th percentile of `samples`, in ms.
 * @param {number[]} samples
 */
function summary(samples) {
  const sorted = [...samples].sort((a, b) => a - b)
  const at = (/** @type {number} */ q) =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN
  return `median ${at(0.5).toFixed(3)} ms, p95 ${at(0.95).toFixed(3)} ms`
}

const historyMs = []
let replayed = 0
for (let run = 0; run < RUNS; run++) {
  const start = performance.now()
  const result = await broker.history(['quiet'], after)
  historyMs.push(performance.now() - start)
  replayed = result.kind === 'ok' ? result.entries.length : -1
}

const subscribeMs = []
const lastEventId = `${first.epoch}-${first.seq}`
for (let run = 0; run < RUNS; run++) {
  const sink = createMemorySink()
  const stream = createEventStream(sink, { heartbeat: false, lastEventId })
  const start = performance.now()
  await hub.subscribe(stream, { topics: ['quiet'] })
  subscribeMs.push(performance.now() - start)
  stream.close()
}
globalThis.gc?.()
const { heapUsed } = process.memoryUsage()
console.log(
  `quiet-topic replay: ${replayed} events of 'quiet' behind ${BUSY} of 'busy' in history, ${RUNS} runs, node ${process.version}`,
)
console.log(`  broker.history(['quiet'], …): ${summary(historyMs)}`)
console.log(`  hub.subscribe replay into a memory sink: ${summary(subscribeMs)}`)
console.log(`  heap used with that history: ${(heapUsed / 1048576).toFixed(1)} MB`)
await hub.close({ retry: false })
