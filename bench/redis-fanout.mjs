#!/usr/bin/env node
/**
 * Fan-out over Redis: what `@sse/redis` costs. The same client load against
 *
 * - **memory**: one process, `createHub()` (the in-memory broker), every client on it;
 * - **redis1**: one process, `createHub({ broker: new RedisBroker(…) })`, every client on it;
 * - **redis3**: three processes over one redis-server (the cluster shape), the clients split
 *   evenly over them, every event published by the first.
 *
 *   node bench/redis-fanout.mjs [--runs=5] [--warmup=1] [--clients=600] [--events=2000] [--burst=50]
 *                               [--payload=128] [--variants=memory,redis1,redis3] [--json]
 *
 * Each run forks fresh server processes (`lib/server.mjs`, the fan-out bench's server: variant `c`
 * in memory, `redis` over Redis) and three client processes (`lib/client.mjs`, the fan-out bench's
 * client, `clients / 3` connections each, whatever the variant), and publishes with
 * `lib/server.mjs`'s schedule: bursts of `--burst` events in one tick (awaited together), then
 * `setImmediate`. One redis-server (no persistence: this measures the broker, not the disk) serves
 * every Redis run, each run on a fresh key prefix.
 *
 * deliveries/s = clients × events / (first publish → the last client process has every event on
 * every connection), on the monotonic clock all processes share. CPU is user + system over the same
 * span: the servers' summed, and redis-server's from /proc (Linux).
 */
import { benchArgs, pickVariants } from './lib/args.mjs'
import { forkClient, forkServer, stopAll } from './lib/channel.mjs'
import { driveFanout, fanoutRounds } from './lib/fanout-run.mjs'
import { cpuOf } from './lib/proc.mjs'
import { startRedis } from './lib/redis-server.mjs'
import {
  columnsTable,
  fanoutColumns,
  fmt,
  medians,
  mediansHeading,
  msColumn,
  pairedRatio,
} from './lib/report.mjs'

/** @typedef {'memory' | 'redis1' | 'redis3'} VariantName */

/** @type {Record<VariantName, string>} */
const LABELS = {
  memory: '1 instance, in memory',
  redis1: '1 instance over Redis',
  redis3: '3 instances over Redis',
}

const args = benchArgs({
  numbers: { runs: 5, warmup: 1, clients: 600, events: 2000, burst: 50, payload: 128 },
  strings: { variants: 'memory,redis1,redis3' },
})
const { runs, warmup, clients, events, burst, payload } = args
const timeoutMs = args['timeout-ms']
const variants = pickVariants(args.variants, LABELS)
const CLIENT_PROCESSES = 3
if (clients % CLIENT_PROCESSES !== 0) throw new Error(`--clients must be a multiple of ${CLIENT_PROCESSES}`)

const needsRedis = variants.some((variant) => variant !== 'memory')
const redis = needsRedis
  ? await startRedis().catch((/** @type {Error} */ error) => {
      console.error(`${error.message}; or run with --variants=memory`)
      process.exit(1)
    })
  : undefined
const stopRedis = () => redis?.stop()
process.once('SIGINT', () => {
  stopRedis()
  process.exit(130)
})

/**
 * @typedef {object} RunResult
 * @property {VariantName} variant
 * @property {number} deliveriesPerSec
 * @property {number} elapsedMs
 * @property {number} publishMs
 * @property {number} serverCpuMs Summed over the instances.
 * @property {number} publisherCpuMs The publishing instance's.
 * @property {number} readerCpuMs The busiest other instance's (0 with one instance).
 * @property {number} redisCpuMs
 * @property {{ min: number, max: number }} counts
 */

let runIndex = 0
/**
 * @param {VariantName} variant
 * @returns {Promise<RunResult>}
 */
async function run(variant) {
  const instances = variant === 'redis3' ? 3 : 1
  const env = {
    ...process.env,
    BENCH_REDIS_URL: redis?.url ?? '',
    BENCH_REDIS_PREFIX: `bench:${process.pid}:${++runIndex}`,
  }
  const serverArgs = [variant === 'memory' ? 'c' : 'redis', String(payload)]
  const servers = Array.from({ length: instances }, (_, i) =>
    forkServer(serverArgs, { name: `server ${i}`, timeoutMs, env }),
  )
  const clientChannels = Array.from({ length: CLIENT_PROCESSES }, (_, i) =>
    forkClient({ name: `client ${i}`, timeoutMs }),
  )
  let redisCpuBefore = 0
  let redisCpuMs = 0
  try {
    const { published, dones, reports, elapsedMs } = await driveFanout({
      servers,
      clients: clientChannels,
      perClient: clients / CLIENT_PROCESSES,
      events,
      burst,
      parser: 'count',
      onIdle: () => {
        redisCpuBefore = cpuOf(redis?.pid)
      },
      onDone: () => {
        redisCpuMs = variant === 'memory' ? 0 : cpuOf(redis?.pid) - redisCpuBefore
      },
    })
    return {
      variant,
      deliveriesPerSec: (clients * events) / (elapsedMs / 1000),
      elapsedMs,
      publishMs: published.publishMs,
      serverCpuMs: reports.reduce((sum, report) => sum + report.cpuMs, 0),
      publisherCpuMs: reports[0]?.cpuMs ?? Number.NaN,
      readerCpuMs: Math.max(0, ...reports.slice(1).map((report) => report.cpuMs)),
      redisCpuMs,
      counts: {
        min: Math.min(...dones.map((done) => done.counts.min)),
        max: Math.max(...dones.map((done) => done.counts.max)),
      },
    }
  } finally {
    await stopAll({ clients: clientChannels, servers })
  }
}

console.log(
  `redis fan-out: ${clients} clients (${CLIENT_PROCESSES} client processes) × ${events} events of ${payload} B, ` +
    `bursts of ${burst} per tick, ${runs} runs per variant after ${warmup} warm-up round(s), node ${process.version}`,
)
/**
 * The line of one run.
 * @param {RunResult} result
 */
const describeRun = (result) =>
  `${fmt(result.deliveriesPerSec)} deliveries/s, ${result.elapsedMs.toFixed(0)} ms ` +
  `(publishing ${result.publishMs.toFixed(0)} ms), server CPU ${result.serverCpuMs.toFixed(0)} ms, ` +
  `redis-server CPU ${result.redisCpuMs.toFixed(0)} ms`
const startedAt = Date.now()
const results = await fanoutRounds(args, variants, run, describeRun).finally(stopRedis)

const summaries = variants.map((variant) => ({
  variant,
  ...medians(
    results.filter((r) => r.variant === variant),
    [
      'deliveriesPerSec',
      'elapsedMs',
      'publishMs',
      'serverCpuMs',
      'publisherCpuMs',
      'readerCpuMs',
      'redisCpuMs',
    ],
  ),
}))
console.log(`\n${mediansHeading(runs, startedAt)}\n`)
console.log(
  columnsTable(summaries, [
    ...fanoutColumns(LABELS),
    msColumn('servers CPU ms', (s) => s.serverCpuMs),
    msColumn('publisher CPU ms', (s) => s.publisherCpuMs),
    ['other instance CPU ms', (s) => (s.variant === 'redis3' ? s.readerCpuMs.toFixed(0) : '—')],
    ['redis-server CPU ms', (s) => (s.variant === 'memory' ? '—' : s.redisCpuMs.toFixed(0))],
  ]),
)
const memory = summaries.find((s) => s.variant === 'memory')
if (memory) {
  console.log('')
  for (const s of summaries.filter((s) => s !== memory)) {
    const paired = pairedRatio(results, s.variant, 'memory', (r) => r.deliveriesPerSec)
    console.log(
      `${s.variant}/memory: deliveries/s ${(s.deliveriesPerSec / memory.deliveriesPerSec).toFixed(2)}× ` +
        `(median of per-round ratios ${paired.toFixed(2)}×)`,
    )
  }
}
if (args.json) console.log(JSON.stringify({ clients, events, burst, payload, results, summaries }))
