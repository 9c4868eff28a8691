#!/usr/bin/env node
/**
 * The cost of a cluster-wide revocation: `hub.revokeEverywhere({ principal })` that closes 1,000
 * streams spread over 3 instances (3 processes over one redis-server).
 *
 *   node bench/revoke.mjs [--runs=7] [--warmup=1] [--streams=1000] [--instances=3] [--json]
 *
 * Each run connects `--streams` real HTTP clients (this process, `node:http`), spread evenly over
 * the instances, all as one principal (a fresh one per run), and waits until every instance holds
 * its share. Then instance 0 calls `revokeEverywhere`; measured:
 *
 * - **resolved**: the call, on instance 0's clock, until it resolves with the cluster-wide count
 *   (it must be `complete`, with every stream counted, or the run fails);
 * - **all closed**: from just before the call until this process has seen the end of every one
 *   of the 1,000 responses (the clients' view; includes the IPC message that starts the call).
 *
 * One redis-server without persistence, one key prefix for the whole benchmark; the instances stay
 * up across runs. Needs the built dist (`npm run build`) and redis-server.
 */
import { fork } from 'node:child_process'
import { once } from 'node:events'
import http from 'node:http'
import { fileURLToPath } from 'node:url'
import { benchArgs } from './lib/args.mjs'
import { startRedis } from './lib/redis-server.mjs'
import { fmt, median, table } from './lib/report.mjs'

if (process.argv[2] === 'instance') {
  await instance()
} else {
  await main()
}

/** A child: one instance, serving `GET /events?user=` as that principal, and `revoke` over IPC. */
async function instance() {
  const { createHub } = await import('@sse/core')
  const { createNodeEventStream } = await import('@sse/core/node')
  const { RedisBroker } = await import('@sse/redis')
  const broker = new RedisBroker({ redis: process.env.BENCH_REDIS_URL, prefix: process.env.BENCH_PREFIX })
  const hub = createHub({ broker, heartbeat: false, retry: false, maxStreamsPerKey: 100_000 })
  hub.on('error', (error) => console.error(`instance ${process.pid}:`, error))
  await broker.ready()
  await broker.control.ready?.()
  const server = http.createServer((req, res) => {
    const user = new URL(req.url ?? '/', 'http://x').searchParams.get('user') ?? 'anonymous'
    void hub.subscribe(createNodeEventStream(req, res, { heartbeat: false }), {
      topics: ['news'],
      principal: user,
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  process.on('message', async (/** @type {any} */ message) => {
    if (message.type === 'size') process.send?.({ type: 'size', size: hub.size })
    if (message.type === 'revoke') {
      const started = performance.now()
      const result = await hub.revokeEverywhere({ principal: message.principal }, { timeoutMs: 30_000 })
      const { error, ...rest } = result
      process.send?.({
        type: 'revoked',
        ms: performance.now() - started,
        result: rest,
        error: error?.message,
      })
    }
    if (message.type === 'stop') {
      await hub.close({ retry: false })
      server.close()
      await broker.close()
      process.exit(0)
    }
  })
  process.send?.({
    type: 'ready',
    port: /** @type {import('node:net').AddressInfo} */ (server.address()).port,
  })
}

async function main() {
  const args = benchArgs({ numbers: { runs: 7, warmup: 1, streams: 1000, instances: 3 } })
  const redis = await startRedis()
  const env = {
    ...process.env,
    BENCH_REDIS_URL: redis.url,
    BENCH_PREFIX: `bench:revoke:${process.pid}`,
  }
  const script = fileURLToPath(import.meta.url)
  const children = Array.from({ length: args.instances }, () =>
    fork(script, ['instance'], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
  )
  const agent = new http.Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY })
  try {
    const ports = await Promise.all(children.map((child) => reply(child, 'ready').then((m) => m.port)))
    console.log(
      `cluster-wide revoke: ${args.streams} streams over ${args.instances} instances (processes) on one redis-server, ` +
        `${args.runs} runs after ${args.warmup} warm-up, node ${process.version}`,
    )
    const rows = []
    for (let run = 0; run < args.warmup + args.runs; run++) {
      const principal = `user-${run}`
      const ends = []
      for (let i = 0; i < args.streams; i++) {
        ends.push(openStream(ports[i % ports.length], principal, agent))
      }
      await Promise.all(ends.map((stream) => stream.opened))
      // Every instance holds its share.
      for (;;) {
        const sizes = await Promise.all(children.map((child) => ask(child, { type: 'size' }, 'size')))
        if (sizes.reduce((sum, m) => sum + m.size, 0) === args.streams) break
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      const started = performance.now()
      const answer = ask(
        /** @type {import('node:child_process').ChildProcess} */ (children[0]),
        { type: 'revoke', principal },
        'revoked',
      )
      await Promise.all(ends.map((stream) => stream.ended))
      const allClosedMs = performance.now() - started
      const { ms, result, error } = await answer
      if (!result.complete || result.closed !== args.streams) {
        throw new Error(`run ${run}: ${JSON.stringify(result)} ${error ?? ''}`)
      }
      const counted = run >= args.warmup
      console.log(
        `${counted ? `run ${run - args.warmup + 1}` : 'warm-up'}: resolved in ${ms.toFixed(1)} ms ` +
          `(${result.local} here + ${result.closed - result.local} on ${result.instances - 1} others), ` +
          `all ${args.streams} responses ended ${allClosedMs.toFixed(1)} ms after the call`,
      )
      if (counted) rows.push({ ms, allClosedMs })
    }
    const resolved = median(rows.map((row) => row.ms))
    const allClosed = median(rows.map((row) => row.allClosedMs))
    console.log(`\nmedians of ${args.runs} runs:\n`)
    console.log(
      table([
        ['', 'median ms', 'min ms', 'max ms'],
        ...[
          ['revokeEverywhere resolved (complete)', rows.map((row) => row.ms)],
          [`all ${fmt(args.streams)} responses ended`, rows.map((row) => row.allClosedMs)],
        ].map(([label, values]) => [
          /** @type {string} */ (label),
          median(/** @type {number[]} */ (values)).toFixed(1),
          Math.min(.../** @type {number[]} */ (values)).toFixed(1),
          Math.max(.../** @type {number[]} */ (values)).toFixed(1),
        ]),
      ]),
    )
    if (args.json)
      console.log(
        JSON.stringify({ streams: args.streams, instances: args.instances, resolved, allClosed, rows }),
      )
  } finally {
    for (const child of children) child.send({ type: 'stop' })
    await Promise.all(children.map((child) => (child.exitCode === null ? once(child, 'exit') : undefined)))
    agent.destroy()
    redis.stop()
  }
}

/**
 * One SSE response as `principal`: `opened` once the head arrived, `ended` once the body is over.
 * @param {number} port
 * @param {string} principal
 * @param {http.Agent} agent
 */
function openStream(port, principal, agent) {
  /** @type {(value?: unknown) => void} */
  let ended = () => {}
  const endedPromise = new Promise((resolve) => {
    ended = resolve
  })
  const opened = new Promise((resolve, reject) => {
    const request = http.get(
      { host: '127.0.0.1', port, path: `/events?user=${principal}`, agent },
      (response) => {
        response.resume()
        response.once('end', () => ended())
        response.once('error', () => ended())
        response.once('close', () => ended())
        resolve(undefined)
      },
    )
    request.once('error', reject)
  })
  return { opened, ended: endedPromise }
}

/**
 * @param {import('node:child_process').ChildProcess} child
 * @param {string} type
 * @returns {Promise<any>}
 */
function reply(child, type) {
  return new Promise((resolve, reject) => {
    const onExit = (/** @type {number | null} */ code) =>
      reject(new Error(`an instance exited (${code}) before '${type}'`))
    const onMessage = (/** @type {any} */ message) => {
      if (message.type !== type) return
      child.off('message', onMessage)
      child.off('exit', onExit)
      resolve(message)
    }
    child.on('message', onMessage)
    child.once('exit', onExit)
  })
}

/**
 * @param {import('node:child_process').ChildProcess} child
 * @param {object} message
 * @param {string} type
 */
function ask(child, message, type) {
  const answer = reply(child, type)
  child.send(message)
  return answer
}
