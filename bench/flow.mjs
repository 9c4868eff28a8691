#!/usr/bin/env node
import { mkdirSync } from 'node:fs'
import { loadavg } from 'node:os'
/**
 * Flow-control benchmark: what pacing costs and what it saves, side by side with a raw
 * `node:http` pacing loop.
 *
 *   node bench/flow.mjs [--runs=3] [--warmup=1] [--variants=raw,raw-nopace,core,core-noready,express,fastify,koa,hono]
 *                       (and core-nohistory, not run by default)
 *                       [--scenarios=slow,burst] [--healthy=100] [--stalled=5] [--events=20000]
 *                       [--payload=1024] [--batch=64] [--burst-mib=50] [--burst-payload=4096]
 *                       [--slow-ms=1000] [--sample-ms=20] [--prewarm=2000] [--parser=count|eventsource-parser]
 *                       [--server-flags="--max-semi-space-size=1"] [--cpu-prof] [--heap-sample] [--json]
 *
 * - slow: `--healthy` readers at full speed and `--stalled` readers that take their first bytes
 *   and never read again; `--events` events of `--payload` bytes to one topic.
 * - burst: one reader at full speed; `--burst-mib` MiB of event data as `--burst-payload`-byte events.
 *
 * The publisher sends `--batch` events per tick and, in the paced variants, waits for backpressure
 * between batches. Every run forks a fresh server process (`lib/server.mjs` with `--expose-gc`,
 * variants in `lib/flow-variants.mjs`), which first sends `--prewarm` events to a reader of its
 * own (so compiling the publishing path is not counted), and a fresh client process
 * (`lib/client.mjs`). Runs
 * alternate between variants, scenario by scenario, and the tables show medians. See README.md.
 */
import { benchArgs, pickVariants } from './lib/args.mjs'
import { cpuProfileFlags, forkClient, forkServer, PROFILE_DIR, stopAll } from './lib/channel.mjs'
import { DEFAULT_FLOW_VARIANTS, FLOW_LABELS } from './lib/flow-variants.mjs'
import { cpuOf, machineCpu } from './lib/proc.mjs'
import { fmt, MB, mb, median, mediansHeading, table } from './lib/report.mjs'
import { runRounds } from './lib/rounds.mjs'

/** @typedef {import('./lib/flow-variants.mjs').FlowVariantName} VariantName */
/** @typedef {import('./lib/client.mjs').Counts} Counts */
/** @typedef {'slow' | 'burst'} ScenarioName */

const args = benchArgs({
  numbers: {
    runs: 3,
    warmup: 1,
    healthy: 100,
    stalled: 5,
    events: 20_000,
    payload: 1024,
    batch: 64,
    'burst-mib': 50,
    'burst-payload': 4096,
    'slow-ms': 1000,
    'sample-ms': 20,
    prewarm: 2000,
  },
  strings: {
    variants: DEFAULT_FLOW_VARIANTS.join(','),
    scenarios: 'slow,burst',
    parser: 'count',
    'server-flags': '',
  },
  flags: ['cpu-prof', 'heap-sample'],
})
const { runs, warmup, batch, prewarm } = args
const slowMs = args['slow-ms']
const sampleMs = args['sample-ms']
const timeoutMs = args['timeout-ms']
const parser = args.parser === 'eventsource-parser' ? 'eventsource-parser' : 'count'
const variants = pickVariants(args.variants, FLOW_LABELS)
/** The client gives up on readers that got no byte for this long (a paced publisher waits up to `slowMs`). */
const stallMs = Math.max(10_000, 5 * slowMs)
/** How long the report waits for the stalled readers' responses to close (core ends one, and destroys it a second later). */
const settleMs = slowMs + 2000

/**
 * @typedef {object} Scenario
 * @property {ScenarioName} name
 * @property {number} clients Full-speed readers.
 * @property {number} stalled Readers that stop reading after their first bytes.
 * @property {number} events
 * @property {number} payload Bytes of data per event.
 */

/** @type {Record<ScenarioName, Scenario>} */
const SCENARIOS = {
  slow: {
    name: 'slow',
    clients: args.healthy,
    stalled: args.stalled,
    events: args.events,
    payload: args.payload,
  },
  burst: {
    name: 'burst',
    clients: 1,
    stalled: 0,
    events: Math.round((args['burst-mib'] * MB) / args['burst-payload']),
    payload: args['burst-payload'],
  },
}
const scenarios = args.scenarios
  .split(',')
  .filter((name) => name in SCENARIOS)
  .map((name) => SCENARIOS[/** @type {ScenarioName} */ (name)])

/**
 * @typedef {object} RunResult
 * @property {VariantName} variant
 * @property {ScenarioName} scenario
 * @property {number} round
 * @property {number} elapsedMs First publish until every full-speed reader had every event (or was cut).
 * @property {number} publishMs First publish until the publisher's last batch was out (and, paced, taken).
 * @property {{ t0: string, end: string }} span The measured span on the monotonic clock (ns), to cut
 *   `--cpu-prof` profiles to it (their timestamps are the same clock, in µs).
 * @property {{ ms: number, holds: number, holdMs: number }} waits Time the publisher spent in
 *   `ready()`; `holds`: single waits that lasted the slow limit (90% of it or more: a stalled reader
 *   held the publisher until it was given up on), and their total.
 * @property {Counts} counts What the full-speed readers received.
 * @property {boolean} complete Every full-speed reader got exactly every event, in order, none cut.
 * @property {number} stalledClosed Stalled readers whose response the server closed (ended and flushed, or destroyed).
 * @property {number} healthyClosed Full-speed readers whose response the server closed: the cut ones, seen from the server.
 * @property {number} connections TCP connections the server still had open after the run.
 * @property {number} peakRssOverIdle Highest RSS sampled during the run less RSS with the streams open and idle (after GC).
 * @property {number} idleRss
 * @property {number} peakRssLessYoungOverIdle The same, both readings less V8's young generation.
 * @property {{ heapUsed: number, external: number, newSpace: number }} atPeak At the highest RSS
 *   sample, over idle: JS heap used, external memory (Buffers and typed arrays) and V8's young generation.
 * @property {number} serverCpuMs Server user + system CPU, first publish to the client's last event.
 * @property {number} clientCpuMs
 * @property {number} otherCores CPU used by anything but this run's server and client, in cores, over the run.
 * @property {number} stealMs CPU stolen by the hypervisor during the run (all cores).
 * @property {Record<string, number>} stats The server's counters (a hub's stats, or the raw loop's).
 * @property {{ bytes: number, site: string }[] | undefined} heapTop With `--heap-sample`: where the
 *   server allocated what reached the old generation, biggest first.
 */

/**
 * @param {VariantName} variant
 * @param {Scenario} scenario
 * @param {number} round
 * @returns {Promise<RunResult>}
 */
async function run(variant, scenario, round) {
  const execArgv = ['--expose-gc', ...args['server-flags'].split(' ').filter(Boolean)]
  if (args['heap-sample']) mkdirSync(PROFILE_DIR, { recursive: true })
  if (args['cpu-prof']) execArgv.push(...cpuProfileFlags(`flow-${scenario.name}-${variant}-${round}`))
  const serverArgs = [
    variant,
    String(scenario.payload),
    'seq',
    String(slowMs),
    String(prewarm),
    String(batch),
  ]
  const server = forkServer(serverArgs, { timeoutMs, execArgv })
  const client = forkClient({ timeoutMs })
  const { clients, stalled, events } = scenario
  try {
    const { port } = await server.next('ready')
    client.send({
      type: 'connect',
      port,
      clients,
      stalled,
      events,
      parser,
      cuts: 'count',
      order: true,
      stallMs,
    })
    await client.next('connected')
    server.send({ type: 'idle', clients: clients + stalled })
    const { mem: idle } = await server.next('idle')
    const before = { machine: machineCpu(), client: cpuOf(client.child.pid) }
    const heapSample = args['heap-sample']
      ? `${PROFILE_DIR}flow-${scenario.name}-${variant}-${round}.heapprofile`
      : undefined
    server.send({ type: 'publish', events, burst: batch, sampleMs, holdMs: 0.9 * slowMs, heapSample })
    const { t0, publishMs, waits } = await server.next('published')
    /** @type {{ at: string, counts: Counts }} */
    const done = /** @type {any} */ (await client.next('done'))
    const after = { machine: machineCpu(), client: cpuOf(client.child.pid) }
    server.send({ type: 'report', settle: { ms: settleMs } })
    const report = await server.next('report')
    const elapsedMs = Number(BigInt(done.at) - BigInt(t0)) / 1e6
    const clientCpuMs = after.client - before.client
    const busyMs = after.machine.busyMs - before.machine.busyMs
    const { counts } = done
    return {
      variant,
      scenario: scenario.name,
      round,
      elapsedMs,
      publishMs,
      span: { t0: String(t0), end: String(done.at) },
      waits,
      counts,
      complete:
        counts.min === events &&
        counts.max === events &&
        counts.outOfOrder === 0 &&
        counts.cut === 0 &&
        counts.stuck === 0,
      stalledClosed: report.responses.stalled.closed,
      healthyClosed: report.responses.full.closed,
      connections: report.connections,
      peakRssOverIdle: report.peakRss - idle.rss,
      idleRss: idle.rss,
      peakRssLessYoungOverIdle:
        report.peakRss - (report.atPeak?.newSpace ?? Number.NaN) - (idle.rss - idle.newSpace),
      atPeak: {
        heapUsed: (report.atPeak?.heapUsed ?? Number.NaN) - idle.heapUsed,
        external: (report.atPeak?.external ?? Number.NaN) - idle.external,
        newSpace: (report.atPeak?.newSpace ?? Number.NaN) - idle.newSpace,
      },
      serverCpuMs: report.cpuMs,
      clientCpuMs,
      otherCores: Math.max(0, busyMs - report.cpuMs - clientCpuMs) / elapsedMs,
      stealMs: after.machine.stealMs - before.machine.stealMs,
      stats: report.stats,
      heapTop: report.heapTop,
    }
  } finally {
    await stopAll({ clients: [client], servers: [server] })
  }
}

/** Other processes used this many cores or more during a run: it is marked `[contended]`. */
const CONTENDED_CORES = 0.25

/** @param {RunResult} r */
function describe(r) {
  const { counts } = r
  const scenario = SCENARIOS[r.scenario]
  const got =
    scenario.clients === 1
      ? `${mb(counts.dataBytes)} MiB of data`
      : `${counts.min === counts.max ? counts.min : `${counts.min}..${counts.max}`} events per reader`
  return (
    `${r.elapsedMs.toFixed(0)} ms, ${got}` +
    (r.complete
      ? ' (all, in order)'
      : ` (INCOMPLETE: ${counts.outOfOrder} out of order, ${counts.stuck} stuck)`) +
    `, cut ${counts.cut}` +
    (r.healthyClosed === counts.cut ? '' : ` (the server closed ${r.healthyClosed})`) +
    `, stalled closed ${r.stalledClosed}/${scenario.stalled} (connections left ${r.connections}), ` +
    `publisher waited ${fmt(r.waits.ms)} ms (held ${r.waits.holds}× for ${fmt(r.waits.holdMs)} ms), ` +
    `peak RSS +${mb(r.peakRssOverIdle)} MB (heap +${mb(r.atPeak.heapUsed)}, external ` +
    `+${mb(r.atPeak.external)}, young gen +${mb(r.atPeak.newSpace)}), server CPU ${r.serverCpuMs.toFixed(0)} ms, ` +
    `client CPU ${r.clientCpuMs.toFixed(0)} ms, other load ${r.otherCores.toFixed(2)} cores ` +
    JSON.stringify(r.stats) +
    (r.otherCores >= CONTENDED_CORES ? ' [contended]' : '')
  )
}

const startedAt = Date.now()
const loadAtStart = loadavg()
console.log(
  `flow control: ${scenarios
    .map((s) =>
      s.name === 'slow'
        ? `slow = ${s.clients} full-speed + ${s.stalled} stalled readers × ${s.events} events of ${s.payload} B`
        : `burst = 1 reader × ${s.events} events of ${s.payload} B (${mb(s.events * s.payload)} MiB)`,
    )
    .join('; ')}; batches of ${batch} per tick, slow limit ${slowMs} ms, ${runs} runs per variant after ` +
    `${warmup} warm-up round(s), parser: ${parser}, node ${process.version}, ` +
    `load average ${loadAtStart.map((x) => x.toFixed(2)).join(' ')}`,
)

/** @type {RunResult[]} */
const results = []
for (const scenario of scenarios) {
  console.log(`\n${scenario.name}:`)
  const counted = await runRounds({
    runs,
    warmup,
    variants,
    run: (variant, round) => run(variant, scenario, round),
    describe,
    notes: ({ heapTop }) =>
      heapTop
        ? [
            `reached the old generation (sampled), top sites ${mb(heapTop.reduce((sum, site) => sum + site.bytes, 0))} MB:`,
            ...heapTop.map(({ bytes, site }) => `  ${mb(bytes).padStart(6)} MB  ${site}`),
          ]
        : [],
  })
  results.push(...counted)
}

/**
 * @typedef {object} Summary
 * @property {VariantName} variant
 * @property {ScenarioName} scenario
 * @property {number} elapsedMs
 * @property {number} unheldMs Time less the publisher's holds (single waits of 90% of the slow limit or more).
 * @property {number} holds
 * @property {number} peakRssOverIdle
 * @property {number} peakRssLessYoungOverIdle
 * @property {number} serverCpuMs
 * @property {number} dataBytes
 * @property {number[]} cut Per run.
 * @property {number[]} stalledClosed Per run.
 * @property {number} completeRuns Runs in which every full-speed reader got every event in order.
 * @property {number} runs
 * @property {number} otherCores
 * @property {Record<string, number>} stats Medians of the server's counters.
 */

/** @type {Summary[]} */
const summaries = []
for (const scenario of scenarios) {
  for (const variant of variants) {
    const mine = results.filter((r) => r.variant === variant && r.scenario === scenario.name)
    if (mine.length === 0) continue
    /** @param {(r: RunResult) => number} pick */
    const med = (pick) => median(mine.map(pick))
    const statNames = Object.keys(mine[0]?.stats ?? {})
    summaries.push({
      variant,
      scenario: scenario.name,
      elapsedMs: med((r) => r.elapsedMs),
      unheldMs: med((r) => r.elapsedMs - r.waits.holdMs),
      holds: med((r) => r.waits.holds),
      peakRssOverIdle: med((r) => r.peakRssOverIdle),
      peakRssLessYoungOverIdle: med((r) => r.peakRssLessYoungOverIdle),
      serverCpuMs: med((r) => r.serverCpuMs),
      dataBytes: med((r) => r.counts.dataBytes),
      cut: mine.map((r) => r.counts.cut),
      stalledClosed: mine.map((r) => r.stalledClosed),
      completeRuns: mine.filter((r) => r.complete).length,
      runs: mine.length,
      otherCores: med((r) => r.otherCores),
      stats: Object.fromEntries(statNames.map((name) => [name, med((r) => r.stats[name] ?? Number.NaN)])),
    })
  }
}

/** Per-run values, one if they agree: `0`, or `0/3/0`. @param {number[]} values */
const perRun = (values) => (values.every((v) => v === values[0]) ? String(values[0]) : values.join('/'))
/** @param {Summary} s */
const inOrder = (s) =>
  s.completeRuns === s.runs ? 'yes' : `no (${s.runs - s.completeRuns} of ${s.runs} runs)`
/** @param {Record<string, number>} stats */
const closes = (stats) =>
  'slowCloses' in stats
    ? `slow ${stats.slowCloses}, overflow ${stats.overflowCloses}, paced ${fmt(stats.pacedMs ?? 0)} ms`
    : `dropped ${stats.dropped}, paused ${fmt(stats.pausedMs ?? 0)} ms`

console.log(`\n${mediansHeading(runs, startedAt)}`)
for (const scenario of scenarios) {
  const mine = summaries.filter((s) => s.scenario === scenario.name)
  console.log('')
  if (scenario.name === 'slow') {
    console.log(
      table([
        [
          `slow (${scenario.clients} + ${scenario.stalled} stalled)`,
          'time ms',
          'holds',
          'time less holds',
          'healthy cut',
          'stalled closed',
          'peak RSS over idle MB',
          'less young gen',
          'every event, in order',
          'server CPU ms',
          'server: closes, pacing',
        ],
        ...mine.map((s) => [
          FLOW_LABELS[s.variant],
          fmt(s.elapsedMs),
          String(s.holds),
          fmt(s.unheldMs),
          perRun(s.cut),
          perRun(s.stalledClosed),
          mb(s.peakRssOverIdle),
          mb(s.peakRssLessYoungOverIdle),
          inOrder(s),
          fmt(s.serverCpuMs),
          closes(s.stats),
        ]),
      ]),
    )
  } else {
    console.log(
      table([
        [
          `burst (${mb(scenario.events * scenario.payload)} MiB)`,
          'data MiB delivered',
          'time ms',
          'MiB/s',
          'peak RSS over idle MB',
          'less young gen',
          'cut',
          'every event, in order',
          'server CPU ms',
          'server: closes, pacing',
        ],
        ...mine.map((s) => [
          FLOW_LABELS[s.variant],
          mb(s.dataBytes),
          fmt(s.elapsedMs),
          fmt(s.dataBytes / MB / (s.elapsedMs / 1000)),
          mb(s.peakRssOverIdle),
          mb(s.peakRssLessYoungOverIdle),
          perRun(s.cut),
          inOrder(s),
          fmt(s.serverCpuMs),
          closes(s.stats),
        ]),
      ]),
    )
  }

  const reference = mine.find((s) => s.variant === 'raw')
  if (!reference) continue
  const refRuns = results.filter((r) => r.variant === 'raw' && r.scenario === scenario.name)
  /** @param {Summary} s @param {(r: RunResult) => number} pick */
  const perRound = (s, pick) =>
    median(
      results
        .filter((r) => r.variant === s.variant && r.scenario === scenario.name)
        .map((r) => pick(r) / pick(refRuns.find((x) => x.round === r.round) ?? r)),
    )
  console.log('')
  console.log(
    table([
      [
        `${scenario.name}: against the raw pacing loop`,
        'time (target ≤ 1.20×)',
        'per round',
        ...(scenario.name === 'slow' ? ['time less holds'] : []),
        'peak memory (target ≤ 1.50×)',
        'per round',
        'less young gen',
        scenario.name === 'slow' ? 'healthy cut (target 0)' : 'cut (target 0)',
        ...(scenario.name === 'slow' ? [`stalled closed (target ${scenario.stalled})`] : []),
      ],
      ...mine
        .filter((s) => s !== reference)
        .map((s) => [
          FLOW_LABELS[s.variant],
          `${(s.elapsedMs / reference.elapsedMs).toFixed(2)}×`,
          `${perRound(s, (r) => r.elapsedMs).toFixed(2)}×`,
          ...(scenario.name === 'slow' ? [`${(s.unheldMs / reference.unheldMs).toFixed(2)}×`] : []),
          `${(s.peakRssOverIdle / reference.peakRssOverIdle).toFixed(2)}×`,
          `${perRound(s, (r) => r.peakRssOverIdle).toFixed(2)}×`,
          `${(s.peakRssLessYoungOverIdle / reference.peakRssLessYoungOverIdle).toFixed(2)}×`,
          perRun(s.cut),
          ...(scenario.name === 'slow' ? [perRun(s.stalledClosed)] : []),
        ]),
    ]),
  )
}

const loadAtEnd = loadavg()
const others = results.map((r) => r.otherCores)
const contended = others.filter((cores) => cores >= CONTENDED_CORES).length
console.log(
  `\nload average at the start ${loadAtStart.map((x) => x.toFixed(2)).join(' ')}, at the end ` +
    `${loadAtEnd.map((x) => x.toFixed(2)).join(' ')}; CPU used by other processes during the runs: ` +
    `median ${median(others).toFixed(2)}, max ${Math.max(...others).toFixed(2)} cores ` +
    `(of ${machineCpu().cores}); stolen by the hypervisor: ${fmt(results.reduce((sum, r) => sum + r.stealMs, 0))} ms in all; ` +
    `${contended} of ${results.length} runs [contended] (other processes used ≥ ${CONTENDED_CORES} cores)`,
)
if (args['cpu-prof'] || args['heap-sample']) console.log(`\nprofiles of the servers: ${PROFILE_DIR}`)
if (args.json) {
  console.log(JSON.stringify({ batch, slowMs, scenarios, results, summaries }))
}
