#!/usr/bin/env node
import { fork } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
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
import { Channel, stopAll } from './lib/channel.mjs'
import { fmt, mb, median, table } from './lib/report.mjs'
import { LABELS } from './lib/variants.mjs'

/** @typedef {import('./lib/variants.mjs').FanoutVariantName} VariantName */
/** @typedef {import('./lib/server.mjs').Mem} Mem */

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    clients: { type: 'string', default: '1000' },
    events: { type: 'string', default: '2000' },
    burst: { type: 'string', default: '50' },
    payload: { type: 'string', default: '128' },
    variants: { type: 'string', default: 'a,b,c,d' },
    parser: { type: 'string', default: 'count' },
    'raw-ids': { type: 'string', default: 'seq' },
    'cpu-prof': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    'timeout-ms': { type: 'string', default: '60000' },
  },
})

const runs = Number(args.runs)
const warmup = Number(args.warmup)
const clients = Number(args.clients)
const events = Number(args.events)
const burst = Number(args.burst)
const payload = Number(args.payload)
const timeoutMs = Number(args['timeout-ms'])
const parser = args.parser === 'eventsource-parser' ? 'eventsource-parser' : 'count'
const rawIds = args['raw-ids'] === 'epoch' ? 'epoch' : 'seq'
const variants = /** @type {VariantName[]} */ (args.variants.split(',').filter((v) => v in LABELS))
const profileDir = fileURLToPath(new URL('./.profiles/', import.meta.url))
const serverPath = fileURLToPath(new URL('./lib/server.mjs', import.meta.url))
const clientPath = fileURLToPath(new URL('./lib/client.mjs', import.meta.url))

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
  const execArgv = ['--expose-gc']
  if (args['cpu-prof']) {
    mkdirSync(profileDir, { recursive: true })
    execArgv.push(
      '--cpu-prof',
      `--cpu-prof-dir=${profileDir}`,
      `--cpu-prof-name=${variant}-${index}.cpuprofile`,
    )
  }
  const server = new Channel(
    fork(serverPath, [variant, String(payload), rawIds], { execArgv }),
    'server',
    timeoutMs,
  )
  const client = new Channel(fork(clientPath, [], { execArgv: [] }), 'client', timeoutMs)
  try {
    const { port, mem: before } = await server.next('ready')
    client.send({ type: 'connect', port, clients, events, parser })
    const { ms: connectMs } = await client.next('connected')
    server.send({ type: 'idle', clients })
    const { mem: idle } = await server.next('idle')
    server.send({ type: 'publish', events, burst })
    const { t0, publishMs, publishCpuMs } = await server.next('published')
    const done = await client.next('done')
    server.send({ type: 'report' })
    const { mem: after, cpuMs, stats } = await server.next('report')
    const elapsedMs = Number(BigInt(done.at) - BigInt(t0)) / 1e6
    return {
      variant,
      deliveriesPerSec: (clients * events) / (elapsedMs / 1000),
      elapsedMs,
      publishMs,
      publishCpuMs,
      cpuMs,
      connectMs,
      bytesPerEvent: done.counts.bytes / (clients * events),
      counts: done.counts,
      before,
      idle,
      after,
      stats,
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
/** @type {RunResult[]} */
const results = []
const startedAt = Date.now()
for (let round = -warmup; round < runs; round++) {
  for (const variant of variants) {
    const result = await run(variant, round)
    if (round < 0) {
      console.log(`  warm-up ${variant}: ${fmt(result.deliveriesPerSec)} deliveries/s (not counted)`)
      continue
    }
    results.push(result)
    const { min, max } = result.counts
    if (min !== events || max !== events) {
      console.log(
        `  WARNING run ${round + 1} ${variant}: events per connection ${min}..${max}, expected ${events}`,
      )
    }
    console.log(
      `  run ${round + 1} ${variant}: ${fmt(result.deliveriesPerSec)} deliveries/s, ` +
        `${result.elapsedMs.toFixed(0)} ms, server CPU ${result.cpuMs.toFixed(0)} ms, ` +
        `idle RSS +${mb(result.idle.rss - result.before.rss)} MB ` +
        `(young gen +${mb(result.idle.newSpace - result.before.newSpace)} MB)` +
        (Object.keys(result.stats).length ? ` ${JSON.stringify(result.stats)}` : '') +
        (result.publishCpuMs < 0.8 * result.publishMs ? ' [contended]' : ''),
    )
  }
}

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
  /** @param {(r: RunResult) => number} pick */
  const med = (pick) => median(mine.map(pick))
  /** @param {(m: Mem) => number} pick */
  const perStream = (pick) => med((r) => (pick(r.idle) - pick(r.before)) / clients)
  return {
    variant,
    deliveriesPerSec: med((r) => r.deliveriesPerSec),
    elapsedMs: med((r) => r.elapsedMs),
    publishMs: med((r) => r.publishMs),
    cpuMs: med((r) => r.cpuMs),
    bytesPerEvent: med((r) => r.bytesPerEvent),
    rssBefore: med((r) => r.before.rss),
    rssIdle: med((r) => r.idle.rss),
    rssAfter: med((r) => r.after.rss),
    rssPerStream: perStream((m) => m.rss),
    rssOldPerStream: perStream((m) => m.rss - m.newSpace),
    heapPerStream: perStream((m) => m.heapUsed + m.external),
  }
})

console.log(`\nmedians of ${runs} runs (${((Date.now() - startedAt) / 1000).toFixed(0)} s in all):\n`)
console.log(
  table([
    [
      'variant',
      'deliveries/s',
      'total ms',
      'publish ms',
      'server CPU ms',
      'B/event',
      'RSS MB: before',
      'idle',
      'after',
    ],
    ...summaries.map((s) => [
      LABELS[s.variant],
      fmt(s.deliveriesPerSec),
      s.elapsedMs.toFixed(0),
      s.publishMs.toFixed(0),
      s.cpuMs.toFixed(0),
      s.bytesPerEvent.toFixed(1),
      mb(s.rssBefore),
      mb(s.rssIdle),
      mb(s.rssAfter),
    ]),
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
  // Runs of one round are seconds apart, so their ratio cancels load that comes and goes.
  const xs = results.filter((r) => r.variant === x.variant)
  const ys = results.filter((r) => r.variant === y.variant)
  const paired = median(xs.map((r, i) => r.deliveriesPerSec / (ys[i]?.deliveriesPerSec ?? Number.NaN)))
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
if (args['cpu-prof']) console.log(`\nCPU profiles of the servers: ${profileDir}`)
if (args.json)
  console.log(JSON.stringify({ clients, events, burst, payload, parser, rawIds, results, summaries }))
