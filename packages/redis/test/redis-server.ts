/**
 * A real `redis-server` for tests, on a free port, in a temp dir; stopped and removed after.
 * Where the binary is missing the suites skip with a one-line notice, except under `CI=true`,
 * where a missing binary is a failure (`.ci/run` installs it with apt).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { withTimeout } from '@sse/test-utils'

export const REDIS_SERVER: string | undefined = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find(
  (path) => existsSync(path),
)

/** `describe.skipIf` condition, loud when it skips, an error under CI. */
export function redisMissing(): boolean {
  if (REDIS_SERVER) return false
  if (process.env.CI) throw new Error('redis-server is required under CI=true (apt install redis-server)')
  console.warn('[@sse/redis] redis-server not found: skipping the Redis suites (apt install redis-server)')
  return true
}

export async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

export interface RedisProcess {
  readonly url: string
  readonly port: number
  /** Stops the server (SIGTERM, or SIGKILL with `kill: true`). */
  stop(options?: { kill?: boolean }): Promise<void>
  /** Starts it again on the same port and data dir. */
  start(): Promise<void>
}

/** Starts redis-server; `persist` keeps data across a restart (append-only file, fsync always). */
export async function startRedis(options: { persist?: boolean } = {}): Promise<RedisProcess> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'sse-redis-'))
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '']
  args.push(
    ...(options.persist ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
  )
  let child: ChildProcess | undefined
  const start = async () => {
    const proc = spawn(REDIS_SERVER!, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    child = proc
    let output = ''
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        proc.stdout!.on('data', (chunk: Buffer) => {
          output += chunk
          if (output.includes('Ready to accept connections')) resolve()
        })
        proc.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${output}`)))
      }),
      10_000,
      'redis-server to accept connections',
    )
  }
  const stop = async ({ kill = false } = {}) => {
    const proc = child
    if (!proc || proc.exitCode !== null) return
    const exited = once(proc, 'exit')
    proc.kill(kill ? 'SIGKILL' : 'SIGTERM')
    await withTimeout(exited, 10_000, 'redis-server to exit')
  }
  await start()
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop,
    start,
    [Symbol.asyncDispose]: async () => {
      await stop({ kill: true })
      rmSync(dir, { recursive: true, force: true })
    },
  } as RedisProcess
}

/** Stops the server and removes its data dir. */
export async function destroyRedis(redis: RedisProcess): Promise<void> {
  await (redis as unknown as { [Symbol.asyncDispose]: () => Promise<void> })[Symbol.asyncDispose]()
}
