#!/usr/bin/env node
/**
 * Fan-out benchmark: one publisher, N SSE clients, side by side.
 *
 *   node bench/fanout.mjs [--runs=5] [--warmup=1] [--clients=1000] [--events=2000] [--burst=50]
 *                         [--payload=128] [--variants=a,b,c,d] [--parser=count|eventsource-parser]
 *                         [--raw-ids=seq|epoch] [--cpu-prof] [--json]
 *
 * Every run forks a fresh server process (`lib/server.mjs`, with `--expose-gc` so memory is read
 * after full collections) and a fresh client process (`lib/client.mjs`) that opens the
 * connections. Runs alternate between variants (a, b, c, d, a, b, c, d, …) to spread machine
 * noise, after `--warmup` rounds that are not counted, and the table shows medians. See
 * README.md for what each variant does and what each column means.
 */
import { benchArgs, pickVariants } from './lib/args.mjs'
import { cpuProfileFlags, forkClient, forkServer, PROFILE_DIR, stopAll } from './lib/channel.mjs'
import { driveFanout, fanoutRounds } from './lib/fanout-run.mjs'
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
  table,
} from './lib/report.mjs'
import { LABELS } from './lib/variants.mjs'

/** @typedef {import('./lib/variants.mjs').FanoutVariantName} VariantName */
/** @typedef {import('./lib/server.mjs').Mem} Mem */

const args = benchArgs({
  numbers: { runs: 5, warmup: 1, clients: 1000, events: 2000, burst: 50, payload: 128 },
  strings: { variants: 'a,b,c,d', parser: 'count', 'raw-ids': 'seq' },
  flags: ['cpu-prof'],
})
const { runs, warmup, clients, events, burst, payload } = args
const timeoutMs = args['timeout-ms']
const parser = args.parser === 'eventsource-parser' ? 'eventsource-parser' : 'count'
const rawIds = args['raw-ids'] === 'epoch' ? 'epoch' : 'seq'
const variants = pickVariants(args.variants, LABELS)

/**
 * @typedef {object} RunResult
 * @property {VariantName} variant
 * @property {number} deliveriesPerSec
 * @property {number} elapsedMs  First publish until the client has every event on every connection.
 * @property {number} publishMs  First publish until the server's last publish returned.
 * @property {number} publishCpuMs Server CPU time over `publishMs`: close to it unless preempted.
 * @property {number} cpuMs      Server CPU time (user + system) from the first publish until the client had everything.
 * @property {number} connectMs
 * @property {number} bytesPerEvent Body bytes received per delivered event, on average.
 * @property {{ min: number, max: number, total: number }} counts Events counted per connection.
 * @property {Mem} before       Listening, no connection.
 * @property {Mem} idle         N streams open and idle, before publishing.
 * @property {Mem} after        After the run, streams still open.
 * @property {Record<string, number>} stats
 */

/**
 * @param {VariantName} variant
 * @param {number} index
 * @returns {Promise<RunResult>}
 */
async function run(variant, index) {
  const execArgv = ['--expose-gc', ...(args['cpu-prof'] ? cpuProfileFlags(`${variant}-${index}`) : [])]
  const server = forkServer([variant, String(payload), rawIds], { timeoutMs, execArgv })
  const client = forkClient({ timeoutMs })
  try {
    const { ready, connected, idle, published, dones, reports, elapsedMs } = await driveFanout({
      servers: [server],
      clients: [client],
      perClient: clients,
      events,
      burst,
      parser,
    })
    const [done, report] = [dones[0], reports[0]]
    return {
      variant,
      deliveriesPerSec: (clients * events) / (elapsedMs / 1000),
      elapsedMs,
      publishMs: published.publishMs,
      publishCpuMs: published.publishCpuMs,
      cpuMs: report?.cpuMs,
      connectMs: connected[0]?.ms,
      bytesPerEvent: done?.counts.bytes / (clients * events),
      counts: done?.counts,
      before: ready[0]?.mem,
      idle: idle[0]?.mem,
      after: report?.mem,
      stats: report?.stats,
    }
  } finally {
    await stopAll({ clients: [client], servers: [server] })
  }
}

console.log(
  `fan-out: ${clients} clients × ${events} events of ${payload} B, bursts of ${burst} per tick, ` +
    `${runs} runs per variant after ${warmup} warm-up round(s), parser: ${parser}, raw ids: ${rawIds}, ` +
    `node ${process.version}`,
)
/**
 * The line of one run.
 * @param {RunResult} result
 */
const describeRun = (result) =>
  `${fmt(result.deliveriesPerSec)} deliveries/s, ` +
  `${result.elapsedMs.toFixed(0)} ms, server CPU ${result.cpuMs.toFixed(0)} ms, ` +
  `idle RSS +${mb(result.idle.rss - result.before.rss)} MB ` +
  `(young gen +${mb(result.idle.newSpace - result.before.newSpace)} MB)` +
  (Object.keys(result.stats).length ? ` ${JSON.stringify(result.stats)}` : '') +
  (result.publishCpuMs < 0.8 * result.publishMs ? ' [contended]' : '')
const startedAt = Date.now()
const results = await fanoutRounds(args, variants, run, describeRun)

/**
 * Medians over a variant's runs. Memory per stream is (with N streams open and idle − before any
 * connection) / N: raw RSS; RSS less V8's young generation (empty after GC, sized by V8's
 * allocation heuristics); and JS heap used + external (what the objects themselves hold).
 * @typedef {object} Summary
 * @property {VariantName} variant
 * @property {number} deliveriesPerSec
 * @property {number} elapsedMs
 * @property {number} publishMs
 * @property {number} cpuMs
 * @property {number} bytesPerEvent
 * @property {number} rssBefore
 * @property {number} rssIdle
 * @property {number} rssAfter
 * @property {number} rssPerStream
 * @property {number} rssOldPerStream
 * @property {number} heapPerStream
 */

/** @type {Summary[]} */
const summaries = variants.map((variant) => {
  const mine = results.filter((r) => r.variant === variant)
  /** @param {(m: Mem) => number} pick */
  const perStream = (pick) => median(mine.map((r) => (pick(r.idle) - pick(r.before)) / clients))
  return {
    variant,
    ...medians(mine, ['deliveriesPerSec', 'elapsedMs', 'publishMs', 'cpuMs', 'bytesPerEvent']),
    rssBefore: median(mine.map((r) => r.before.rss)),
    rssIdle: median(mine.map((r) => r.idle.rss)),
    rssAfter: median(mine.map((r) => r.after.rss)),
    rssPerStream: perStream((m) => m.rss),
    rssOldPerStream: perStream((m) => m.rss - m.newSpace),
    heapPerStream: perStream((m) => m.heapUsed + m.external),
  }
})

console.log(`\n${mediansHeading(runs, startedAt)}\n`)
console.log(
  columnsTable(summaries, [
    ...fanoutColumns(LABELS),
    msColumn('server CPU ms', (s) => s.cpuMs),
    ['B/event', (s) => s.bytesPerEvent.toFixed(1)],
    ['RSS MB: before', (s) => mb(s.rssBefore)],
    ['idle', (s) => mb(s.rssIdle)],
    ['after', (s) => mb(s.rssAfter)],
  ]),
)
console.log('')
console.log(
  table([
    ['idle memory per open stream (B)', 'RSS', 'RSS less young gen', 'JS heap + external'],
    ...summaries.map((s) => [
      LABELS[s.variant],
      fmt(s.rssPerStream),
      fmt(s.rssOldPerStream),
      fmt(s.heapPerStream),
    ]),
  ]),
)

/** @param {VariantName} variant */
const find = (variant) => summaries.find((s) => s.variant === variant)
const [a, b, c, d] = [find('a'), find('b'), find('c'), find('d')]
console.log('')
/**
 * @param {string} label
 * @param {Summary | undefined} x
 * @param {Summary | undefined} y
 * @param {string} [target]
 */
const ratio = (label, x, y, target = '') => {
  if (!x || !y) return
  const paired = pairedRatio(results, x.variant, y.variant, (r) => r.deliveriesPerSec)
  console.log(
    `${label}: deliveries/s ${(x.deliveriesPerSec / y.deliveriesPerSec).toFixed(2)}× ` +
      `(median of per-round ratios ${paired.toFixed(2)}×), ` +
      `server CPU ${(x.cpuMs / y.cpuMs).toFixed(2)}×${target}`,
  )
}
ratio('c/b', c, b, '  (target: deliveries/s ≥ 0.90×)')
ratio('b/a', b, a)
ratio('d/b', d, b)
if (a && c) {
  console.log(
    `idle memory per stream c/a: RSS ${(c.rssPerStream / a.rssPerStream).toFixed(2)}× ` +
      `(target ≤ 1.10×), RSS less young gen ${(c.rssOldPerStream / a.rssOldPerStream).toFixed(2)}×, ` +
      `JS heap + external ${(c.heapPerStream / a.heapPerStream).toFixed(2)}×`,
  )
}
const contended = results.filter((r) => r.publishCpuMs < 0.8 * r.publishMs)
if (contended.length > 0) {
  console.log(
    `\nnoise: in ${contended.length} of ${results.length} runs the server was on a CPU less than 80% of ` +
      'the time it spent publishing (a loop that never waits), so something else competed for the cores',
  )
}
if (args['cpu-prof']) console.log(`\nCPU profiles of the servers: ${PROFILE_DIR}`)
if (args.json)
  console.log(JSON.stringify({ clients, events, burst, payload, parser, rawIds, results, summaries }))
