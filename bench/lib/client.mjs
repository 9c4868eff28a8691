/**
 * The load: N keep-alive SSE connections from one process, forked by `fanout.mjs` with an IPC
 * channel. Each stream is counted event by event (see `count.mjs`, or `eventsource-parser` with
 * `parser: 'eventsource-parser'`); when every connection has received the expected number of
 * events the client reports the time, read from the monotonic clock that the server process
 * shares (`process.hrtime` is CLOCK_MONOTONIC on Linux).
 *
 * Messages in:  { type: 'connect', port, clients, events, parser }, { type: 'close' }
 * Messages out: { type: 'connected', ms }, { type: 'done', at, counts }, { type: 'lost', … },
 *               { type: 'closed' }
 */
import http from 'node:http'
import { createParser } from 'eventsource-parser'
import { EventCounter } from './count.mjs'

/**
 * @typedef {object} ConnectMessage
 * @property {'connect'} type
 * @property {number} port
 * @property {number} clients
 * @property {number} events
 * @property {'count' | 'eventsource-parser'} parser
 */

/** @param {Record<string, unknown>} message */
function send(message) {
  process.send?.(message)
}

/** @typedef {{ count: number, feed(chunk: Buffer): void }} Counter */

let bytes = 0

/** @returns {Counter} */
function parserCounter() {
  const decoder = new TextDecoder()
  const counter = {
    count: 0,
    /** @param {Buffer} chunk */
    feed(chunk) {
      parser.feed(decoder.decode(chunk, { stream: true }))
    },
  }
  const parser = createParser({
    onEvent: () => {
      counter.count++
    },
  })
  return counter
}

/** @param {ConnectMessage} options */
function connect({ port, clients, events, parser }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients + 16, maxFreeSockets: clients + 16 })
  /** @type {http.ClientRequest[]} */
  const requests = []
  /** @type {Counter[]} */
  const counters = []
  let connected = 0
  let complete = 0
  let finished = false
  const started = process.hrtime.bigint()

  const counts = () => {
    let min = Number.POSITIVE_INFINITY
    let max = 0
    let total = 0
    for (const counter of counters) {
      min = Math.min(min, counter.count)
      max = Math.max(max, counter.count)
      total += counter.count
    }
    return { min, max, total, bytes }
  }

  /** @param {string} reason */
  const lost = (reason) => {
    if (finished) return
    finished = true
    send({ type: 'lost', reason, connected, complete, counts: counts() })
  }

  /** @param {number} index */
  const open = (index) => {
    const counter = parser === 'eventsource-parser' ? parserCounter() : new EventCounter()
    counters[index] = counter
    const req = http.get(
      { agent, host: '127.0.0.1', port, path: '/', headers: { accept: 'text/event-stream' } },
      (res) => {
        if (res.statusCode !== 200) {
          lost(`connection ${index}: status ${res.statusCode}`)
          return
        }
        let done = false
        res.on('data', (/** @type {Buffer} */ chunk) => {
          bytes += chunk.length
          counter.feed(chunk)
          if (!done && counter.count >= events) {
            done = true
            complete++
            if (complete === clients && !finished) {
              finished = true
              send({ type: 'done', at: String(process.hrtime.bigint()), counts: counts() })
            }
          }
        })
        res.on('end', () => lost(`connection ${index}: ended after ${counter.count} events`))
        res.on('error', (error) => lost(`connection ${index}: ${error.message}`))
        connected++
        if (connected === clients) {
          send({ type: 'connected', ms: Number(process.hrtime.bigint() - started) / 1e6 })
        }
      },
    )
    req.on('error', (error) => lost(`connection ${index}: ${error.message}`))
    requests[index] = req
  }

  // Open in batches so the server's accept backlog never overflows (a dropped SYN costs 1 s).
  let next = 0
  const batch = () => {
    const end = Math.min(clients, next + 100)
    for (; next < end; next++) open(next)
    if (next < clients) setImmediate(batch)
  }
  batch()

  return () => {
    finished = true
    for (const req of requests) req?.destroy()
    agent.destroy()
  }
}

/** @type {(() => void) | undefined} */
let close
process.on('message', (/** @type {{ type: string }} */ message) => {
  if (message.type === 'connect') close = connect(/** @type {ConnectMessage} */ (message))
  else if (message.type === 'close') {
    close?.()
    send({ type: 'closed' })
    process.disconnect?.()
  }
})
process.on('disconnect', () => {
  close?.()
  process.exit(0)
})
