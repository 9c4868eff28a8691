/**
 * Scale on one box: many idle streams per process, side by side with a raw `node:http` server
 * holding the same number of idle responses. See README.md ("Scale").
 *
 * For each variant: server processes (`lib/scale-server.mjs`, at the per-process descriptor
 * limit), client processes (`lib/scale-client.mjs`, each on its own loopback source address), then
 * connect + subscribe, idle memory, one heartbeat pass, one broadcast to all, disconnect.
 *
 *   node bench/scale.mjs                         # raw and core, one server at the fd limit
 *   node bench/scale.mjs --streams=2000          # a smaller run
 *   node bench/scale.mjs --cycles=3              # connect and leave 3 times: memory after each
 *   node bench/scale.mjs --variants=redis --servers=6 --streams=100000
 *   node bench/scale.mjs --variants=raw,alt,core --alt-core=/tmp/old/packages/core   # two builds
 */
import { fork, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { benchArgs, pickVariants } from './lib/args.mjs'
import { cpuOf, machineCpu } from './lib/proc.mjs'
import { redisStats, startRedis } from './lib/redis-server.mjs'
import { columnsTable, fmt, mb } from './lib/report.mjs'
import { limitMessage, monotonicMs, readFdLimit, readPortRange, readSomaxconn } from './lib/scale-limits.mjs'

const LABELS = {
  raw: 'raw node:http',
  core: '@sse/core hub',
  alt: '@sse/core hub (--alt-core)',
  redis: '@sse/core hub over @sse/redis',
}
/** Client processes name their source ports from here up (see lib/scale-client.mjs). */
const FIRST_PORT = 10_000
/** Descriptors a process keeps for itself (stdio, IPC, the event loop's, a Redis connection…). */
const HEADROOM = 500

const fdLimit = readFdLimit()
const ports = readPortRange()
const perProcessMax = Math.max(1, Math.min(fdLimit.hard, 1_000_000) - HEADROOM)
const args = benchArgs({
  numbers: {
    streams: 0,
    servers: 1,
    'per-client': 10_000,
    'heartbeat-ms': 4000,
    concurrency: 100,
    'window-ms': 3000,
    'settle-ms': 15_000,
    warm: 200,
    cycles: 1,
  },
  strings: { variants: 'raw,core', 'alt-core': '' },
  flags: ['skip-heartbeat'],
})
const servers = Math.max(1, args.servers)
const streams = args.streams > 0 ? args.streams : perProcessMax * servers
const variants = pickVariants(args.variants, LABELS)
const heartbeatMs = args['heartbeat-ms']
const perClient = Math.min(args['per-client'], perProcessMax, 65_536 - FIRST_PORT - 1000)

const here = fileURLToPath(new URL('.', import.meta.url))

/**
 * Forks `module` with `--expose-gc`, its open-files soft limit raised to the hard limit (through
 * `bash -c 'ulimit -n …'`; Node cannot raise its own).
 * @param {string} module
 * @param {string[]} argv
 * @param {NodeJS.ProcessEnv} [env]
 */
function forkAtLimit(module, argv, env = process.env) {
  const path = `${here}lib/${module}`
  const execArgv = ['--expose-gc']
  const stdio = /** @type {import('node:child_process').StdioOptions} */ ([
    'ignore',
    'inherit',
    'inherit',
    'ipc',
  ])
  if (!(fdLimit.soft < fdLimit.hard)) return fork(path, argv, { execArgv, env, stdio })
  const limit = Number.isFinite(fdLimit.hard) ? String(fdLimit.hard) : 'unlimited'
  return spawn(
    'bash',
    ['-c', `ulimit -n ${limit} && exec "$0" "$@"`, process.execPath, ...execArgv, path, ...argv],
    {
      env,
      stdio,
    },
  )
}

/**
 * The next message of `type` from `child`, or an error after `timeoutMs` or when the child exits.
 * @param {import('node:child_process').ChildProcess} child
 * @param {string} type
 * @param {number} timeoutMs
 * @param {string} what
 * @returns {Promise<any>}
 */
function next(child, type, timeoutMs, what) {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer)
      child.off('message', onMessage)
      child.off('exit', onExit)
    }
    const onMessage = (/** @type {any} */ message) => {
      if (message?.type !== type) return
      done()
      resolve(message)
    }
    const onExit = (/** @type {number | null} */ code, /** @type {string | null} */ signal) => {
      done()
      reject(new Error(`${what} exited (${signal ?? `code ${code}`}) while waiting for '${type}'`))
    }
    const timer = setTimeout(() => {
      done()
      reject(new Error(`${what} sent no '${type}' within ${timeoutMs} ms`))
    }, timeoutMs)
    child.on('message', onMessage)
    child.on('exit', onExit)
  })
}

/**
 * Asks every child and waits for their answers.
 * @param {import('node:child_process').ChildProcess[]} children
 * @param {Record<string, unknown>} message
 * @param {string} reply
 * @param {number} timeoutMs
 * @param {string} what
 */
function askAll(children, message, reply, timeoutMs, what) {
  const answers = children.map((child, i) => next(child, reply, timeoutMs, `${what} ${i + 1}`))
  for (const child of children) child.send(message)
  return Promise.all(answers)
}

/**
 * The kernel's slab memory, machine-wide, in bytes (`/proc/meminfo`): where its socket, file
 * and epoll structures live (~3.8 KB per socket end here: TCP 2,368 B, inode 832, file 192, …).
 * An idle socket holds no buffer pages.
 */
function slabBytes() {
  try {
    return Number(/^Slab:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]) * 1024
  } catch {
    return Number.NaN
  }
}

/** @param {number[]} sorted @param {number} p */
function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN
}

/** @param {number} n @param {number} parts */
function split(n, parts) {
  return Array.from({ length: parts }, (_, i) => Math.floor(n / parts) + (i < n % parts ? 1 : 0))
}

/**
 * @typedef {{ rss: number, heapUsed: number, heapTotal: number, external: number,
 *   v8Physical: number, brk: number, anon: number, file: number }} Mem
 */

/** @param {Mem[]} mems @returns {Mem} */
function sumMem(mems) {
  return mems.reduce(
    (sum, mem) => ({
      rss: sum.rss + mem.rss,
      heapUsed: sum.heapUsed + mem.heapUsed,
      heapTotal: sum.heapTotal + mem.heapTotal,
      external: sum.external + mem.external,
      v8Physical: sum.v8Physical + mem.v8Physical,
      brk: sum.brk + mem.brk,
      anon: sum.anon + mem.anon,
      file: sum.file + mem.file,
    }),
    { rss: 0, heapUsed: 0, heapTotal: 0, external: 0, v8Physical: 0, brk: 0, anon: 0, file: 0 },
  )
}

/**
 * `--warm` streams per server connect (from 127.0.0.250), get one broadcast, and leave.
 * @param {import('node:child_process').ChildProcess[]} serverProcs
 * @param {any[]} ready
 * @param {string} variant
 */
async function warmUp(serverProcs, ready, variant) {
  const clients = serverProcs.map(() => forkAtLimit('scale-client.mjs', []))
  try {
    await Promise.all(
      clients.map((child, i) => {
        const answer = next(child, 'connected', 60_000, `warm-up client ${i + 1}`)
        child.send({
          type: 'connect',
          port: ready[i].port,
          count: args.warm,
          localAddress: `127.0.0.${250 - i}`,
          firstPort: FIRST_PORT + 50_000,
          concurrency: args.concurrency,
          timeoutMs: 20_000,
        })
        return answer
      }),
    )
    await askAll(clients, { type: 'expect', marker: 'warm-up' }, 'expecting', 10_000, 'warm-up client')
    const arrived = Promise.all(
      clients.map((child, i) => next(child, 'arrived', 30_000, `warm-up client ${i + 1}`)),
    )
    const publishers = variant === 'redis' ? serverProcs.slice(0, 1) : serverProcs
    const done = Promise.all(
      publishers.map((child, i) => next(child, 'broadcast', 30_000, `server ${i + 1}`)),
    )
    for (const child of publishers) child.send({ type: 'broadcast', marker: 'warm-up', ms: 100 })
    await arrived
    await done
    await askAll(clients, { type: 'close' }, 'closed', 10_000, 'warm-up client')
    await askAll(
      serverProcs,
      { type: 'drained', timeoutMs: 10_000, settleMs: 100 },
      'drained',
      30_000,
      'server',
    )
  } finally {
    for (const child of clients) child.kill()
  }
}

/**
 * Forks one client process per `plan` entry (each on its own source address, ports from
 * `firstPort`) and connects them all at once.
 * @param {Array<{ server: number, count: number }>} plan
 * @param {any[]} ready the servers' `ready` messages
 * @param {number} firstPort
 * @param {import('node:child_process').ChildProcess[]} children where to keep them (to kill at the end)
 */
async function connectPlan(plan, ready, firstPort, children) {
  const clientProcs = plan.map(() => forkAtLimit('scale-client.mjs', []))
  children.push(...clientProcs)
  const connectStart = monotonicMs()
  const connected = await Promise.all(
    clientProcs.map((child, i) => {
      const answer = next(child, 'connected', 600_000, `client ${i + 1}`)
      child.send({
        type: 'connect',
        port: ready[plan[i]?.server ?? 0].port,
        count: plan[i]?.count,
        localAddress: `127.0.0.${2 + i}`,
        firstPort,
        concurrency: args.concurrency,
        timeoutMs: 20_000,
      })
      return answer
    }),
  )
  return { clientProcs, connected, connectMs: monotonicMs() - connectStart }
}

/**
 * Throws, naming the limit and how to raise it, when any connection failed.
 * @param {any[]} connected the clients' `connected` messages
 * @param {number} serverLimit
 */
function checkConnected(connected, serverLimit) {
  const ok = connected.reduce((sum, c) => sum + c.ok, 0)
  const failed = connected.filter((c) => c.firstCode)
  if (failed.length > 0) {
    /** @type {Record<string, number>} */
    const causes = {}
    for (const c of failed)
      for (const [code, n] of Object.entries(c.failures)) causes[code] = (causes[code] ?? 0) + n
    const code = failed[0].firstCode
    const explained =
      limitMessage(code, 'a client process') ??
      (code === 'closed' || code === 'ECONNRESET'
        ? `${limitMessage(
            'EMFILE',
            `the server (${fmt(serverLimit)} descriptors per process; it held ${fmt(ok)} connections in all)`,
          )} Past its limit, a Node server accepts and at once closes each new connection.`
        : code === 'timeout'
          ? `connections went unanswered for 20 s: the accept backlog is full (net.core.somaxconn = ${readSomaxconn()}) or the server is stuck.`
          : `connections failed with ${code}.`)
    throw new Error(
      `${fmt(ok)} of ${fmt(streams)} streams connected (failures: ${JSON.stringify(causes)}). ${explained}`,
    )
  }
}

/**
 * One variant, start to end.
 * @param {keyof typeof LABELS} variant
 */
async function runVariant(variant) {
  /** @type {import('node:child_process').ChildProcess[]} */
  const children = []
  /** @type {Awaited<ReturnType<typeof startRedis>> | undefined} */
  let redis
  try {
    let env = process.env
    if (variant === 'alt') env = { ...process.env, BENCH_ALT_CORE: args['alt-core'] }
    if (variant === 'redis') {
      redis = await startRedis()
      env = { ...process.env, BENCH_REDIS_URL: redis.url, BENCH_REDIS_PREFIX: `scale-${Date.now()}` }
    }
    const serverProcs = Array.from({ length: servers }, () =>
      forkAtLimit('scale-server.mjs', [variant, String(heartbeatMs)], env),
    )
    children.push(...serverProcs)
    const ready = await Promise.all(
      serverProcs.map((child, i) => next(child, 'ready', 30_000, `server ${i + 1}`)),
    )
    // Warm-up: a few streams connect, get a broadcast and leave, so that the baseline is a server
    // that has served (its code compiled, its pools made) and "after" compares like with like.
    const cold = sumMem(ready.map((r) => r.mem))
    if (args.warm > 0) await warmUp(serverProcs, ready, variant)
    const before = sumMem(
      (await askAll(serverProcs, { type: 'memory' }, 'memory', 60_000, 'server')).map((m) => m.mem),
    )
    const slabBefore = slabBytes()
    const serverLimit = ready[0].fdLimit.soft
    const perServer = split(streams, servers)
    const largest = perServer[0] ?? 0
    if (largest > serverLimit - 50) {
      console.log(
        `  note: ${fmt(largest)} streams per server, but a server may open ${fmt(serverLimit)} descriptors: expect it to refuse the rest (raise ulimit -n, or --servers)`,
      )
    }

    // Clients: each serves part of one server's streams, from its own source address.
    /** @type {Array<{ server: number, count: number }>} */
    const plan = []
    perServer.forEach((count, server) => {
      for (const part of split(count, Math.ceil(count / perClient))) plan.push({ server, count: part })
    })
    if (plan.length > 200)
      throw new Error(`${plan.length} client processes needed: more than 127.0.0.2-127.0.0.201`)
    if (FIRST_PORT + args.cycles * perClient > FIRST_PORT + 50_000)
      throw new Error(
        `--cycles=${args.cycles} of ${fmt(perClient)} connections per client process need more source ports than 10,000-60,000`,
      )
    const cpu0 = serverProcs.map((child) => cpuOf(child.pid))
    const { clientProcs, connected, connectMs } = await connectPlan(plan, ready, FIRST_PORT, children)
    const connectCpuMs = serverProcs.reduce((sum, child, i) => sum + cpuOf(child.pid) - (cpu0[i] ?? 0), 0)
    const ok = connected.reduce((sum, c) => sum + c.ok, 0)
    checkConnected(connected, serverLimit)

    // Idle: memory, then one heartbeat pass once every stream has been quiet for two intervals.
    const idle = await askAll(serverProcs, { type: 'memory' }, 'memory', 60_000, 'server')
    const slabIdle = slabBytes()
    const open = idle.reduce((sum, m) => sum + m.open, 0)
    const idleMem = sumMem(idle.map((m) => m.mem))
    const emptyLoop = { p50: Number.NaN, p99: Number.NaN, max: Number.NaN, waitP99: Number.NaN, cpuMs: 0 }
    let heartbeat = serverProcs.map(() => ({ loop: { ...emptyLoop, stallsOver10ms: 0, stallsOver20ms: 0 } }))
    let pinged = 0
    if (!args['skip-heartbeat']) {
      await sleep(2 * heartbeatMs + 200)
      const pings0 = await askAll(clientProcs, { type: 'pings' }, 'pings', 10_000, 'client')
      heartbeat = await askAll(
        serverProcs,
        { type: 'measure', ms: heartbeatMs },
        'measured',
        heartbeatMs + 30_000,
        'server',
      )
      const pings1 = await askAll(clientProcs, { type: 'pings' }, 'pings', 10_000, 'client')
      pinged = pings1.reduce((sum, p, i) => sum + p.pings - (pings0[i]?.pings ?? 0), 0)
    }

    // One broadcast to every stream.
    const marker = `broadcast-${Date.now()}`
    await askAll(clientProcs, { type: 'expect', marker }, 'expecting', 10_000, 'client')
    const redisBefore = redis ? await redisStats(redis.port) : undefined
    const arrivedAll = Promise.all(
      clientProcs.map((child, i) => next(child, 'arrived', 60_000, `client ${i + 1}`)),
    )
    const publishers = variant === 'redis' ? serverProcs.slice(0, 1) : serverProcs
    const watchers = variant === 'redis' ? serverProcs.slice(1) : []
    const windowMs = args['window-ms']
    const published = Promise.all(
      publishers.map((child, i) => next(child, 'published', 10_000, `server ${i + 1}`)),
    )
    const loops = Promise.all(
      serverProcs.map((child, i) => next(child, 'broadcast', windowMs + 30_000, `server ${i + 1}`)),
    )
    for (const child of watchers) child.send({ type: 'watch', ms: windowMs })
    for (const child of publishers) child.send({ type: 'broadcast', marker, ms: windowMs })
    const publishedAll = await published
    const t0 = Math.min(...publishedAll.map((p) => p.t0))
    const busyMs = Math.max(...publishedAll.map((p) => p.busyMs))
    let arrivalError = ''
    await arrivedAll.catch((error) => {
      arrivalError = error.message
    })
    const redisAfter = redis ? await redisStats(redis.port) : undefined
    const broadcast = await loops
    const arrivals = await askAll(clientProcs, { type: 'arrivals' }, 'arrivals', 30_000, 'client')
    const latencies = arrivals
      .flatMap((a) => a.times.map((/** @type {number} */ t) => t - t0))
      .sort((x, y) => x - y)
    const lost = arrivals.reduce((sum, a) => sum + a.lost, 0)

    /**
     * Every one of `clients` closes; each server answers once it holds no stream (and settled).
     * @param {import('node:child_process').ChildProcess[]} clients
     */
    const leave = async (clients) => {
      await askAll(clients, { type: 'close' }, 'closed', 30_000, 'client')
      return askAll(
        serverProcs,
        { type: 'drained', timeoutMs: 30_000, settleMs: args['settle-ms'] },
        'drained',
        90_000,
        'server',
      )
    }

    // Every client leaves.
    const drained = await leave(clientProcs)
    const after = sumMem(drained.map((d) => d.mem))
    // A control: the same window with no stream at all, for the machine's own noise.
    const quiet = args['skip-heartbeat']
      ? serverProcs.map(() => ({ loop: { ...emptyLoop, stallsOver10ms: 0 } }))
      : await askAll(
          serverProcs,
          { type: 'measure', ms: heartbeatMs },
          'measured',
          heartbeatMs + 30_000,
          'server',
        )
    for (const child of clientProcs) child.kill()

    // More cycles: every stream connects and leaves again. Memory that grew with each cycle would
    // be a leak; memory the allocators keep for the next crowd is not.
    /** @type {Array<ReturnType<typeof sumMem>>} */
    const cycles = [after]
    for (let cycle = 2; cycle <= args.cycles; cycle++) {
      const again = await connectPlan(plan, ready, FIRST_PORT + (cycle - 1) * perClient, children)
      checkConnected(again.connected, serverLimit)
      const left = await leave(again.clientProcs)
      cycles.push(sumMem(left.map((d) => d.mem)))
      for (const child of again.clientProcs) child.kill()
    }

    const worst = (/** @type {any[]} */ list, /** @type {string} */ key) =>
      Math.max(...list.map((x) => x.loop[key]))
    return {
      variant,
      servers,
      streams,
      open,
      clientProcesses: clientProcs.length,
      connectMs,
      connectPerSec: (ok / connectMs) * 1000,
      connectCpuMs,
      cold,
      slabBefore,
      slabIdle,
      before,
      idle: idleMem,
      after,
      cycles,
      rssPerStream: (idleMem.rss - before.rss) / open,
      heapPerStream: (idleMem.heapUsed + idleMem.external - before.heapUsed - before.external) / open,
      quiet: {
        waitP99: worst(quiet, 'waitP99'),
        max: worst(quiet, 'max'),
        over10: worst(quiet, 'stallsOver10ms'),
      },
      heartbeat: {
        over10: worst(heartbeat, 'stallsOver10ms'),
        over20: worst(heartbeat, 'stallsOver20ms'),
        waitP99: worst(heartbeat, 'waitP99'),
        p99: worst(heartbeat, 'p99'),
        max: worst(heartbeat, 'max'),
        cpuMs: heartbeat.reduce((sum, h) => sum + h.loop.cpuMs, 0),
        windowMs: heartbeatMs,
        pinged,
      },
      broadcast: {
        waitP99: worst(broadcast, 'waitP99'),
        p99: worst(broadcast, 'p99'),
        max: worst(broadcast, 'max'),
        cpuMs: broadcast.reduce((sum, b) => sum + b.loop.cpuMs, 0),
        windowMs,
        busyMs,
        received: latencies.length,
        p50: percentile(latencies, 50),
        p99ms: percentile(latencies, 99),
        last: latencies[latencies.length - 1] ?? Number.NaN,
        error: arrivalError,
      },
      lost,
      drainedOpen: drained.reduce((sum, d) => sum + d.open, 0),
      redis:
        redisBefore && redisAfter
          ? {
              inputBytes: redisAfter.inputBytes - redisBefore.inputBytes,
              outputBytes: redisAfter.outputBytes - redisBefore.outputBytes,
              commands: redisAfter.commands - redisBefore.commands,
              cpuMs: cpuOf(redis?.pid),
            }
          : undefined,
    }
  } finally {
    for (const child of children) child.kill()
    redis?.stop()
  }
}

const startedAt = Date.now()
const machine0 = machineCpu()
console.log(
  `scale: ${fmt(streams)} streams on ${servers} server process${servers === 1 ? '' : 'es'}, variants ${variants.join(', ')}; ` +
    `open files per process ${fdLimit.soft} (hard ${fdLimit.hard}), ephemeral ports ${ports.low}-${ports.high}, somaxconn ${readSomaxconn()}; ` +
    `heartbeat every ${heartbeatMs} ms; ≤ ${fmt(perClient)} connections per client process`,
)
/** @type {Awaited<ReturnType<typeof runVariant>>[]} */
const results = []
let failures = 0
for (const variant of variants) {
  const t = Date.now()
  try {
    const result = await runVariant(variant)
    results.push(result)
    console.log(
      `  ${LABELS[variant]}: ${fmt(result.open)} streams, ${fmt(result.connectPerSec)} connects/s, ` +
        `broadcast to ${fmt(result.broadcast.received)} (last after ${result.broadcast.last.toFixed(0)} ms), ${((Date.now() - t) / 1000).toFixed(0)} s`,
    )
    if (result.broadcast.error) console.log(`  WARNING ${variant}: ${result.broadcast.error}`)
    if (result.lost > 0) console.log(`  WARNING ${variant}: ${result.lost} connections closed while idle`)
    if (result.drainedOpen > 0)
      console.log(`  WARNING ${variant}: ${result.drainedOpen} streams still open after every client left`)
  } catch (error) {
    failures++
    console.error(`  ${LABELS[variant]} FAILED: ${/** @type {Error} */ (error).message}`)
  }
}
const machine1 = machineCpu()

if (args.json) {
  console.log(JSON.stringify({ results, fdLimit, ports }, null, 2))
} else if (results.length > 0) {
  const n = (/** @type {number} */ value, digits = 1) =>
    Number.isFinite(value) ? value.toFixed(digits) : '—'
  console.log()
  console.log(
    columnsTable(results, [
      ['variant', (r) => LABELS[r.variant]],
      ['streams', (r) => fmt(r.open)],
      ['connects/s', (r) => fmt(r.connectPerSec)],
      ['RSS B/stream', (r) => fmt(r.rssPerStream)],
      ['heap B/stream', (r) => fmt(r.heapPerStream)],
      ['RSS before MB', (r) => mb(r.before.rss)],
      ['RSS idle MB', (r) => mb(r.idle.rss)],
      ['RSS after MB', (r) => mb(r.after.rss)],
    ]),
  )
  console.log()
  console.log(
    columnsTable(results, [
      ['variant', (r) => LABELS[r.variant]],
      ['hb loop p99 ms', (r) => n(r.heartbeat.p99)],
      ['hb loop max ms', (r) => n(r.heartbeat.max)],
      ['hb wait p99 ms', (r) => n(r.heartbeat.waitP99)],
      ['hb stalls >10/>20 ms', (r) => `${r.heartbeat.over10}/${r.heartbeat.over20}`],
      ['quiet wait p99 ms', (r) => n(r.quiet.waitP99)],
      ['quiet max ms', (r) => n(r.quiet.max)],
      ['hb CPU ms', (r) => n(r.heartbeat.cpuMs, 0)],
      ['pings', (r) => fmt(r.heartbeat.pinged)],
      ['bc loop p99 ms', (r) => n(r.broadcast.p99)],
      ['bc loop max ms', (r) => n(r.broadcast.max)],
      ['bc wait p99 ms', (r) => n(r.broadcast.waitP99)],
      ['bc CPU ms', (r) => n(r.broadcast.cpuMs, 0)],
      ['publish busy ms', (r) => n(r.broadcast.busyMs)],
      ['received', (r) => fmt(r.broadcast.received)],
      ['arrival p50 ms', (r) => n(r.broadcast.p50)],
      ['p99 ms', (r) => n(r.broadcast.p99ms)],
      ['last ms', (r) => n(r.broadcast.last)],
    ]),
  )
  for (const r of results) {
    if (r.redis) {
      console.log(
        `\n  Redis traffic of the broadcast (${LABELS[r.variant]}): ${fmt(r.redis.inputBytes)} B in, ${fmt(r.redis.outputBytes)} B out, ${fmt(r.redis.commands)} commands (INFO itself included); redis-server CPU ${fmt(r.redis.cpuMs)} ms over the run`,
      )
    }
  }
  const raw = results.find((r) => r.variant === 'raw')
  const hub = results.find((r) => r.variant === 'core')
  if (raw && hub) {
    const ratio = (/** @type {number} */ x, /** @type {number} */ y) => `${(x / y).toFixed(2)}×`
    console.log()
    console.log(
      `  core/raw: RSS per stream ${ratio(hub.rssPerStream, raw.rssPerStream)} (target ≤ 1.10×), heap per stream ${ratio(hub.heapPerStream, raw.heapPerStream)}, ` +
        `connects/s ${ratio(hub.connectPerSec, raw.connectPerSec)}, broadcast last stream ${ratio(hub.broadcast.last, raw.broadcast.last)} (target ≤ 2×), ` +
        `broadcast loop max ${ratio(hub.broadcast.max, raw.broadcast.max)}, heartbeat loop p99 ${n(hub.heartbeat.p99)} ms, max ${n(hub.heartbeat.max)} ms, p99 wait ${n(hub.heartbeat.waitP99)} ms (target ≤ 20 ms)`,
    )
  }
  for (const r of results) {
    const heap = (/** @type {typeof r.before} */ m) => m.heapUsed + m.external
    console.log(
      `  ${LABELS[r.variant]}: after every client left (and ${args['settle-ms']} ms), RSS ${mb(r.after.rss)} MB, ${((r.after.rss / r.before.rss - 1) * 100).toFixed(0)}% over the warm baseline ${mb(r.before.rss)} MB (cold ${mb(r.cold.rss)}); ` +
        `JS heap + external ${mb(heap(r.after))} MB, ${((heap(r.after) / heap(r.before) - 1) * 100).toFixed(0)}% over its warm baseline ${mb(heap(r.before))} MB (target ≤ 10%); V8 heap committed ${mb(r.after.heapTotal)} MB (baseline ${mb(r.before.heapTotal)})`,
    )
  }
  for (const r of results) {
    const parts = (/** @type {typeof r.before} */ m) =>
      `anonymous ${mb(m.anon)} (V8 pages ${mb(m.v8Physical)}, malloc main arena ${mb(m.brk)}), files ${mb(m.file)}`
    console.log(
      `  ${LABELS[r.variant]}: RSS by kind (MB), warm baseline: ${parts(r.before)}; idle: ${parts(r.idle)}; after: ${parts(r.after)}; ` +
        `anonymous after ${((r.after.anon / r.before.anon - 1) * 100).toFixed(0)}% over the baseline's`,
    )
  }
  for (const r of results) {
    console.log(
      `  ${LABELS[r.variant]}: kernel slab memory of the machine (both ends of every connection; other processes too) ${mb(r.slabBefore)} MB before, ${mb(r.slabIdle)} MB with the streams idle: ${fmt((r.slabIdle - r.slabBefore) / r.open)} B per connection`,
    )
  }
  for (const r of results) {
    if (r.cycles.length > 1) {
      console.log(
        `  ${LABELS[r.variant]}: after each of ${r.cycles.length} cycles of ${fmt(r.open)} streams connecting and leaving: RSS ${r.cycles.map((m) => mb(m.rss)).join(', ')} MB; JS heap + external ${r.cycles.map((m) => mb(m.heapUsed + m.external)).join(', ')} MB`,
      )
    }
  }
  const busy = (machine1.busyMs - machine0.busyMs) / (Date.now() - startedAt)
  console.log(
    `\n  ${((Date.now() - startedAt) / 1000).toFixed(0)} s in all; the machine was busy ${busy.toFixed(2)} of ${machine0.cores} cores on average`,
  )
}
process.exitCode = failures > 0 ? 1 : 0
