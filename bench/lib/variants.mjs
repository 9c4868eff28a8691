/**
 * The servers under test of `fanout.mjs` (those of `flow.mjs` are in `flow-variants.mjs`). Each
 * variant answers every request with an open event stream and publishes event `i` (1-based) to
 * every open stream with `publish(i)`. They all run the same publishing schedule (see `server.mjs`).
 */
import { createEventStream, createHub } from '@sse/core'
import { createNodeSink } from '@sse/core/node'

/**
 * @typedef {object} Variant
 * @property {(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void} [handle]
 *   Opens the event stream of one request (on a plain `node:http` server).
 * @property {() => Promise<import('node:http').Server>} [listen] Instead of `handle`: starts the
 *   variant's own server (a framework's) on a free port of 127.0.0.1.
 * @property {(id: number) => Promise<unknown> | undefined} publish Publishes event `id` to every open stream.
 * @property {() => Promise<unknown> | undefined} [ready] Publisher backpressure, awaited after each
 *   burst: settles once the streams can take more.
 * @property {() => number} open Streams open now.
 * @property {() => Record<string, number>} [stats] Counters worth reporting after a run.
 */

/** @typedef {'a' | 'b' | 'c' | 'd'} FanoutVariantName */
/**
 * `redis`: (c) over a `RedisBroker` of `@sse/redis`, at `BENCH_REDIS_URL` with keys under
 * `BENCH_REDIS_PREFIX` (redis-fanout.mjs).
 * @typedef {FanoutVariantName | 'redis'} HubVariantName
 */
/**
 * @typedef {HubVariantName | import('./flow-variants.mjs').FlowVariantName
 *   | import('./metrics-variants.mjs').MetricsVariantName} VariantName
 */

/**
 * Ids of the raw baselines: `seq` is `id: 1`, `id: 2`, …; `epoch` is shaped like a hub's ids,
 * `id: <12 base-36 chars>-<seq>`, so that the frames are as long as @sse/core's.
 * @typedef {'seq' | 'epoch'} RawIds
 */

/**
 * @param {RawIds} rawIds
 * @returns {(id: number) => string}
 */
function idFormat(rawIds) {
  if (rawIds === 'seq') return String
  const epoch = Math.random().toString(36).slice(2, 14).padEnd(12, '0')
  return (id) => `${epoch}-${id}`
}

/** @type {Record<FanoutVariantName, string>} */
export const LABELS = {
  a: '(a) raw, write per event',
  b: '(b) raw, coalesced per tick',
  c: '(c) @sse/core hub',
  d: '(d) better-sse channel',
}

export const RAW_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  Connection: 'keep-alive',
}

/** A response that just wrote its headers and is kept open. The idle-memory reference. */
function rawRegistry() {
  /** @type {Set<import('node:http').ServerResponse>} */
  const responses = new Set()
  return {
    responses,
    /**
     * @param {import('node:http').IncomingMessage} _req
     * @param {import('node:http').ServerResponse} res
     */
    handle(_req, res) {
      res.writeHead(200, RAW_HEADERS)
      res.flushHeaders()
      responses.add(res)
      res.on('close', () => responses.delete(res))
    },
  }
}

/**
 * (a) Frames each event once, encodes it once, writes the same Buffer to every response.
 * @param {string} payload
 * @param {(id: number) => string} formatId
 * @returns {Variant}
 */
function rawPerEvent(payload, formatId) {
  const { responses, handle } = rawRegistry()
  return {
    handle,
    publish(id) {
      const bytes = Buffer.from(`id: ${formatId(id)}\ndata: ${payload}\n\n`)
      for (const res of responses) res.write(bytes)
      return undefined
    },
    open: () => responses.size,
  }
}

/**
 * (b) As (a), but the events published in one tick are concatenated into one Buffer, written
 * once per response from a microtask (the same mechanism a hub uses).
 * @param {string} payload
 * @param {(id: number) => string} formatId
 * @returns {Variant}
 */
function rawCoalesced(payload, formatId) {
  const { responses, handle } = rawRegistry()
  /** @type {Buffer[]} */
  let batch = []
  const flush = () => {
    const bytes = batch.length === 1 ? batch[0] : Buffer.concat(batch)
    batch = []
    if (bytes) for (const res of responses) res.write(bytes)
  }
  return {
    handle,
    publish(id) {
      if (batch.push(Buffer.from(`id: ${formatId(id)}\ndata: ${payload}\n\n`)) === 1) queueMicrotask(flush)
      return undefined
    },
    open: () => responses.size,
  }
}

/**
 * (c) `@sse/core`: a hub, one event stream per request, subscribed to one topic; its history and
 * fan-out on `broker` when given (the `redis` variant); `instrument` is given the hub before any
 * stream subscribes (the metrics variants).
 * @param {string} payload
 * @param {import('@sse/core').Broker} [broker]
 * @param {(hub: import('@sse/core').Hub) => void} [instrument]
 * @returns {Variant}
 */
export function coreVariant(payload, broker, instrument) {
  const hub = createHub({ broker })
  instrument?.(hub)
  return {
    handle(req, res) {
      const stream = createEventStream(createNodeSink(req, res))
      hub.subscribe(stream, { topics: ['bench'] }).catch((error) => {
        console.error('subscribe failed', error)
      })
    },
    publish: () => hub.publish('bench', { data: payload }),
    open: () => hub.size,
    stats: () => {
      const { delivered, dropped, overflowCloses, streams } = hub.stats
      return { delivered, dropped, overflowCloses, streams }
    },
  }
}

/**
 * @param {VariantName} name
 * @param {string} payload
 * @param {RawIds} [rawIds]
 * @param {{ slowMs: number }} [options] of the flow variants
 * @returns {Promise<Variant>}
 */
export async function createVariant(name, payload, rawIds = 'seq', options = { slowMs: 5000 }) {
  if (name === 'a') return rawPerEvent(payload, idFormat(rawIds))
  if (name === 'b') return rawCoalesced(payload, idFormat(rawIds))
  if (name === 'c') return coreVariant(payload)
  if (name === 'redis') {
    const { RedisBroker } = await import('@sse/redis')
    const broker = new RedisBroker({
      redis: process.env.BENCH_REDIS_URL,
      prefix: process.env.BENCH_REDIS_PREFIX,
    })
    await broker.ready()
    return coreVariant(payload, broker)
  }
  if (name === 'd') return (await import('./better-sse.mjs')).betterSse(payload)
  // Imported only for its own variants: the others' processes never load prom-client or the SDK.
  if (name === 'off' || name === 'prom' || name === 'otel' || name === 'again') {
    return (await import('./metrics-variants.mjs')).createMetricsVariant(name, payload)
  }
  const flow = await import('./flow-variants.mjs')
  if (name in flow.FLOW_LABELS) return flow.createFlowVariant(name, payload, options.slowMs)
  throw new Error(`unknown variant ${String(name)}`)
}
