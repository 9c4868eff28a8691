/**
 * What the cluster's tests share: skipping (with a one-line notice) where redis-server or nginx is
 * missing, failing instead under `CI=true`; a cluster of real processes over a redis-server that
 * `@sse/redis`'s harness starts on a free port; clients that count what they receive; a publisher
 * that counts what it published. Everything a test starts is stopped, and every temp dir removed,
 * after the test, passed or failed.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pollUntil, withTimeout } from '@sse/test-utils'
import { EventSource } from 'eventsource'
import { afterEach, describe, onTestFailed } from 'vitest'
import { destroyRedis, redisMissing, startRedis } from '../../../packages/redis/test/redis-server.ts'
import { type Cluster, findBinary, startCluster } from '../src/processes.ts'

export {
  destroyRedis,
  type RedisProcess,
  startRedis,
} from '../../../packages/redis/test/redis-server.ts'

export const NGINX: string | undefined = findBinary('nginx')

/** `describe.skipIf` condition for suites that need nginx: loud when it skips, an error under CI. */
export function nginxMissing(): boolean {
  if (NGINX) return false
  if (process.env.CI) throw new Error('nginx is required under CI=true (apt install nginx)')
  console.warn('[@sse/example-cluster] nginx not found: skipping the cluster suites (apt install nginx)')
  return true
}

/** Both binaries the cluster needs (each reports itself). */
export function clusterBinariesMissing(): boolean {
  const redis = redisMissing()
  const nginx = nginxMissing()
  return redis || nginx
}

/** `describe`, skipped (with a one-line notice) where redis-server or nginx is missing, failing under `CI=true`. */
export function describeCluster(name: string, suite: () => void): void {
  describe.skipIf(clusterBinariesMissing())(name, suite)
}

const cleanups: Array<() => unknown> = []

/** Runs `step` after the current test, passed or failed (last registered, first run). */
export function cleanup(step: () => unknown): void {
  cleanups.push(step)
}

afterEach(async () => {
  const errors: unknown[] = []
  for (const step of cleanups.splice(0).reverse()) {
    try {
      await step()
    } catch (error) {
      errors.push(error)
    }
  }
  if (errors.length > 0) throw errors[0]
})

/** A temp dir, removed after the test. */
export function tempDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `sse-${name}-`))
  cleanup(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/**
 * Three instances (`a`, `b`, `c`) over `redisUrl`, each with its own `SSE_PREFIX` unless `env`
 * names one, and nginx in front. Stopped after the test; their output is printed if it failed.
 */
export async function startTestCluster(redisUrl: string, env: Record<string, string> = {}): Promise<Cluster> {
  const lines: string[] = []
  const cluster = await startCluster({
    redisUrl,
    nginxBinary: NGINX!,
    dir: tempDir('nginx'),
    env: { SSE_PREFIX: `test:${Math.random().toString(36).slice(2)}`, ...env },
    echo: (name, line) => lines.push(`[${name}] ${line}`),
  })
  cleanup(() => cluster.stop())
  onTestFailed(() => {
    console.log(`output of the cluster's processes:\n${lines.join('\n')}`)
  })
  return cluster
}

/**
 * A redis-server (`redisOptions`) and a cluster over it (`env`, as `startTestCluster`'s), both
 * stopped after the test.
 */
export async function startRedisAndCluster(
  env: Record<string, string> = {},
  redisOptions: Parameters<typeof startRedis>[0] = {},
): Promise<{ redis: Awaited<ReturnType<typeof startRedis>>; cluster: Cluster }> {
  const redis = await startRedis(redisOptions)
  cleanup(() => destroyRedis(redis))
  return { redis, cluster: await startTestCluster(redis.url, env) }
}

export interface PostResult {
  readonly status: number
  readonly headers: Headers
  readonly body: { id?: string; instance?: string; error?: string; code?: string }
}

/** `POST /notify` with `{ topic, message }`. */
export async function notify(baseUrl: string, topic: string, message: string): Promise<PostResult> {
  const response = await fetch(`${baseUrl}/notify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ topic, message }),
    signal: AbortSignal.timeout(5000),
  })
  const body = (await withTimeout(
    response.json(),
    5000,
    `the body of POST ${baseUrl}/notify`,
  )) as PostResult['body']
  return { status: response.status, headers: response.headers, body }
}

export interface Attempt {
  readonly message: string
  readonly status: number
  readonly body: PostResult['body']
  readonly headers: Headers
}

/** POSTs `m0`, `m1`, … one after the other (to `urls` in turn) until stopped; counts every answer. */
export function startPublisher(urls: readonly string[], topic: string) {
  const attempts: Attempt[] = []
  const published: string[] = []
  let stopped = false
  const running = (async () => {
    for (let n = 0; !stopped; n++) {
      const message = `m${n}`
      const { status, body, headers } = await notify(urls[n % urls.length]!, topic, message)
      attempts.push({ message, status, body, headers })
      if (status === 201) published.push(body.id!)
    }
  })()
  const publisher = {
    /** Every POST, in order, with its answer. */
    attempts,
    /** Ids of the events published (201), in order. */
    published,
    async stop(): Promise<void> {
      stopped = true
      await withTimeout(running, 10_000, 'the publisher to stop')
    },
  }
  cleanup(() => {
    stopped = true
    return running.catch(() => {})
  })
  return publisher
}

/** Holds reconnection attempts back until opened. */
export class Gate {
  waiting = 0
  #release: () => void = () => {}
  #opened: Promise<void> = new Promise((resolve) => {
    this.#release = resolve
  })

  async pass(): Promise<void> {
    this.waiting++
    await this.#opened
    this.waiting--
  }

  open(): void {
    this.#release()
  }
}

export interface ReceivedMessage {
  readonly type: string
  readonly data: string
  readonly lastEventId: string
  /** Index of the connection it came on (0 = the first). */
  readonly connection: number
}

export interface Connection {
  /** The `Last-Event-ID` the attempt sent. */
  readonly lastEventId: string | undefined
  /** Messages received before this attempt. */
  readonly messagesBefore: number
  /** `X-Instance` of the answer, once it came. */
  instance?: string | undefined
}

/**
 * An `EventSource` (the `eventsource` package) listening for `notification` and `sse-reset`,
 * recording each connection attempt: its `Last-Event-ID` and which instance answered. With a
 * `gate`, reconnections wait for it to open.
 */
export async function openSource(url: string, options: { gate?: Gate } = {}) {
  const messages: ReceivedMessage[] = []
  const connections: Connection[] = []
  let opens = 0
  const source = new EventSource(url, {
    fetch: async (input, init) => {
      const index = connections.length
      const headers = Object.fromEntries(
        Object.entries(init.headers ?? {}).map(([name, value]) => [name.toLowerCase(), String(value)]),
      )
      const connection: Connection = {
        lastEventId: headers['last-event-id'],
        messagesBefore: messages.length,
      }
      connections.push(connection)
      if (index > 0 && options.gate) await options.gate.pass()
      const response = await fetch(input, init)
      connection.instance = response.headers.get('x-instance') ?? undefined
      return response
    },
  })
  cleanup(() => source.close())
  const collect = (event: MessageEvent) => {
    messages.push({
      type: event.type,
      data: String(event.data),
      lastEventId: event.lastEventId,
      connection: connections.length - 1,
    })
  }
  source.addEventListener('notification', collect)
  source.addEventListener('sse-reset', collect)
  source.addEventListener('open', () => {
    opens++
  })
  const client = {
    source,
    messages,
    connections,
    get opens() {
      return opens
    },
    /** Ids of the notifications received, in order. */
    ids: () =>
      messages.filter((message) => message.type === 'notification').map((message) => message.lastEventId),
  }
  await pollUntil(() => opens >= 1, 5000, `EventSource ${url} to open`)
  return client
}

/** The seq of a hub id (`<epoch>-<seq>`). */
export function seqOf(id: string): number {
  return Number(id.slice(id.lastIndexOf('-') + 1))
}
