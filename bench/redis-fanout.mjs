#!/usr/bin/env node
import { fork, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import http from 'node:http'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
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
 * Each run forks fresh server processes (this file with `--serve`) and three client processes
 * (`lib/client.mjs`, the fan-out bench's client, `clients / 3` connections each, whatever the
 * variant), and publishes with `lib/server.mjs`'s schedule: bursts of `--burst` events in one tick
 * (awaited together), then `setImmediate`. One redis-server (no persistence: this measures the
 * broker, not the disk) serves every Redis run, each run on a fresh key prefix.
 *
 * deliveries/s = clients × events / (first publish → the last client process has every event on
 * every connection), on the monotonic clock all processes share. CPU is user + system over the same
 * span: the servers' summed, and redis-server's from /proc (Linux).
 */
import { Channel, stopAll } from './lib/channel.mjs'
import { cpuOf } from './lib/proc.mjs'
import { fmt, median, table } from './lib/report.mjs'

/** @typedef {'memory' | 'redis1' | 'redis3'} VariantName */
/** @typedef {{ type: string, [key: string]: any }} Message */

/** @type {Record<VariantName, string>} */
const LABELS = {
  memory: '1 instance, in memory',
  redis1: '1 instance over Redis',
  redis3: '3 instances over Redis',
}

const { values: args } = parseArgs({
  options: {
    serve: { type: 'boolean', default: false },
    runs: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    clients: { type: 'string', default: '600' },
    events: { type: 'string', default: '2000' },
    burst: { type: 'string', default: '50' },
    payload: { type: 'string', default: '128' },
    variants: { type: 'string', default: 'memory,redis1,redis3' },
    json: { type: 'boolean', default: false },
    'timeout-ms': { type: 'string', default: '60000' },
    // --serve only:
    redis: { type: 'string' },
    prefix: { type: 'string' },
  },
})

if (args.serve) await serve()
else await main()

/**
 * One server process. Messages in: { type: 'idle', clients }, { type: 'publish', events, burst },
 * { type: 'report' }, { type: 'exit' }. Out: { type: 'ready', port }, { type: 'idle' },
 * { type: 'published', t0, publishMs }, { type: 'report', cpuMs, stats }.
 */
async function serve() {
  const { createEventStream, createHub } = await import('@sse/core')
  const { createNodeSink } = await import('@sse/core/node')
  const payloadBytes = Number(args.payload)
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
  const payload = alphabet.repeat(Math.ceil(payloadBytes / alphabet.length)).slice(0, payloadBytes)
  /** @type {import('@sse/redis').RedisBroker | undefined} */
  let broker
  if (args.redis) {
    const { RedisBroker } = await import('@sse/redis')
    broker = new RedisBroker({ redis: args.redis, prefix: args.prefix })
  }
  const hub = createHub({ broker })
  await broker?.ready()
  const server = http.createServer((req, res) => {
    hub.subscribe(createEventStream(createNodeSink(req, res)), { topics: ['bench'] }).catch((error) => {
      console.error('subscribe failed', error)
    })
  })
  server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 })
  await once(server, 'listening')
  const send = (/** @type {Message} */ message) => process.send?.(message)
  send({ type: 'ready', port: /** @type {import('node:net').AddressInfo} */ (server.address()).port })

  /** @type {NodeJS.CpuUsage | undefined} */
  let cpuStart
  process.on('message', async (/** @type {Message} */ message) => {
    if (message.type === 'idle') {
      while (hub.size < message.clients) await new Promise((resolve) => setTimeout(resolve, 10))
      cpuStart = process.cpuUsage()
      send({ type: 'idle' })
    } else if (message.type === 'publish') {
      // The same schedule as lib/server.mjs: a burst in one tick, its promises awaited together.
      const t0 = process.hrtime.bigint()
      for (let id = 0; id < message.events; ) {
        const end = Math.min(message.events, id + message.burst)
        /** @type {Promise<unknown>[]} */
        const pending = []
        for (; id < end; id++) pending.push(hub.publish('bench', { data: payload }))
        await Promise.all(pending)
        await new Promise((resolve) => setImmediate(resolve))
      }
      send({ type: 'published', t0: String(t0), publishMs: Number(process.hrtime.bigint() - t0) / 1e6 })
    } else if (message.type === 'report') {
      const cpu = process.cpuUsage(cpuStart)
      const { delivered, dropped, overflowCloses, streams } = hub.stats
      send({
        type: 'report',
        cpuMs: (cpu.user + cpu.system) / 1000,
        stats: { delivered, dropped, overflowCloses, streams },
      })
    } else if (message.type === 'exit') {
      server.closeAllConnections()
      server.close()
      await hub.close({ retry: false })
      await broker?.close()
      process.exit(0)
    }
  })
}

async function main() {
  const runs = Number(args.runs)
  const warmup = Number(args.warmup)
  const clients = Number(args.clients)
  const events = Number(args.events)
  const burst = Number(args.burst)
  const payload = Number(args.payload)
  const timeoutMs = Number(args['timeout-ms'])
  const variants = /** @type {VariantName[]} */ (args.variants.split(',').filter((v) => v in LABELS))
  const CLIENT_PROCESSES = 3
  if (clients % CLIENT_PROCESSES !== 0) throw new Error(`--clients must be a multiple of ${CLIENT_PROCESSES}`)
  const self = fileURLToPath(import.meta.url)
  const clientPath = fileURLToPath(new URL('./lib/client.mjs', import.meta.url))

  const redisBinary = findBinary('redis-server')
  const needsRedis = variants.some((variant) => variant !== 'memory')
  if (needsRedis && !redisBinary) {
    console.error(
      'redis-server not found (apt install redis-server); run with --variants=memory or install it',
    )
    process.exit(1)
  }
  const redisDir = mkdtempSync(join(tmpdir(), 'sse-bench-redis-'))
  const redisPort = await freePort()
  /** @type {import('node:child_process').ChildProcess | undefined} */
  let redis
  if (needsRedis && redisBinary) {
    redis = spawn(
      redisBinary,
      [
        '--port',
        String(redisPort),
        '--bind',
        '127.0.0.1',
        '--dir',
        redisDir,
        '--save',
        '',
        '--appendonly',
        'no',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    let output = ''
    await new Promise((resolve, reject) => {
      redis?.stdout?.on('data', (chunk) => {
        output += chunk
        if (output.includes('Ready to accept connections')) resolve(undefined)
      })
      redis?.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${output}`)))
    })
    redis.stdout?.resume()
  }
  const stopRedis = () => {
    redis?.kill('SIGKILL')
    rmSync(redisDir, { recursive: true, force: true })
  }
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
    const prefix = `bench:${process.pid}:${++runIndex}`
    const serverArgs = ['--serve', `--payload=${payload}`]
    if (variant !== 'memory') serverArgs.push(`--redis=redis://127.0.0.1:${redisPort}`, `--prefix=${prefix}`)
    const servers = Array.from(
      { length: instances },
      (_, i) => new Channel(fork(self, serverArgs, { execArgv: [] }), `server ${i}`, timeoutMs),
    )
    const clientChannels = Array.from(
      { length: CLIENT_PROCESSES },
      (_, i) => new Channel(fork(clientPath, [], { execArgv: [] }), `client ${i}`, timeoutMs),
    )
    try {
      const ports = (await Promise.all(servers.map((server) => server.next('ready')))).map((m) => m.port)
      const perProcess = clients / CLIENT_PROCESSES
      clientChannels.forEach((client, i) => {
        client.send({
          type: 'connect',
          port: ports[i % instances],
          clients: perProcess,
          events,
          parser: 'count',
        })
      })
      await Promise.all(clientChannels.map((client) => client.next('connected')))
      servers.forEach((server, i) => {
        const expected = clientChannels.filter((_, c) => c % instances === i).length * perProcess
        server.send({ type: 'idle', clients: expected })
      })
      await Promise.all(servers.map((server) => server.next('idle')))
      const redisCpuBefore = cpuOf(redis?.pid)
      servers[0]?.send({ type: 'publish', events, burst })
      const { t0, publishMs } = await /** @type {Channel} */ (servers[0]).next('published')
      const dones = await Promise.all(clientChannels.map((client) => client.next('done')))
      const redisCpuMs = variant === 'memory' ? 0 : cpuOf(redis?.pid) - redisCpuBefore
      for (const server of servers) server.send({ type: 'report' })
      const reports = await Promise.all(servers.map((server) => server.next('report')))
      const last = dones.reduce((max, done) => (BigInt(done.at) > max ? BigInt(done.at) : max), 0n)
      const elapsedMs = Number(last - BigInt(t0)) / 1e6
      return {
        variant,
        deliveriesPerSec: (clients * events) / (elapsedMs / 1000),
        elapsedMs,
        publishMs,
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
  /** @type {RunResult[]} */
  const results = []
  const startedAt = Date.now()
  try {
    for (let round = -warmup; round < runs; round++) {
      for (const variant of variants) {
        const result = await run(variant)
        const line =
          `${fmt(result.deliveriesPerSec)} deliveries/s, ${result.elapsedMs.toFixed(0)} ms ` +
          `(publishing ${result.publishMs.toFixed(0)} ms), server CPU ${result.serverCpuMs.toFixed(0)} ms, ` +
          `redis-server CPU ${result.redisCpuMs.toFixed(0)} ms`
        if (round < 0) {
          console.log(`  warm-up ${variant}: ${line} (not counted)`)
          continue
        }
        results.push(result)
        if (result.counts.min !== events || result.counts.max !== events) {
          console.log(
            `  WARNING ${variant}: events per connection ${result.counts.min}..${result.counts.max}, expected ${events}`,
          )
        }
        console.log(`  run ${round + 1} ${variant}: ${line}`)
      }
    }
  } finally {
    stopRedis()
  }

  const summaries = variants.map((variant) => {
    const mine = results.filter((r) => r.variant === variant)
    const med = (/** @type {(r: RunResult) => number} */ pick) => median(mine.map(pick))
    return {
      variant,
      deliveriesPerSec: med((r) => r.deliveriesPerSec),
      elapsedMs: med((r) => r.elapsedMs),
      publishMs: med((r) => r.publishMs),
      serverCpuMs: med((r) => r.serverCpuMs),
      publisherCpuMs: med((r) => r.publisherCpuMs),
      readerCpuMs: med((r) => r.readerCpuMs),
      redisCpuMs: med((r) => r.redisCpuMs),
    }
  })
  const rows = [
    [
      'variant',
      'deliveries/s',
      'total ms',
      'publish ms',
      'servers CPU ms',
      'publisher CPU ms',
      'other instance CPU ms',
      'redis-server CPU ms',
    ],
    ...summaries.map((s) => [
      LABELS[s.variant],
      fmt(s.deliveriesPerSec),
      s.elapsedMs.toFixed(0),
      s.publishMs.toFixed(0),
      s.serverCpuMs.toFixed(0),
      s.publisherCpuMs.toFixed(0),
      s.variant === 'redis3' ? s.readerCpuMs.toFixed(0) : '—',
      s.variant === 'memory' ? '—' : s.redisCpuMs.toFixed(0),
    ]),
  ]
  console.log(`\nmedians of ${runs} runs (${((Date.now() - startedAt) / 1000).toFixed(0)} s in all):\n`)
  console.log(table(rows))
  const memory = summaries.find((s) => s.variant === 'memory')
  if (memory) {
    console.log('')
    for (const s of summaries.filter((s) => s !== memory)) {
      const paired = median(
        results
          .filter((r) => r.variant === s.variant)
          .map(
            (r, i) =>
              r.deliveriesPerSec /
              (results.filter((m) => m.variant === 'memory')[i]?.deliveriesPerSec ?? Number.NaN),
          ),
      )
      console.log(
        `${s.variant}/memory: deliveries/s ${(s.deliveriesPerSec / memory.deliveriesPerSec).toFixed(2)}× ` +
          `(median of per-round ratios ${paired.toFixed(2)}×)`,
      )
    }
  }
  if (args.json) console.log(JSON.stringify({ clients, events, burst, payload, results, summaries }))
}

/** @param {string} name */
function findBinary(name) {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/bin', '/usr/bin', '/usr/sbin']
  return dirs
    .filter((dir) => dir.startsWith('/'))
    .map((dir) => join(dir, name))
    .find((path) => existsSync(path))
}

async function freePort() {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address())
  server.close()
  await once(server, 'close')
  return port
}
