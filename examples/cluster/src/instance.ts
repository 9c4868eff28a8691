/**
 * `node dist/instance.mjs`: one instance of the cluster's app, configured by environment:
 *
 * | Variable             | Default                   | Meaning                                            |
 * | -------------------- | ------------------------- | -------------------------------------------------- |
 * | `PORT`, `HOST`       | `3000`, `127.0.0.1`       | Where it listens (`PORT=0`: any free port).        |
 * | `INSTANCE`           | `<host>:<port>`           | Its name in `/health` and `X-Instance`.            |
 * | `REDIS_URL`          | `redis://127.0.0.1:6379`  | The Redis every instance shares.                   |
 * | `SSE_PREFIX`         | `sse:cluster`             | Key prefix: instances with the same one are a hub. |
 * | `HISTORY_SIZE`       | `1000`                    | Events kept in Redis for replay.                   |
 * | `COMMAND_TIMEOUT_MS` | `2000`                    | A Redis command slower than this is a 503.         |
 * | `HEARTBEAT_MS`       | `15000`                   | Idle streams get a comment this often.             |
 * | `RETRY_MS`           | (the hub's, 500–1500 ms)  | Reconnection delay sent to each client.            |
 *
 * It prints `instance <name> listening on <url>` once it serves, and shuts down gracefully on
 * SIGTERM and SIGINT: every client gets a jittered `retry:` (so reconnects spread over the other
 * instances), every stream ends, then the server and the Redis connections close.
 */

import type { AddressInfo } from 'node:net'
import { createHub } from '@sse/core'
import { RedisBroker } from '@sse/redis'
import { buildApp } from './app.ts'

function numberFrom(name: string, fallback: number | undefined): number | undefined {
  const text = process.env[name]
  if (text === undefined || text === '') return fallback
  const value = Number(text)
  if (!Number.isSafeInteger(value) || value < 0) {
    console.error(`${name} must be a non-negative integer, got ${JSON.stringify(text)}`)
    process.exit(2)
  }
  return value
}

const host = process.env.HOST || '127.0.0.1'
const port = numberFrom('PORT', 3000)
const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379'

const broker = new RedisBroker({
  redis: redisUrl,
  prefix: process.env.SSE_PREFIX || 'sse:cluster',
  historySize: numberFrom('HISTORY_SIZE', 1000),
  commandTimeoutMs: numberFrom('COMMAND_TIMEOUT_MS', 2000),
})
const hub = createHub({ broker, heartbeat: numberFrom('HEARTBEAT_MS', 15_000) })
const name = process.env.INSTANCE || (port === 0 ? `pid ${process.pid}` : `${host}:${port}`)
const log = (message: string) => console.log(`instance ${name}: ${message}`)
hub.on('error', (error) => {
  // SSE_BROKER_GAP (Redis lost events: streams are closed so clients resume from history or get
  // a reset) and replays that failed while Redis was unreachable (that stream was closed to retry).
  log(`${error instanceof Error ? error.message : String(error)}`)
})

// Know where this instance reads the log before serving: from then on every event published on any
// instance reaches its streams. ready() waits for a Redis that is not up yet (startupTimeoutMs,
// 30 s by default), then fails: the process exits and its supervisor starts it again.
log(`connecting to Redis at ${redisUrl}`)
await broker.ready()

const app = buildApp({ hub, instance: name, retryMs: numberFrom('RETRY_MS', undefined) })
const server = app.listen(port ?? 3000, host)
await new Promise<void>((resolve, reject) => {
  server.once('listening', resolve)
  server.once('error', reject)
})
const address = server.address() as AddressInfo
log(`listening on http://${host}:${address.port} (Redis ${redisUrl}, pid ${process.pid})`)

let stopping = false
async function shutdown(signal: string): Promise<void> {
  if (stopping) return
  stopping = true
  log(`${signal}: closing`)
  // A stuck close must not keep the process alive for ever.
  setTimeout(() => process.exit(1), 10_000).unref()
  await hub.close() // a jittered retry: to every client, then every stream ends
  await new Promise((resolve) => server.close(resolve))
  await broker.close()
  log('closed')
}
process.once('SIGTERM', () => void shutdown('SIGTERM'))
process.once('SIGINT', () => void shutdown('SIGINT'))
