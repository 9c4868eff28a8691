/**
 * The servers of the flow-control benchmark (`flow.mjs`), run by `server.mjs` like the fan-out
 * variants: `publish(id)` publishes event `id` to every open stream (one topic), and `ready()` is
 * what a paced publisher awaits after each batch; the variants that ignore backpressure have none.
 * Every stream is opened with the same slow limit, `slowMs`: how long a response may stay
 * congested (its write returned false, no `drain` since) before the server gives up on it.
 */
import http from 'node:http'
import { createEventStream, createHub } from '@sse/core'
import { createNodeSink } from '@sse/core/node'
import { RAW_HEADERS } from './variants.mjs'

/** @typedef {import('./variants.mjs').Variant} Variant */
/** @typedef {import('@sse/core').Hub} Hub */
/** @typedef {import('@sse/core').EventStream} EventStream */
/** @typedef {keyof typeof FLOW_LABELS} FlowVariantName */

export const FLOW_LABELS = {
  raw: 'raw pacing loop',
  'raw-nopace': 'raw, no pacing',
  core: '@sse/core on node:http',
  'core-noready': '@sse/core, no hub.ready()',
  express: '@sse/express',
  fastify: '@sse/fastify',
  koa: '@sse/koa',
  hono: '@sse/hono on node-server',
  // Not in the default list: core without replay history, to see what the history costs.
  'core-nohistory': '@sse/core, historySize 0',
}

/** The variants run unless `--variants` says otherwise. */
export const DEFAULT_FLOW_VARIANTS = /** @type {FlowVariantName[]} */ ([
  'raw',
  'raw-nopace',
  'core',
  'core-noready',
  'express',
  'fastify',
  'koa',
  'hono',
])

const TOPIC = 't'

/**
 * The reference: plain `node:http`. The events of one tick are framed into one string, encoded
 * once into one `Buffer` (from a microtask, or from `ready()` if that comes first) and written to
 * every open response. A response whose write returns false is congested until its `drain`;
 * `ready()` (with `pace`) resolves once no response is congested. One that stays congested past
 * `slowMs` is dropped (destroyed), and no longer holds the publisher. Without `pace`, `ready()`
 * never waits: the naive server, which writes whatever it is given.
 * @param {string} payload
 * @param {number} slowMs
 * @param {boolean} pace
 * @returns {Variant}
 */
function rawLoop(payload, slowMs, pace) {
  /** @typedef {{ res: http.ServerResponse, since: number, armed: boolean }} Client */
  /** @type {Set<Client>} */
  const clients = new Set()
  let congested = 0
  let dropped = 0
  let pausedMs = 0
  let frames = ''
  /** @type {(() => void) | undefined} */
  let waiter
  let waitingSince = 0

  /** @param {Client} client no longer congested: drained, closed or dropped */
  const relieve = (client) => {
    if (client.since < 0) return
    client.since = -1
    congested--
    if (congested === 0 && waiter) {
      pausedMs += performance.now() - waitingSince
      const resolve = waiter
      waiter = undefined
      resolve()
    }
  }
  /** @param {Client} client checked `slowMs` after it became congested, re-armed while it makes progress */
  const watch = (client) => {
    client.armed = false
    if (client.since < 0 || !clients.has(client)) return
    const left = client.since + slowMs - performance.now()
    if (left > 0) {
      client.armed = true
      setTimeout(watch, left, client)
      return
    }
    dropped++
    clients.delete(client)
    relieve(client)
    client.res.destroy()
  }
  const flush = () => {
    if (frames === '') return
    const bytes = Buffer.from(frames)
    frames = ''
    for (const client of clients) {
      if (client.res.write(bytes) || client.since >= 0) continue
      client.since = performance.now()
      congested++
      if (!client.armed) {
        client.armed = true
        setTimeout(watch, slowMs, client)
      }
    }
  }
  return {
    handle(_req, res) {
      res.writeHead(200, RAW_HEADERS)
      res.write(':\n\n') // first bytes at once, as core's prelude
      /** @type {Client} */
      const client = { res, since: -1, armed: false }
      clients.add(client)
      res.on('drain', () => relieve(client))
      res.on('close', () => {
        clients.delete(client)
        relieve(client)
      })
    },
    publish(id) {
      if (frames === '') queueMicrotask(flush)
      frames += `id: ${id}\ndata: ${payload}\n\n`
      return undefined
    },
    ready() {
      flush()
      if (!pace || congested === 0) return undefined
      waitingSince = performance.now()
      return new Promise((resolve) => {
        waiter = () => resolve(undefined)
      })
    },
    open: () => clients.size,
    stats: () => ({ dropped, pausedMs: Math.round(pausedMs) }),
  }
}

/** @param {unknown} error */
function subscribeFailed(error) {
  console.error('subscribe failed', error)
}

/**
 * What every hub variant shares: one hub (default options, or `historySize`), publishing to one
 * topic, paced by `hub.ready(topic)` unless `pace` is false. `subscribe(stream)` is what each
 * request's handler calls.
 * @param {string} payload
 * @param {boolean} pace
 * @param {number} [historySize]
 */
function hubVariant(payload, pace, historySize) {
  const hub = createHub(historySize === undefined ? {} : { historySize })
  return {
    /** @param {EventStream} stream */
    subscribe(stream) {
      return hub.subscribe(stream, { topics: [TOPIC] }).catch(subscribeFailed)
    },
    /** @type {Variant['publish']} */
    publish: () => hub.publish(TOPIC, { data: payload }),
    /** @type {Variant['ready']} */
    ready: pace ? () => hub.ready(TOPIC) : undefined,
    open: () => hub.size,
    stats: () => {
      const { delivered, dropped, slowCloses, overflowCloses, pacedMs } = hub.stats
      return { delivered, dropped, slowCloses, overflowCloses, pacedMs }
    },
  }
}

/**
 * @param {FlowVariantName} name
 * @param {string} payload
 * @param {number} slowMs
 * @returns {Promise<Variant>}
 */
export async function createFlowVariant(name, payload, slowMs) {
  if (name === 'raw' || name === 'raw-nopace') return rawLoop(payload, slowMs, name === 'raw')
  const streamOptions = { heartbeat: /** @type {const} */ (false), slowAfterMs: slowMs }
  const { subscribe, ...variant } = hubVariant(
    payload,
    name !== 'core-noready',
    name === 'core-nohistory' ? 0 : undefined,
  )

  if (name === 'core' || name === 'core-noready' || name === 'core-nohistory') {
    return {
      ...variant,
      handle(req, res) {
        subscribe(createEventStream(createNodeSink(req, res), streamOptions))
      },
    }
  }
  if (name === 'express') {
    const { default: express } = await import('express')
    const { sse } = await import('@sse/express')
    const app = express()
    app.get('/', (req, res) => {
      subscribe(sse(req, res, streamOptions))
    })
    return { ...variant, handle: (req, res) => app(req, res) }
  }
  if (name === 'koa') {
    const { default: Koa } = await import('koa')
    const { sse } = await import('@sse/koa')
    const app = new Koa()
    app.use((ctx) => {
      subscribe(sse(ctx, streamOptions))
    })
    const callback = app.callback()
    return { ...variant, handle: (req, res) => callback(req, res) }
  }
  if (name === 'fastify') {
    const { default: Fastify } = await import('fastify')
    const { ssePlugin } = await import('@sse/fastify')
    const app = Fastify()
    await app.register(ssePlugin)
    app.get('/', (_request, reply) => {
      subscribe(reply.sse(streamOptions))
    })
    return {
      ...variant,
      listen: async () => {
        await app.listen({ port: 0, host: '127.0.0.1', backlog: 4096 })
        return app.server
      },
    }
  }
  if (name === 'hono') {
    const { Hono } = await import('hono')
    const { serve } = await import('@hono/node-server')
    const { sse } = await import('@sse/hono')
    const app = new Hono()
    app.get('/', (c) => sse(c, (stream) => subscribe(stream), streamOptions))
    return {
      ...variant,
      listen: () =>
        new Promise((resolve) => {
          const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
            resolve(/** @type {http.Server} */ (server)),
          )
        }),
    }
  }
  throw new Error(`unknown flow variant ${String(name)}`)
}
