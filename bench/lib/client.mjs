/**
 * The load: N keep-alive SSE connections from one process, forked by `fanout.mjs`,
 * `redis-fanout.mjs` and `flow.mjs` with an IPC channel. Each stream is counted event by event
 * (see `count.mjs`, or `eventsource-parser` with `parser: 'eventsource-parser'`); when every
 * connection has received the expected number of events the client reports the time, read from
 * the monotonic clock that the server process shares (`process.hrtime` is CLOCK_MONOTONIC on Linux).
 *
 * For `flow.mjs`, `stalled` more connections read their first bytes and then never again (the
 * response is paused, so the socket stops being read and the kernel's buffers fill), and with
 * `cuts: 'count'` a connection that ends early is counted as cut instead of failing the run: the
 * client reports once every full-speed connection has every event or has ended, or after
 * `stallMs` with no byte on any of them (`stuck` then says how many were still waiting).
 *
 * Messages in:  { type: 'connect', port, clients, events, parser, stalled?, cuts?, order?, stallMs? },
 *               { type: 'close' }
 * Messages out: { type: 'connected', ms }, { type: 'done', at, counts }, { type: 'lost', … },
 *               { type: 'closed' }
 */
import http from 'node:http'
import { createCounter } from './count.mjs'

/** @typedef {import('./count.mjs').Counter} Counter */

/**
 * @typedef {object} ConnectMessage
 * @property {'connect'} type
 * @property {number} port
 * @property {number} clients Connections read at full speed, each expected to get `events` events.
 * @property {number} events
 * @property {'count' | 'eventsource-parser'} parser
 * @property {number} [stalled] More connections that stop reading after their first bytes.
 * @property {'lost' | 'count'} [cuts] What a connection that ends early is: the end of the run
 *   (`lost`, the default) or one more cut connection (`count`).
 * @property {boolean} [order] Check ids and sum data bytes (see `count.mjs`).
 * @property {number} [stallMs] With `cuts: 'count'`: report after this long without a byte.
 */

/**
 * What the full-speed connections received. `cut`: ended before they had every event; `stuck`:
 * neither complete nor ended when the client gave up waiting; `outOfOrder` and `dataBytes` are
 * sums over the connections (with `order`).
 * @typedef {object} Counts
 * @property {number} min
 * @property {number} max
 * @property {number} total
 * @property {number} bytes Body bytes received on every connection, stalled ones included.
 * @property {number} cut
 * @property {number} stuck
 * @property {number} outOfOrder
 * @property {number} dataBytes
 * @property {number} stalledBytes Body bytes the stalled connections took before they stopped reading.
 */

/** @param {Record<string, unknown>} message */
function send(message) {
  process.send?.(message)
}

let bytes = 0

/** @param {ConnectMessage} options */
function connect({ port, clients, events, parser, stalled = 0, cuts = 'lost', order = false, stallMs }) {
  const total = clients + stalled
  const agent = new http.Agent({ keepAlive: true, maxSockets: total + 16, maxFreeSockets: total + 16 })
  /** @type {http.ClientRequest[]} */
  const requests = []
  /** @type {Counter[]} */
  const counters = []
  let connected = 0
  let complete = 0
  let cut = 0
  let stalledBytes = 0
  let finished = false
  let lastByteAt = Date.now()
  /** @type {NodeJS.Timeout | undefined} */
  let watchdog
  const started = process.hrtime.bigint()

  /** @returns {Counts} */
  const counts = () => {
    let min = Number.POSITIVE_INFINITY
    let max = 0
    let sum = 0
    let outOfOrder = 0
    let dataBytes = 0
    for (const counter of counters) {
      min = Math.min(min, counter.count)
      max = Math.max(max, counter.count)
      sum += counter.count
      outOfOrder += counter.outOfOrder
      dataBytes += counter.dataBytes
    }
    const stuck = clients - complete - cut
    return { min, max, total: sum, bytes, cut, stuck, outOfOrder, dataBytes, stalledBytes }
  }

  const finish = () => {
    if (finished) return
    finished = true
    clearInterval(watchdog)
    send({ type: 'done', at: String(process.hrtime.bigint()), counts: counts() })
  }

  /** @param {string} reason */
  const lost = (reason) => {
    if (finished) return
    finished = true
    clearInterval(watchdog)
    send({ type: 'lost', reason, connected, complete, counts: counts() })
  }

  /** @param {number} index */
  const ended = (index) => {
    if (cuts === 'lost') {
      lost(`connection ${index}: ended after ${counters[index]?.count} events`)
      return
    }
    cut++
    if (complete + cut === clients) finish()
  }

  const opened = () => {
    connected++
    if (connected === total) {
      send({ type: 'connected', ms: Number(process.hrtime.bigint() - started) / 1e6 })
      if (cuts === 'count' && stallMs) {
        lastByteAt = Date.now()
        watchdog = setInterval(() => {
          if (Date.now() - lastByteAt > stallMs) finish()
        }, 100)
      }
    }
  }

  /** @param {number} index */
  const open = (index) => {
    const reads = index < clients
    const counter = createCounter(parser, { order })
    if (reads) counters[index] = counter
    const req = http.get(
      {
        agent,
        host: '127.0.0.1',
        port,
        // The server tells the kinds apart by this (lib/server.mjs counts their responses).
        path: reads ? '/' : '/?reader=stalled',
        headers: { accept: 'text/event-stream' },
      },
      (res) => {
        if (res.statusCode !== 200) {
          lost(`connection ${index}: status ${res.statusCode}`)
          return
        }
        if (!reads) {
          // A stalled reader: takes the first bytes, then never reads again.
          res.once('data', (/** @type {Buffer} */ chunk) => {
            res.pause()
            bytes += chunk.length
            stalledBytes += chunk.length
            opened()
          })
          res.on('error', () => {})
          return
        }
        let done = false
        let gone = false
        res.on('data', (/** @type {Buffer} */ chunk) => {
          bytes += chunk.length
          lastByteAt = Date.now()
          counter.feed(chunk)
          if (!done && counter.count >= events) {
            done = true
            complete++
            if (complete + cut === clients) finish()
          }
        })
        const end = () => {
          if (gone) return
          gone = true
          if (!done) ended(index)
          else if (cuts === 'lost') lost(`connection ${index}: ended after ${counter.count} events`)
        }
        res.on('end', end)
        res.on('close', end)
        res.on('error', (error) => (cuts === 'lost' ? lost(`connection ${index}: ${error.message}`) : end()))
        opened()
      },
    )
    req.on('error', (error) => lost(`connection ${index}: ${error.message}`))
    requests[index] = req
  }

  // Open in batches so the server's accept backlog never overflows (a dropped SYN costs 1 s).
  // Stalled connections are spread among the full-speed ones, as they would be on a real server.
  const sequence = Array.from({ length: total }, (_, i) => i)
  if (stalled > 0) {
    const every = Math.floor(total / stalled)
    for (let s = 0; s < stalled; s++) {
      const at = Math.min(total - 1, s * every + (every >> 1))
      const from = sequence.indexOf(clients + s)
      sequence.splice(from, 1)
      sequence.splice(at, 0, clients + s)
    }
  }
  let next = 0
  const batch = () => {
    const end = Math.min(total, next + 100)
    for (; next < end; next++) open(/** @type {number} */ (sequence[next]))
    if (next < total) setImmediate(batch)
  }
  batch()

  return () => {
    finished = true
    clearInterval(watchdog)
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
