/**
 * One server of `scale.mjs`, in its own process (forked with `--expose-gc`, at the machine's
 * per-process descriptor limit), holding idle SSE responses until told to ping or broadcast.
 * `argv[2]` names the variant:
 *
 * - `raw`: bare `node:http`: headers, `flushHeaders()`, the response in a `Set`; a heartbeat that
 *   writes `:\n\n` to every response in one `setInterval` callback (what a hand-rolled server
 *   does; it skips its pass while a broadcast is measured); a broadcast frames once into one
 *   `Buffer` and writes it to every response.
 * - `core`: `createHub({ heartbeat })` of `@sse/core`, each request
 *   `hub.subscribe(createNodeEventStream(req, res), { topics: ['scale'] })`, broadcasts with
 *   `hub.publish('scale', …)`.
 * - `redis`: as `core`, the hub on a `RedisBroker` of `@sse/redis` at `BENCH_REDIS_URL`, keys under
 *   `BENCH_REDIS_PREFIX`: every instance of one run is one hub.
 *
 * - `alt`: as `core`, with the build of `@sse/core` in the package directory `BENCH_ALT_CORE` (its
 *   `dist/`): another version side by side, e.g. before and after a change.
 *
 * `argv[3]` is the heartbeat interval in ms.
 *
 * Messages in:  { type: 'memory' }, { type: 'measure', ms }, { type: 'broadcast', marker, ms },
 *               { type: 'watch', ms }, { type: 'drained', timeoutMs, settleMs }, { type: 'exit' }
 * Messages out: { type: 'ready', port, mem, fdLimit }, { type: 'memory', mem, open },
 *               { type: 'measured', loop }, { type: 'published', t0, busyMs }, { type: 'broadcast', loop },
 *               { type: 'drained', mem, open, waitedMs }
 * `loop` is the event loop's delay (p50/p99/max ms, `monitorEventLoopDelay` at 1 ms resolution;
 * `waitP99`, the same weighted by time, see below) and the process's CPU ms over the window. `t0` is the time
 * when the publish began, from `monotonicMs()` (CLOCK_MONOTONIC: the clients read the same clock).
 */
import { readFileSync } from 'node:fs'
import http from 'node:http'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { pathToFileURL } from 'node:url'
import v8 from 'node:v8'
import { monotonicMs, readFdLimit } from './scale-limits.mjs'

const variantName = process.argv[2] ?? 'core'
const heartbeatMs = Number(process.argv[3] ?? 5000)
const altCore = variantName === 'alt' ? process.env.BENCH_ALT_CORE : undefined
if (variantName === 'alt' && !altCore)
  throw new Error('the alt variant needs BENCH_ALT_CORE (scale.mjs --alt-core=<dir>)')
/** @type {typeof import('@sse/core')} */
const { createHub } = await import(altCore ? pathToFileURL(`${altCore}/dist/index.mjs`).href : '@sse/core')
/** @type {typeof import('@sse/core/node')} */
const { createNodeEventStream } = await import(
  altCore ? pathToFileURL(`${altCore}/dist/node.mjs`).href : '@sse/core/node'
)

/** @param {Record<string, unknown>} message */
function send(message) {
  process.send?.(message)
}

/** Memory after full collections, so that garbage does not count as held memory. */
async function settledMemory() {
  const gc = /** @type {(() => void) | undefined} */ (globalThis.gc)
  for (let i = 0; i < 3; i++) {
    gc?.()
    await sleep(50)
  }
  const { rss, heapUsed, heapTotal, external } = process.memoryUsage()
  return { rss, heapUsed, heapTotal, external, ...whereRssIs() }
}

/**
 * Where the resident pages are: V8's heap pages in RAM (`v8Physical`); the C allocator's main
 * arena (`brk`, the `[heap]` mapping of /proc/self/smaps); every anonymous mapping (`anon`:
 * V8's pages, malloc's arenas, thread stacks); and `file`, pages of the node binary and its
 * libraries read in (code that ran: shared with the page cache, not memory the process holds).
 * Linux only; zeros elsewhere.
 */
function whereRssIs() {
  const v8Physical = v8.getHeapStatistics().total_physical_size
  let brk = 0
  let anon = 0
  let file = 0
  try {
    const status = readFileSync('/proc/self/status', 'utf8')
    anon = Number(/^RssAnon:\s+(\d+)/m.exec(status)?.[1] ?? 0) * 1024
    file = Number(/^RssFile:\s+(\d+)/m.exec(status)?.[1] ?? 0) * 1024
    const smaps = readFileSync('/proc/self/smaps', 'utf8')
    const heap = /\[heap\]\n(?:.*\n)*?Rss:\s+(\d+)/.exec(smaps)
    brk = Number(heap?.[1] ?? 0) * 1024
  } catch {
    // not Linux
  }
  return { v8Physical, brk, anon, file }
}

/**
 * @typedef {object} ScaleVariant
 * @property {(req: http.IncomingMessage, res: http.ServerResponse) => void} handle
 * @property {(data: string) => unknown} broadcast
 * @property {() => number} open
 */

/**
 * While a broadcast is measured, the raw heartbeat skips its pass: one pass in one tick holds the
 * loop for as long as the broadcast itself, and would land in its window at random.
 */
let paused = false

/** @returns {ScaleVariant} */
function raw() {
  /** @type {Set<http.ServerResponse>} */
  const responses = new Set()
  const ping = Buffer.from(':\n\n')
  setInterval(() => {
    if (paused) return
    for (const res of responses) res.write(ping)
  }, heartbeatMs).unref()
  return {
    handle(_req, res) {
      res.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-cache, no-transform',
        Connection: 'keep-alive',
      })
      res.flushHeaders()
      responses.add(res)
      res.on('close', () => responses.delete(res))
    },
    broadcast(data) {
      const frame = Buffer.from(`data: ${data}\n\n`)
      for (const res of responses) res.write(frame)
    },
    open: () => responses.size,
  }
}

/**
 * @param {import('@sse/core').Broker} [broker]
 * @returns {ScaleVariant}
 */
function core(broker) {
  const hub = createHub({ broker, heartbeat: heartbeatMs })
  return {
    handle(req, res) {
      hub.subscribe(createNodeEventStream(req, res), { topics: ['scale'] }).catch((error) => {
        console.error('subscribe failed', error)
      })
    },
    broadcast: (data) => hub.publish('scale', { data }),
    open: () => hub.size,
  }
}

/** @returns {Promise<ScaleVariant>} */
async function createScaleVariant() {
  if (variantName === 'raw') return raw()
  if (variantName === 'core' || variantName === 'alt') return core()
  if (variantName === 'redis') {
    const { RedisBroker } = await import('@sse/redis')
    const broker = new RedisBroker({
      redis: process.env.BENCH_REDIS_URL,
      prefix: process.env.BENCH_REDIS_PREFIX,
    })
    await broker.ready()
    return core(broker)
  }
  throw new Error(`unknown scale variant ${variantName}`)
}

const variant = await createScaleVariant()
const server = http.createServer((req, res) => variant.handle(req, res))
// Past the descriptor limit libuv accepts and at once closes connections (the client sees a
// reset); an accept error that does reach Node is reported, not thrown.
server.on('error', (error) => console.error(`scale server (${variantName}): ${error.message}`))
server.listen({ port: 0, host: '127.0.0.1', backlog: 65_535 })
await new Promise((resolve) => server.once('listening', resolve))
const { port } = /** @type {import('node:net').AddressInfo} */ (server.address())

/**
 * The wait that work arriving at a random moment of the window exceeds 1% of the time. The
 * histogram's p99 weighs every sample alike: one stall of 700 ms among 3,000 samples of 1 ms is
 * past its p99. But a stall of `d` ms makes whatever arrives during it wait up to `d`: weighted by
 * time, the same stall is 17% of a 4 s window, and its p99 wait is about 660 ms.
 * @param {import('node:perf_hooks').IntervalHistogram} histogram
 * @param {number} windowMs
 * @param {{ over10: number, over20: number }} [stallCounts] filled in: samples delayed over 10 and 20 ms
 */
function waitP99(histogram, windowMs, stallCounts = { over10: 0, over20: 0 }) {
  /** @type {Array<[delayMs: number, samples: number]>} */
  const stalls = []
  let below = 0
  for (const [percent, ns] of [...histogram.percentiles.entries()].sort((x, y) => x[0] - y[0])) {
    const samples = ((percent - below) / 100) * histogram.count
    if (samples > 0) stalls.push([ns / 1e6, samples])
    below = percent
  }
  stallCounts.over10 = stalls.reduce((sum, [delay, samples]) => sum + (delay > 10 ? samples : 0), 0)
  stallCounts.over20 = stalls.reduce((sum, [delay, samples]) => sum + (delay > 20 ? samples : 0), 0)
  const exceeded = (/** @type {number} */ wait) =>
    stalls.reduce((sum, [delay, samples]) => sum + samples * Math.max(0, delay - wait), 0) / windowMs
  let low = 0
  let high = histogram.max / 1e6
  if (exceeded(0) <= 0.01) return 0
  for (let i = 0; i < 40; i++) {
    const mid = (low + high) / 2
    if (exceeded(mid) > 0.01) low = mid
    else high = mid
  }
  return high
}

/**
 * The event loop's delay and this process's CPU over `ms` after `start()` runs.
 * @param {number} ms
 * @param {() => void} [start]
 */
async function loopDuring(ms, start) {
  const histogram = monitorEventLoopDelay({ resolution: 1 })
  histogram.enable()
  const cpu = process.cpuUsage()
  // The histogram's first sample has nothing to be measured from: a stall before it is not seen.
  await sleep(20)
  start?.()
  await sleep(ms - 20)
  histogram.disable()
  const used = process.cpuUsage(cpu)
  const toMs = (/** @type {number} */ ns) => ns / 1e6
  const stalls = { over10: 0, over20: 0 }
  return {
    p50: toMs(histogram.percentile(50)),
    p99: toMs(histogram.percentile(99)),
    max: toMs(histogram.max),
    waitP99: waitP99(histogram, ms, stalls),
    stallsOver10ms: Math.round(stalls.over10),
    stallsOver20ms: Math.round(stalls.over20),
    cpuMs: (used.user + used.system) / 1000,
    windowMs: ms,
  }
}

process.on('message', async (/** @type {any} */ message) => {
  if (message.type === 'memory') {
    send({ type: 'memory', mem: await settledMemory(), open: variant.open() })
  } else if (message.type === 'measure') {
    send({ type: 'measured', loop: await loopDuring(message.ms) })
  } else if (message.type === 'broadcast') {
    paused = true
    const loop = await loopDuring(message.ms, () => {
      const t0 = monotonicMs()
      // A failed publish (over Redis) is reported, and the clients' wait for it ends at its deadline.
      Promise.resolve(variant.broadcast(message.marker)).catch((/** @type {Error} */ error) =>
        console.error(`scale server (${variantName}): the broadcast's publish failed: ${error.message}`),
      )
      // The publish and its fan-out (a microtask for the hub) done: the loop is free again.
      setImmediate(() => send({ type: 'published', t0, busyMs: monotonicMs() - t0 }))
    })
    paused = false
    send({ type: 'broadcast', loop })
  } else if (message.type === 'watch') {
    // An instance that does not publish (over Redis): the same window, no publish.
    send({ type: 'broadcast', loop: await loopDuring(message.ms) })
  } else if (message.type === 'drained') {
    const start = performance.now()
    while (variant.open() > 0 && performance.now() - start < message.timeoutMs) await sleep(50)
    const waitedMs = performance.now() - start
    // V8 gives unused pages back a few seconds after the heap shrinks (its memory reducer).
    await sleep(message.settleMs ?? 1000)
    send({ type: 'drained', mem: await settledMemory(), open: variant.open(), waitedMs })
  } else if (message.type === 'exit') {
    process.exit(0)
  }
})

// Ends with the benchmark: a parent that died leaves no process holding thousands of sockets.
process.on('disconnect', () => process.exit(0))

send({ type: 'ready', port, mem: await settledMemory(), fdLimit: readFdLimit() })
