/**
 * Instances of one app for the revocation and presence tests: each an Express app on its own
 * port with its own `RedisBroker` and hub, sharing one prefix, so they are one hub. `GET /events
 * ?user=alice&role=admin&topics=a,b` streams as principal `alice` with tag `role:admin`, unless the
 * shared `banned` set says no (403). A `child` instance runs in another process, to be SIGKILLed.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createHub, type Hub } from '@sse/core'
import { sseHub } from '@sse/express'
import { startHttpServer, withTimeout } from '@sse/test-utils'
import express from 'express'
import { RedisBroker, type RedisBrokerOptions } from '../src/index.ts'

export interface Instance {
  readonly url: string
  readonly hub: Hub
  readonly broker: RedisBroker
  close(): Promise<void>
}

export interface ClusterApp {
  /** Principals `authorize` refuses (403): the app's own record of who is banned. */
  readonly banned: Set<string>
}

export async function startInstance(
  redisUrl: string,
  prefix: string,
  app: ClusterApp,
  options: RedisBrokerOptions = {},
): Promise<Instance> {
  const broker = new RedisBroker({ redis: redisUrl, prefix, instanceLeaseMs: 3000, ...options })
  const hub = createHub({ broker, heartbeat: false, retry: false })
  hub.on('error', () => {})
  await broker.ready()
  await broker.control.ready?.()
  const server = express()
  server.get(
    '/events',
    sseHub({
      hub,
      key: () => undefined,
      topics: (req) => String(req.query.topics ?? 'news').split(','),
      authorize: (req) => {
        const user = String(req.query.user ?? '')
        if (user === '') return { status: 401, body: { error: 'who are you?' } }
        if (app.banned.has(user)) return false
        const role = req.query.role === undefined ? [] : [`role:${String(req.query.role)}`]
        return { allow: true, principal: user, tags: role }
      },
    }),
  )
  const http = await startHttpServer(server)
  return {
    url: http.url,
    hub,
    broker,
    close: async () => {
      await hub.close({ retry: false })
      await http.close()
      await broker.close()
    },
  }
}

export interface ChildInstance {
  readonly url: string
  readonly process: ChildProcess
  /** SIGKILL: no goodbye, its lease runs out on its own. */
  kill(): Promise<void>
}

/** An instance in a child process (`fixtures/instance.mjs`, on the built dist). */
export async function startChildInstance(
  redisUrl: string,
  prefix: string,
  leaseMs = 3000,
): Promise<ChildInstance> {
  const script = fileURLToPath(new URL('./fixtures/instance.mjs', import.meta.url))
  const child = spawn(process.execPath, [script], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    env: { ...process.env, REDIS_URL: redisUrl, SSE_PREFIX: prefix, LEASE_MS: String(leaseMs) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  let errors = ''
  child.stderr!.on('data', (chunk: Buffer) => {
    errors += chunk
  })
  const port = await withTimeout(
    new Promise<number>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk
        const line = output.split('\n').find((each) => each.startsWith('{'))
        if (line) resolve((JSON.parse(line) as { port: number }).port)
      })
      child.once('exit', (code) => reject(new Error(`the child instance exited (${code}): ${errors}`)))
    }),
    20_000,
    'the child instance to serve',
  )
  return {
    url: `http://127.0.0.1:${port}`,
    process: child,
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGKILL')
      await withTimeout(exited, 10_000, 'the child instance to die')
    },
  }
}
