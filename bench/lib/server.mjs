/**
 * One server under test, in its own process (so each run's memory is measured from a clean
 * start), forked by `fanout.mjs` with `--expose-gc`. `argv[2]` names the variant.
 *
 * Messages in:  { type: 'idle', clients }, { type: 'publish', events, burst }, { type: 'report' }
 * Messages out: { type: 'ready', port, mem }, { type: 'idle', mem, open },
 *               { type: 'published', t0, publishMs, publishCpuMs }, { type: 'report', mem, cpuMs, stats }
 */
import http from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import v8 from 'node:v8'
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
  const newSpace = v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')
  return /** @type {Mem} */ ({ rss, heapUsed, external, newSpace: newSpace?.physical_space_size ?? 0 })
}

const variant = await createVariant(name, payload, rawIds)
const server = http.createServer((req, res) => variant.handle(req, res))
server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 })
await new Promise((resolve) => server.once('listening', resolve))
const address = /** @type {import('node:net').AddressInfo} */ (server.address())
send({ type: 'ready', port: address.port, mem: await settledMemory() })

/** @type {NodeJS.CpuUsage | undefined} */
let cpuStart

/**
 * Publishes `events` events in bursts of `burst` per tick: the burst synchronously (its
 * promises, if any, awaited together), then `setImmediate`. The same schedule for every variant.
 * @param {number} events
 * @param {number} burst
 */
async function publishAll(events, burst) {
  let id = 0
  while (id < events) {
    const end = Math.min(events, id + burst)
    /** @type {Promise<unknown>[]} */
    const pending = []
    while (id < end) {
      const promise = variant.publish(++id)
      if (promise) pending.push(promise)
    }
    if (pending.length > 0) await Promise.all(pending)
    await new Promise((resolve) => setImmediate(resolve))
  }
}

process.on('message', async (/** @type {{ type: string, [key: string]: unknown }} */ message) => {
  if (message.type === 'idle') {
    const clients = Number(message.clients)
    while (variant.open() < clients) await sleep(10)
    send({ type: 'idle', mem: await settledMemory(), open: variant.open() })
  } else if (message.type === 'publish') {
    cpuStart = process.cpuUsage()
    const t0 = process.hrtime.bigint()
    await publishAll(Number(message.events), Number(message.burst))
    const cpu = process.cpuUsage(cpuStart)
    send({
      type: 'published',
      t0: String(t0),
      publishMs: Number(process.hrtime.bigint() - t0) / 1e6,
      publishCpuMs: (cpu.user + cpu.system) / 1000,
    })
  } else if (message.type === 'report') {
    const cpu = process.cpuUsage(cpuStart)
    send({
      type: 'report',
      cpuMs: (cpu.user + cpu.system) / 1000,
      stats: variant.stats?.() ?? {},
      mem: await settledMemory(),
    })
  } else if (message.type === 'exit') {
    server.closeAllConnections()
    server.close()
    process.exit(0)
  }
})
