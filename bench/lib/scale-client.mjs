/**
 * The load of `scale.mjs`: many idle SSE connections from one process, forked with an IPC
 * channel. Plain `net` sockets (a few hundred bytes each, so that a client process holds
 * thousands), each sending one `GET` and reading what comes; a connection counts as subscribed
 * at the first bytes of its response. Every process connects from its own loopback source address
 * (`localAddress`: 127.0.0.2, 127.0.0.3, …) and names its source ports itself (`localPort`, from
 * `firstPort` up, skipping those in use): left to the kernel, a `bind()` before `connect()` searches
 * for a free port, and that search grew with every port taken (7,000 connections from one address
 * ran at 2,600/s, the next 2,000 at 217/s); named ports stay at the same rate.
 *
 * Messages in:  { type: 'connect', port, count, localAddress, firstPort, concurrency, timeoutMs },
 *               { type: 'expect', marker }, { type: 'arrivals' }, { type: 'pings' }, { type: 'close' }
 * Messages out: { type: 'connected', ok, ms, failures, firstCode }, { type: 'expecting' },
 *               { type: 'arrived' } (every open connection has the marker),
 *               { type: 'arrivals', times, open, lost }, { type: 'pings', pings, open },
 *               { type: 'closed' }
 * `failures` counts the connections that failed by cause (an errno code, `closed` when the server
 * closed before answering, `timeout`, `EADDRNOTAVAIL` when no source port is left below 65,536);
 * after the first failure no more are opened.
 */
import net from 'node:net'
import { monotonicMs } from './scale-limits.mjs'

/** @param {Record<string, unknown>} message */
function send(message) {
  process.send?.(message)
}

/** @type {net.Socket[]} */
const sockets = []
let openCount = 0
let lost = 0
let pings = 0
/** @type {Buffer | undefined} */
let marker
/** @type {Float64Array} */
let arrivals = new Float64Array(0)
let arrived = 0
let expected = 0
let settled = false
const ping = Buffer.from('\r\n:\n\n\r\n')

/** @param {any} message */
async function connectAll(message) {
  const { port, count, localAddress, concurrency, timeoutMs } = message
  let localPort = message.firstPort
  const request = Buffer.from(
    `GET /scale HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`,
  )
  /** @type {Record<string, number>} */
  const failures = {}
  let firstCode = ''
  let started = 0
  let ok = 0
  let failed = 0
  const t0 = monotonicMs()
  arrivals = new Float64Array(count).fill(Number.NaN)
  await new Promise((resolve) => {
    const next = () => {
      if (ok + failed === started && (started === count || failed > 0)) {
        resolve(undefined)
        return
      }
      if (failed > 0 || started === count) return
      const index = started++
      /** @type {'pending' | 'open' | 'failed'} */
      let state = 'pending'
      /** @type {net.Socket | undefined} */
      let socket
      const timer = setTimeout(() => fail('timeout'), timeoutMs)
      const fail = (/** @type {string} */ code) => {
        if (state !== 'pending') return
        state = 'failed'
        clearTimeout(timer)
        failed++
        failures[code] = (failures[code] ?? 0) + 1
        firstCode ||= code
        socket?.destroy()
        next()
      }
      const open = () => {
        if (localPort > 65_535) {
          fail('EADDRNOTAVAIL')
          return
        }
        const attempt = net.connect({ port, host: '127.0.0.1', localAddress, localPort: localPort++ })
        socket = attempt
        sockets.push(attempt)
        attempt.on('error', (/** @type {NodeJS.ErrnoException} */ error) => {
          // A source port some other socket holds (or one still in TIME_WAIT): the next one.
          if (error.code === 'EADDRINUSE' && state === 'pending' && error.syscall === 'bind') {
            attempt.destroy()
            open()
          } else fail(error.code ?? 'error')
        })
        listen(attempt)
      }
      const listen = (/** @type {net.Socket} */ socket) => {
        socket.on('connect', () => socket.write(request))
        socket.on('data', (chunk) => {
          if (state === 'pending') {
            state = 'open'
            clearTimeout(timer)
            ok++
            openCount++
            next()
          }
          if (marker && Number.isNaN(arrivals[index] ?? 0) && chunk.indexOf(marker) !== -1) {
            arrivals[index] = monotonicMs()
            if (++arrived === expected) send({ type: 'arrived' })
          } else if (chunk.indexOf(ping) !== -1) pings++
        })
        socket.on('close', () => {
          if (socket !== current()) return // replaced: its port was taken
          if (state === 'pending') fail('closed')
          else if (state === 'open') {
            openCount--
            if (!settled) lost++
          }
        })
      }
      const current = () => socket
      open()
    }
    for (let i = 0; i < Math.min(concurrency, count); i++) next()
  })
  send({ type: 'connected', ok, ms: monotonicMs() - t0, failures, firstCode })
}

// Ends with the benchmark: a parent that died leaves no process holding thousands of sockets.
process.on('disconnect', () => process.exit(0))

process.on('message', (/** @type {any} */ message) => {
  if (message.type === 'connect') connectAll(message)
  else if (message.type === 'expect') {
    marker = Buffer.from(message.marker)
    arrived = 0
    expected = openCount
    send({ type: 'expecting' })
  } else if (message.type === 'arrivals') {
    send({ type: 'arrivals', times: [...arrivals].filter((t) => !Number.isNaN(t)), open: openCount, lost })
  } else if (message.type === 'pings') {
    send({ type: 'pings', pings, open: openCount })
  } else if (message.type === 'close') {
    settled = true
    for (const socket of sockets) socket.destroy()
    send({ type: 'closed' })
  }
})
