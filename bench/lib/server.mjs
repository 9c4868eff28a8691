/**
 * One server under test, in its own process (so each run's memory is measured from a clean
 * start), forked by `fanout.mjs` and `flow.mjs` with `--expose-gc`, and by `redis-fanout.mjs`.
 * `argv[2]` names the variant, `argv[3]` is the payload size in bytes, `argv[4]` the raw ids
 * (`seq` or `epoch`), `argv[5]` the slow limit in ms of the flow variants.
 *
 * Messages in:  { type: 'idle', clients }, { type: 'publish', events, burst, sampleMs?, holdMs?, heapSample? },
 *               { type: 'report', settle? }, { type: 'exit' }
 * Messages out: { type: 'ready', port, mem }, { type: 'idle', mem, open },
 *               { type: 'published', t0, publishMs, publishCpuMs, waits },
 *               { type: 'report', mem, cpuMs, stats, peakRss, atPeak, responses, connections, heapTop? }
 *
 * With `sampleMs`, RSS is sampled that often from the first publish until the report (`peakRss`,
 * the highest reading, and `atPeak`, memory at that moment). Responses are counted by the kind of
 * reader that asked (`/?reader=stalled` or any other URL): open now, and closed (their `close`
 * event: ended and flushed, or destroyed). With `settle: { ms }`, the report waits up to `ms` for
 * every stalled reader's response to close (a server that gives up on one may take a moment).
 * With `heapSample: path`, V8's sampling heap profiler runs over the same span (see
 * `heap-sample.mjs`); the profile is written to `path` and the report carries its top sites.
 */
import { writeFileSync } from 'node:fs'
import http from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import v8 from 'node:v8'
import { EventCounter } from './count.mjs'
import { startHeapSampling, stopHeapSampling, topAllocations } from './heap-sample.mjs'
import { createVariant } from './variants.mjs'

/** @typedef {import('./variants.mjs').VariantName} VariantName */
/**
 * @typedef {object} Mem
 * @property {number} rss
 * @property {number} heapUsed
 * @property {number} external
 * @property {number} newSpace Resident bytes of V8's young generation. Empty after a full GC, but
 *   its size follows V8's allocation-rate heuristics and is not given back at once, so it is
 *   reported apart from what the streams hold.
 */

const name = /** @type {VariantName} */ (process.argv[2])
const payloadBytes = Number(process.argv[3] ?? 128)
const rawIds = process.argv[4] === 'epoch' ? 'epoch' : 'seq'
const slowMs = Number(process.argv[5] ?? 5000)
const prewarmEvents = Number(process.argv[6] ?? 0)
const prewarmBurst = Number(process.argv[7] ?? 64)
// A fixed, printable payload with no line break: the same bytes for every variant.
const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
const payload = alphabet.repeat(Math.ceil(payloadBytes / alphabet.length)).slice(0, payloadBytes)

/** @param {Record<string, unknown>} message */
function send(message) {
  process.send?.(message)
}

/** Memory after full collections, so that garbage does not count as held memory. */
async function settledMemory() {
  const gc = /** @type {(() => void) | undefined} */ (globalThis.gc)
  for (let i = 0; i < 3; i++) {
    gc?.()
    await sleep(20)
  }
  const { rss, heapUsed, external } = process.memoryUsage()
  return /** @type {Mem} */ ({ rss, heapUsed, external, newSpace: newSpaceSize() })
}

/** Resident bytes of V8's young generation. */
function newSpaceSize() {
  const newSpace = v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')
  return newSpace?.physical_space_size ?? 0
}

const variant = await createVariant(name, payload, rawIds, { slowMs })
/** @type {http.Server} */
let server
if (variant.listen) {
  server = await variant.listen()
} else {
  const handle = variant.handle
  if (!handle) throw new Error(`variant ${name} has neither handle nor listen`)
  server = http.createServer((req, res) => handle(req, res))
  server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 })
  await new Promise((resolve) => server.once('listening', resolve))
}
const address = /** @type {import('node:net').AddressInfo} */ (server.address())

/** @type {NodeJS.CpuUsage | undefined} */
let cpuStart
/** @type {NodeJS.Timeout | undefined} */
let sampler
let peakRss = 0
/** @type {Mem | undefined} Memory at the highest RSS sampled (no GC first: what was resident then). */
let atPeak
/** @type {string | undefined} Where the heap profile goes, when asked for one. */
let heapSample

/** Responses by kind of reader, from the server's side. */
const responses = { full: { open: 0, closed: 0 }, stalled: { open: 0, closed: 0 } }
server.on('request', (/** @type {http.IncomingMessage} */ req, /** @type {http.ServerResponse} */ res) => {
  if (req.url?.includes('reader=warmup')) return
  const kind = req.url?.includes('reader=stalled') ? responses.stalled : responses.full
  kind.open++
  res.once('close', () => {
    kind.open--
    kind.closed++
  })
})

/** Open TCP connections. @returns {Promise<number>} */
function connections() {
  return new Promise((resolve) => server.getConnections((_, count) => resolve(count ?? Number.NaN)))
}

/**
 * Publishes `events` events in bursts of `burst` per tick: the burst synchronously (its
 * promises, if any, awaited together), then the variant's `ready()` if it has one (publisher
 * backpressure), then `setImmediate`. The same schedule for every variant. Returns how long the
 * publisher waited in `ready()` in all, and how often and how long it waited at least `holdMs`
 * at once (held by a stalled reader, in the flow benchmark).
 * @param {number} events
 * @param {number} burst
 * @param {number} [holdMs]
 */
async function publishAll(events, burst, holdMs = Number.POSITIVE_INFINITY) {
  let id = 0
  const waits = { ms: 0, holds: 0, holdMs: 0 }
  while (id < events) {
    const end = Math.min(events, id + burst)
    /** @type {Promise<unknown>[]} */
    const pending = []
    while (id < end) {
      const promise = variant.publish(++id)
      if (promise) pending.push(promise)
    }
    if (pending.length > 0) await Promise.all(pending)
    const ready = variant.ready?.()
    if (ready) {
      const start = performance.now()
      await ready
      const waited = performance.now() - start
      waits.ms += waited
      if (waited >= holdMs) {
        waits.holds++
        waits.holdMs += waited
      }
    }
    await new Promise((resolve) => setImmediate(resolve))
  }
  return waits
}

/**
 * Runs the publishing path once before anything is measured: one reader of this process's own,
 * `events` events on the usual schedule, then the reader leaves. What a server that has been up a
 * while has already paid once (compiled code, a framework's caches) is then not counted in a run's
 * memory or time.
 * @param {number} events
 * @param {number} burst
 */
async function prewarm(events, burst) {
  const counter = new EventCounter()
  /** @type {http.ClientRequest | undefined} */
  let req
  const read = new Promise((resolve, reject) => {
    req = http.get({ host: '127.0.0.1', port: address.port, path: '/?reader=warmup' }, (res) => {
      res.on('data', (/** @type {Buffer} */ chunk) => {
        counter.feed(chunk)
        if (counter.count >= events) resolve(undefined)
      })
      res.on('error', reject)
    })
    req.on('error', reject)
  })
  while (variant.open() < 1) await sleep(5)
  await Promise.all([publishAll(events, burst), read])
  req?.destroy()
  while (variant.open() > 0) await sleep(5)
}

if (prewarmEvents > 0) await prewarm(prewarmEvents, prewarmBurst)
send({ type: 'ready', port: address.port, mem: await settledMemory() })

process.on('message', async (/** @type {{ type: string, [key: string]: unknown }} */ message) => {
  if (message.type === 'idle') {
    const clients = Number(message.clients)
    while (variant.open() < clients) await sleep(10)
    send({ type: 'idle', mem: await settledMemory(), open: variant.open() })
  } else if (message.type === 'publish') {
    const sampleMs = Number(message.sampleMs ?? 0)
    if (sampleMs > 0) {
      const sample = () => {
        const { rss, heapUsed, external } = process.memoryUsage()
        if (rss <= peakRss) return
        peakRss = rss
        atPeak = { rss, heapUsed, external, newSpace: newSpaceSize() }
      }
      sample()
      sampler = setInterval(sample, sampleMs)
    }
    if (message.heapSample) {
      heapSample = String(message.heapSample)
      await startHeapSampling()
    }
    cpuStart = process.cpuUsage()
    const t0 = process.hrtime.bigint()
    const waits = await publishAll(
      Number(message.events),
      Number(message.burst),
      Number(message.holdMs ?? Infinity),
    )
    const cpu = process.cpuUsage(cpuStart)
    send({
      type: 'published',
      t0: String(t0),
      waits,
      publishMs: Number(process.hrtime.bigint() - t0) / 1e6,
      publishCpuMs: (cpu.user + cpu.system) / 1000,
    })
  } else if (message.type === 'report') {
    const cpu = process.cpuUsage(cpuStart)
    const profile = heapSample ? await stopHeapSampling() : undefined
    if (profile && heapSample) writeFileSync(heapSample, JSON.stringify(profile))
    if (sampler) {
      clearInterval(sampler)
      peakRss = Math.max(peakRss, process.memoryUsage.rss())
    }
    const peak = atPeak
    const settle = /** @type {{ ms: number } | undefined} */ (message.settle)
    if (settle) {
      const until = Date.now() + settle.ms
      while (responses.stalled.open > 0 && Date.now() < until) await sleep(20)
    }
    send({
      type: 'report',
      cpuMs: (cpu.user + cpu.system) / 1000,
      stats: variant.stats?.() ?? {},
      peakRss,
      atPeak: peak,
      responses,
      connections: await connections(),
      heapTop: profile ? topAllocations(profile, 8) : undefined,
      mem: await settledMemory(),
    })
  } else if (message.type === 'exit') {
    server.closeAllConnections()
    server.close()
    process.exit(0)
  }
})
