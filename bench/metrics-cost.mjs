#!/usr/bin/env node
/**
 * What metrics cost: the fan-out of `fanout.mjs`'s (c), one publisher and N clients of one
 * `@sse/core` hub, without metrics and with `@sse/metrics` (prom-client, and OpenTelemetry's SDK),
 * scraped every 100 ms while it runs. Side by side in one invocation, alternating.
 *
 *   node bench/metrics-cost.mjs [--runs=5] [--warmup=1] [--clients=1000] [--events=2000]
 *                               [--burst=50] [--payload=128] [--variants=off,prom,otel,again] [--json]
 *
 * Every run forks a fresh server process (`lib/server.mjs`) and a fresh client process
 * (`lib/client.mjs`), as `fanout.mjs` does. See README.md, "Metrics cost".
 */
import { MeterProvider } from '@opentelemetry/sdk-metrics'
import { createEventStream, createHub } from '@sse/core'
import { createMemorySink } from '@sse/core/testing'
import { registerHubMetrics } from '@sse/metrics'
import { registerHubMetricsOtel } from '@sse/metrics/otel'
import { Registry } from 'prom-client'
import { benchArgs, pickVariants } from './lib/args.mjs'
import { forkClient, forkServer, stopAll } from './lib/channel.mjs'
import { driveFanout, fanoutRounds } from './lib/fanout-run.mjs'
import { METRICS_LABELS, METRICS_SCRAPE_MS, PullReader } from './lib/metrics-variants.mjs'
import {
  columnsTable,
  fanoutColumns,
  fmt,
  mb,
  median,
  medians,
  mediansHeading,
  msColumn,
  pairedRatio,
} from './lib/report.mjs'

/** @typedef {import('./lib/metrics-variants.mjs').MetricsVariantName} VariantName */

const args = benchArgs({
  numbers: { runs: 5, warmup: 1, clients: 1000, events: 2000, burst: 50, payload: 128 },
  strings: { variants: 'off,prom,otel,again' },
})
const { runs, warmup, clients, events, burst, payload } = args
const variants = pickVariants(args.variants, METRICS_LABELS)

/**
 * @typedef {object} RunResult
 * @property {VariantName} variant
 * @property {number} deliveriesPerSec
 * @property {number} elapsedMs  First publish until the client has every event on every connection.
 * @property {number} publishMs
 * @property {number} publishCpuMs
 * @property {number} cpuMs      Server CPU (user + system) from the first publish until the client had everything.
 * @property {{ min: number, max: number, total: number }} counts
 * @property {number} rssIdle    Server RSS with every stream open and idle, after GC.
 * @property {Record<string, number>} stats
 */

/**
 * @param {VariantName} variant
 * @returns {Promise<RunResult>}
 */
async function run(variant) {
  const server = forkServer([variant, String(payload)], {
    timeoutMs: args['timeout-ms'],
    execArgv: ['--expose-gc'],
  })
  const client = forkClient({ timeoutMs: args['timeout-ms'] })
  try {
    const { idle, published, dones, reports, elapsedMs } = await driveFanout({
      servers: [server],
      clients: [client],
      perClient: clients,
      events,
      burst,
      parser: 'count',
    })
    return {
      variant,
      deliveriesPerSec: (clients * events) / (elapsedMs / 1000),
      elapsedMs,
      publishMs: published.publishMs,
      publishCpuMs: published.publishCpuMs,
      cpuMs: reports[0]?.cpuMs,
      counts: dones[0]?.counts,
      rssIdle: idle[0]?.mem.rss,
      stats: reports[0]?.stats,
    }
  } finally {
    await stopAll({ clients: [client], servers: [server] })
  }
}

console.log(
  `metrics cost: ${clients} clients × ${events} events of ${payload} B, bursts of ${burst} per tick, ` +
    `metrics scraped every ${METRICS_SCRAPE_MS} ms, ${runs} runs per variant after ${warmup} warm-up round(s), ` +
    `node ${process.version}`,
)
const startedAt = Date.now()
const results = await fanoutRounds(
  args,
  variants,
  run,
  (result) =>
    `${fmt(result.deliveriesPerSec)} deliveries/s, ${result.elapsedMs.toFixed(0)} ms, ` +
    `server CPU ${result.cpuMs.toFixed(0)} ms ${JSON.stringify(result.stats)}` +
    (result.publishCpuMs < 0.8 * result.publishMs ? ' [contended]' : ''),
)

const summaries = variants.map((variant) => ({
  variant,
  ...medians(
    results.filter((r) => r.variant === variant),
    ['deliveriesPerSec', 'elapsedMs', 'publishMs', 'cpuMs', 'rssIdle'],
  ),
}))
console.log(`\n${mediansHeading(runs, startedAt)}\n`)
console.log(
  columnsTable(summaries, [
    ...fanoutColumns(METRICS_LABELS),
    msColumn('server CPU ms', (s) => s.cpuMs),
    ['idle RSS MB', (s) => mb(s.rssIdle)],
  ]),
)
console.log('')
const off = summaries.find((s) => s.variant === 'off')
for (const on of summaries.filter((s) => s.variant !== 'off')) {
  if (!off) break
  const paired = (/** @type {(r: RunResult) => number} */ pick) =>
    pairedRatio(results, on.variant, 'off', pick).toFixed(3)
  console.log(
    `${on.variant}/off: deliveries/s ${(on.deliveriesPerSec / off.deliveriesPerSec).toFixed(3)}× ` +
      `(median of per-round ratios ${paired((r) => r.deliveriesPerSec)}×), ` +
      `server CPU ${(on.cpuMs / off.cpuMs).toFixed(3)}× (per round ${paired((r) => r.cpuMs)}×)`,
  )
}
for (const variant of variants.filter((name) => name === 'prom' || name === 'otel')) {
  const scrapes = results
    .filter((r) => r.variant === variant)
    .map(({ stats: { scrapes = 0, scrapeMs = 0, scrapedBytes = 0 } }) => ({
      scrapes,
      scrapeMs,
      scrapedBytes,
    }))
    .filter((r) => r.scrapes > 0)
  const perScrape = median(scrapes.map((r) => r.scrapeMs / r.scrapes))
  const bytes = median(scrapes.map((r) => r.scrapedBytes / r.scrapes))
  console.log(
    `${variant}: during the runs one scrape took ${perScrape.toFixed(3)} ms of wall time (median; ` +
      `it shares the event loop with the fan-out), ${fmt(bytes)} B of output`,
  )
}
// One scrape alone, warm, in this process: a hub with `clients` streams (memory sinks) and a
// history, each kind of scrape 1,000 times after 200 uncounted; CPU time, not wall time.
const alone = await scrapeCostAlone(clients)
for (const [variant, ms] of Object.entries(alone)) {
  console.log(
    `${variant}: one scrape alone, warm, with ${clients} streams open: ${ms.toFixed(3)} ms of CPU; ` +
      `every 15 s (Prometheus's default) that is ${((ms / 15_000) * 100).toFixed(4)}% of a core`,
  )
}
if (args.json) console.log(JSON.stringify({ clients, events, burst, payload, results, summaries, alone }))

/**
 * CPU ms of one scrape of each kind, warm.
 * @param {number} streams
 */
async function scrapeCostAlone(streams) {
  const hub = createHub({ heartbeat: false })
  for (let i = 0; i < streams; i++) {
    await hub.subscribe(createEventStream(createMemorySink()), { topics: ['bench'] })
  }
  for (let i = 0; i < 100; i++) await hub.publish('bench', { data: 'x' })
  const registry = new Registry()
  registerHubMetrics(hub, { registry, topics: ['bench'] })
  const reader = new PullReader()
  registerHubMetricsOtel(hub, {
    meter: new MeterProvider({ readers: [reader] }).getMeter('bench'),
    topics: ['bench'],
  })
  /** @type {Record<string, () => Promise<unknown>>} */
  const scrapes = { prom: () => registry.metrics(), otel: () => reader.collect() }
  /** @type {Record<string, number>} */
  const cost = {}
  for (const [name, scrape] of Object.entries(scrapes)) {
    for (let i = 0; i < 200; i++) await scrape()
    const start = process.cpuUsage()
    for (let i = 0; i < 1000; i++) await scrape()
    const used = process.cpuUsage(start)
    cost[name] = (used.user + used.system) / 1000 / 1000
  }
  await hub.close({ retry: false })
  return cost
}
