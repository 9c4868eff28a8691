/**
 * `npm start` (`node dist/cluster.mjs`): the whole cluster on this machine, on free local ports.
 * redis-server (append-only, data in a temp dir), three instances of the app (`instance.ts`) over
 * it, and nginx in front of them running the shipped `nginx.conf`. It prints the URL to open and
 * each process's pid; Ctrl+C (or SIGTERM) stops them all and removes the temp dir.
 *
 * `PORT` picks nginx's port; `REDIS_URL` uses a Redis you already run instead of starting one.
 * Kill an instance (`kill -9 <pid>`) and watch the page's stream move to another one and catch up.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Cluster, findBinary, type ManagedProcess, startCluster, startRedisServer } from './processes.ts'

const echo = (name: string, line: string) => {
  if (line.trim() !== '') console.log(`[${name}] ${line}`)
}
const portText = process.env.PORT
const port = portText ? Number(portText) : undefined
if (port !== undefined && !(Number.isSafeInteger(port) && port > 0 && port < 65536)) {
  console.error(`PORT must be a port number, got ${JSON.stringify(portText)}`)
  process.exit(2)
}

const nginxBinary = findBinary('nginx')
const redisBinary = process.env.REDIS_URL ? undefined : findBinary('redis-server')
const missing = [
  !nginxBinary && 'nginx',
  !process.env.REDIS_URL && !redisBinary && 'redis-server (or set REDIS_URL to a running Redis)',
].filter(Boolean)
if (missing.length > 0) {
  console.error(`not found: ${missing.join(', ')}. On Debian/Ubuntu: sudo apt install nginx redis-server`)
  process.exit(1)
}

const dir = mkdtempSync(join(tmpdir(), 'sse-cluster-'))
let redis: (ManagedProcess & { url: string }) | undefined
let cluster: Cluster | undefined
let stopping = false

async function stopAll(code: number): Promise<never> {
  stopping = true
  try {
    await cluster?.stop()
    await redis?.stop()
  } catch (error) {
    console.error(`stopping: ${(error as Error).message}`)
    code = 1
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  console.log(`stopped; removed ${dir}`)
  process.exit(code)
}

process.once('SIGINT', () => void stopAll(0))
process.once('SIGTERM', () => void stopAll(0))

try {
  if (redisBinary) {
    redis = await startRedisServer({ binary: redisBinary, dir: join(dir, 'redis'), persist: true })
  }
  const redisUrl = redis?.url ?? process.env.REDIS_URL!
  cluster = await startCluster({ redisUrl, nginxBinary: nginxBinary!, dir: join(dir, 'nginx'), port, echo })

  const rows: string[][] = []
  if (redis) rows.push(['redis-server', redis.url, `pid ${redis.pid}`, `append-only data in ${dir}/redis`])
  else rows.push(['redis', redisUrl, '', '(REDIS_URL)'])
  for (const instance of cluster.instances)
    rows.push([`instance ${instance.name}`, instance.url, `pid ${instance.pid}`])
  rows.push(['nginx', cluster.url, `pid ${cluster.nginx.pid}`, `config and logs in ${dir}/nginx`])
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((row) => row[i]!.length)))
  console.log('')
  for (const row of rows)
    console.log(
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
  console.log(`\nOpen ${cluster.url}  (Ctrl+C stops everything)`)
  console.log(
    `Try: kill -9 ${cluster.instances[0]!.pid}  (instance ${cluster.instances[0]!.name}): its clients move to the others and catch up.\n`,
  )

  for (const proc of [redis, cluster.nginx, ...cluster.instances]) {
    if (!proc) continue
    void proc.exited.then(({ code, signal }) => {
      if (stopping) return
      const what = signal ? `signal ${signal}` : `code ${code}`
      const hint =
        proc.name === 'redis-server'
          ? 'publishing answers 503 until Redis is back'
          : proc.name === 'nginx'
            ? 'the cluster URL no longer answers; Ctrl+C to stop'
            : 'nginx sends its clients to the other instances'
      console.log(`${proc.name} exited (${what}): ${hint}`)
    })
  }
} catch (error) {
  console.error(`the cluster did not start: ${(error as Error).message}`)
  await stopAll(1)
}
