#!/usr/bin/env node
/**
 * Replay on a quiet topic behind a busy one: what a reconnect costs when the client's own topic
 * missed few events and another topic filled history. 100,000 entries of a busy topic in history
 * and 100 of a quiet one spread among them; a client of the quiet topic reconnects with an id from
 * before all of them and is replayed its 100 events.
 *
 *   npx turbo run build --output-logs=errors-only   # the bench imports the packages' dist
 *   node bench/quiet-replay.mjs [--broker=memory|redis] [--busy=100000] [--quiet=100] [--runs=50]
 *     [--history=N]   # Redis: entries kept; fewer than published measures publishes that evict
 *     [--redis-module=path/to/other/@sse/redis/dist/index.mjs]   # another build, to compare
 *
 * Memory: the median and p95 over runs of `broker.history(['quiet'], …)` alone and of a whole
 * `hub.subscribe` replay into an in-memory sink (framing and writing included), and the heap the
 * history holds. Redis (a redis-server started on a free port, no persistence): the median and
 * p95 of the whole replay as the hub reads it, `history()` page after page until complete, and
 * how many pages (round trips) it took. Not a test: numbers depend on the machine.
 */
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { createEventStream, createHub, MemoryBroker } from '@sse/core'
import { createMemorySink } from '@sse/core/testing'
import { redisCommand, startRedis } from './lib/redis-server.mjs'

const { values } = parseArgs({
  options: {
    broker: { type: 'string', default: 'memory' },
    busy: { type: 'string', default: '100000' },
    quiet: { type: 'string', default: '100' },
    runs: { type: 'string', default: '50' },
    /** Entries kept (Redis): below busy + quiet, the fill runs with history full, every publish evicting one. */
    history: { type: 'string' },
    'redis-module': { type: 'string' },
  },
})
const BUSY = Number(values.busy)
const QUIET = Number(values.quiet)
const RUNS = Number(values.runs)
const onRedis = values.broker === 'redis'
if (!onRedis && values.broker !== 'memory')
  throw new Error(`--broker is memory or redis, got ${values.broker}`)

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

const redisServer = onRedis ? await startRedis() : undefined
const { RedisBroker } = onRedis
  ? await import(values['redis-module'] ? pathToFileURL(values['redis-module']).href : '@sse/redis')
  : { RedisBroker: undefined }
/** @type {import('@sse/core').Broker} */
const broker = redisServer
  ? new RedisBroker({
      redis: redisServer.url,
      prefix: `quiet-replay`,
      historySize: Number(values.history ?? BUSY + QUIET + 1),
    })
  : new MemoryBroker({ historySize: BUSY + QUIET })
const first = await broker.publish('busy', { data: 'start' })
const publishStart = performance.now()
const every = Math.floor(BUSY / QUIET)
/** @type {Promise<unknown>[]} */
let pending = []
for (let i = 0; i < BUSY; i++) {
  pending.push(broker.publish('busy', { data: `{"busy":${i}}` }))
  if (i % every === every - 1) pending.push(broker.publish('quiet', { data: `{"quiet":${i}}` }))
  // In order, a few at a time: Redis gets a pipeline, not 100,000 scripts at once.
  if (pending.length >= 32) {
    await Promise.all(pending)
    pending = []
  }
}
await Promise.all(pending)
const publishMs = performance.now() - publishStart
// Redis's own time per publish script (its CPU, not the round trip): what a publish costs the server.
const scriptStats = redisServer
  ? /cmdstat_evalsha:calls=(\d+),usec=\d+,usec_per_call=([\d.]+)/.exec(
      String(await redisCommand(redisServer.port, ['INFO', 'commandstats'])),
    )
  : null
const after = { epoch: first.epoch, seq: first.seq }

if (redisServer) {
  const replayMs = []
  let replayed = 0
  let pages = 0
  for (let run = 0; run < RUNS; run++) {
    const start = performance.now()
    let from = after
    replayed = 0
    pages = 0
    for (;;) {
      const result = await broker.history(['quiet'], from)
      pages++
      if (result.kind !== 'ok') {
        replayed = -1
        break
      }
      replayed += result.entries.length
      if (!result.next) break
      from = result.next
    }
    replayMs.push(performance.now() - start)
  }
  console.log(
    `quiet-topic replay over Redis: ${replayed} events of 'quiet' behind ${BUSY} of 'busy' in history, ${RUNS} runs, node ${process.version}${values['redis-module'] ? `, ${values['redis-module']}` : ''}`,
  )
  if (replayed < 0) console.log('  history() answers a reset: history was smaller than what was published')
  else console.log(`  history() until complete: ${summary(replayMs)}, ${pages} page(s)`)
  console.log(
    `  Redis time per publish script: ${scriptStats?.[2] ?? '?'} µs (${scriptStats?.[1] ?? '?'} calls)`,
  )
  console.log(
    `  filling history: ${BUSY + QUIET} publishes, 32 in flight, in ${publishMs.toFixed(0)} ms (${(((BUSY + QUIET) / publishMs) * 1000).toFixed(0)}/s)`,
  )
  await broker.close()
  redisServer.stop()
  process.exit(0)
}

const hub = createHub({ broker, heartbeat: false, retry: false })
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
