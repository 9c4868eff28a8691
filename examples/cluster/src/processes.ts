/**
 * Starting and stopping the cluster's processes: redis-server, the app's instances and nginx,
 * each on a free local port, with every file (Redis data, nginx pid, logs and temp files) in a
 * directory of the caller's. `cluster.ts` (`npm start`) and the tests share this, so the tests
 * run the cluster the way a user does, down to the shipped `nginx.conf`.
 *
 * Every wait has a deadline, and a process that exits while it is awaited fails the wait with
 * what it printed.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { accessSync, chmodSync, constants, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { delimiter, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The nginx site users copy; the cluster runs it with its ports substituted. */
export const NGINX_SITE: string = fileURLToPath(new URL('../nginx.conf', import.meta.url))

/** One instance's entry point, built: `dist/instance.mjs`. */
export const INSTANCE_ENTRY: string = fileURLToPath(new URL('../dist/instance.mjs', import.meta.url))

/** How long a process may take to start, or to exit after a signal. */
const START_TIMEOUT_MS = 10_000
const STOP_TIMEOUT_MS = 5_000

/**
 * The absolute path of an executable: on `PATH`, or in the sbin directories that a user's `PATH`
 * often lacks (Debian installs nginx as /usr/sbin/nginx). `undefined` when it is nowhere.
 */
export function findBinary(name: string): string | undefined {
  const dirs = [
    ...(process.env.PATH ?? '').split(delimiter),
    '/usr/local/sbin',
    '/usr/local/bin',
    '/usr/sbin',
    '/usr/bin',
    '/sbin',
    '/bin',
  ]
  for (const dir of dirs) {
    if (!dir) continue
    const path = join(dir, name)
    try {
      accessSync(path, constants.X_OK)
      return path
    } catch {}
  }
  return undefined
}

/** A port that was free a moment ago, on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

/** A child process of the cluster. */
export interface ManagedProcess {
  readonly name: string
  readonly child: ChildProcess
  readonly pid: number
  /** Everything it printed so far, stdout and stderr interleaved. */
  output(): string
  /** Resolves once it exited, with how. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** Whether it has exited. */
  readonly running: boolean
  /** Sends `signal` (default SIGTERM) and waits for the exit; SIGKILL when it outlives `graceMs`. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>
}

export interface LaunchOptions {
  env?: Record<string, string> | undefined
  /** Receives each line the process prints. */
  echo?: ((name: string, line: string) => void) | undefined
}

function deadline<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what()}: no result after ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** Spawns `command`, collecting its output. */
export function launch(
  name: string,
  command: string,
  args: readonly string[],
  options: LaunchOptions = {},
): ManagedProcess {
  const child = spawn(command, args, {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  let partial = ''
  const collect = (chunk: Buffer) => {
    const text = chunk.toString()
    output += text
    if (!options.echo) return
    const lines = (partial + text).split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) options.echo(name, line)
  }
  child.stdout!.on('data', collect)
  child.stderr!.on('data', collect)
  let running = true
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      running = false
      resolve({ code, signal })
    })
    // A command that could not be spawned at all (ENOENT) emits 'error' and no 'exit'.
    child.once('error', (error) => {
      output += `\n${error.message}`
      running = false
      resolve({ code: null, signal: null })
    })
  })
  const stop = async (signal: NodeJS.Signals = 'SIGTERM', graceMs = STOP_TIMEOUT_MS) => {
    if (!running) return
    child.kill(signal)
    const killer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    try {
      await deadline(exited, graceMs + STOP_TIMEOUT_MS, () => `${name} to exit after ${signal}`)
    } finally {
      clearTimeout(killer)
    }
  }
  return {
    name,
    child,
    pid: child.pid ?? -1,
    output: () => output,
    exited,
    get running() {
      return running
    },
    stop,
  }
}

/** Resolves once `proc` printed a line matching `pattern`; fails if it exits first or after the deadline. */
export async function waitForOutput(
  proc: ManagedProcess,
  pattern: RegExp,
  timeoutMs = START_TIMEOUT_MS,
): Promise<RegExpMatchArray> {
  const found = new Promise<RegExpMatchArray>((resolve, reject) => {
    const check = () => {
      const match = proc.output().match(pattern)
      if (!match) return false
      proc.child.stdout?.off('data', check)
      proc.child.stderr?.off('data', check)
      resolve(match)
      return true
    }
    if (check()) return
    proc.child.stdout?.on('data', check)
    proc.child.stderr?.on('data', check)
    void proc.exited.then(({ code, signal }) => {
      if (!check()) {
        reject(
          new Error(
            `${proc.name} exited (code ${code}, signal ${signal}) before printing ${pattern}:\n${proc.output()}`,
          ),
        )
      }
    })
  })
  return deadline(found, timeoutMs, () => `${proc.name} to print ${pattern}; it printed:\n${proc.output()}`)
}

export interface RedisServerOptions extends LaunchOptions {
  binary: string
  /** Its data directory (created if missing). */
  dir: string
  port?: number | undefined
  /** Append-only file, fsync every second: what a deployment should run. Default true. */
  persist?: boolean | undefined
}

/** Starts redis-server on 127.0.0.1; resolves once it accepts connections. */
export async function startRedisServer(
  options: RedisServerOptions,
): Promise<ManagedProcess & { url: string; port: number }> {
  mkdirSync(options.dir, { recursive: true })
  const port = options.port ?? (await freePort())
  const persist = options.persist ?? true
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', options.dir, '--save', '']
  args.push('--appendonly', persist ? 'yes' : 'no')
  const proc = launch('redis-server', options.binary, args, options)
  try {
    await waitForOutput(proc, /Ready to accept connections/)
  } catch (error) {
    await proc.stop('SIGKILL')
    throw error
  }
  return Object.assign(proc, { url: `redis://127.0.0.1:${port}`, port })
}

export interface InstanceOptions extends LaunchOptions {
  /** Its name, in `/health` and `X-Instance`. */
  name: string
  redisUrl: string
  /** The built entry point. Default `dist/instance.mjs` of this package. */
  entry?: string | undefined
}

/** One instance of the app on a free port; resolves once it serves (after its broker is ready). */
export async function startInstance(
  options: InstanceOptions,
): Promise<ManagedProcess & { url: string; port: number }> {
  const entry = options.entry ?? INSTANCE_ENTRY
  if (!existsSync(entry)) throw new Error(`${entry} is missing: build the example first (npm run build)`)
  const proc = launch(options.name, process.execPath, [entry], {
    ...options,
    env: { PORT: '0', ...options.env, INSTANCE: options.name, REDIS_URL: options.redisUrl },
  })
  try {
    const [, url, port] = (await waitForOutput(proc, /listening on (http:\/\/[\d.]+:(\d+))/)) as string[]
    return Object.assign(proc, { url: url!, port: Number(port) })
  } catch (error) {
    await proc.stop('SIGKILL')
    throw error
  }
}

/**
 * The shipped site (`nginx.conf`) with the cluster's addresses: the upstream's `server` lines
 * become `upstreams`, and `listen 8080;` becomes `listen 127.0.0.1:<port>;`. Fails if the file
 * no longer has those lines, so the cluster can never run a different config than it ships.
 */
export function renderNginxSite(site: string, port: number, upstreams: readonly string[]): string {
  const servers = /^([ \t]*)server[ \t]+[\w.:[\]-]+;[ \t]*\n/gm
  const first = servers.exec(site)
  if (!first || !/^[ \t]*listen 8080;$/m.test(site)) {
    throw new Error('nginx.conf must have upstream `server host:port;` lines and `listen 8080;`')
  }
  const indent = first[1] ?? ''
  const lines = upstreams.map((address) => `${indent}server ${address};\n`).join('')
  let placed = false
  return site
    .replace(servers, () => {
      if (placed) return ''
      placed = true
      return lines
    })
    .replace(/^([ \t]*)listen 8080;$/m, `$1listen 127.0.0.1:${port};`)
}

/**
 * The main config around the site: in the foreground (`daemon off`), one worker, and the pid
 * file, logs and temp files in `dir`, so nginx runs as any user and leaves nothing behind.
 */
export function renderNginxMain(dir: string, sitePath: string): string {
  const at = (name: string) => JSON.stringify(join(dir, name))
  return `# Generated by examples/cluster: the site in ${sitePath}, with every file nginx writes in this directory.
daemon off;
worker_processes 1;
pid ${at('nginx.pid')};
error_log ${at('error.log')} warn;

events {
  worker_connections 4096;
}

http {
  access_log ${at('access.log')};
  client_body_temp_path ${at('temp/client_body')};
  proxy_temp_path ${at('temp/proxy')};
  fastcgi_temp_path ${at('temp/fastcgi')};
  uwsgi_temp_path ${at('temp/uwsgi')};
  scgi_temp_path ${at('temp/scgi')};
  include ${JSON.stringify(sitePath)};
}
`
}

export interface NginxOptions extends LaunchOptions {
  binary: string
  /** Where its config, pid, logs and temp files go (created if missing). */
  dir: string
  port?: number | undefined
  /** The instances, as `host:port`. */
  upstreams: readonly string[]
  /** The site to run. Default: this package's `nginx.conf`. */
  site?: string | undefined
}

/** Writes the configs into `dir` and checks them with `nginx -t`; returns the main config's path. */
export async function writeNginxConfig(options: NginxOptions & { port: number }): Promise<string> {
  mkdirSync(join(options.dir, 'temp'), { recursive: true })
  // Workers run as an unprivileged user when nginx is started as root: let them into the directory.
  chmodSync(options.dir, 0o755)
  const sitePath = join(options.dir, 'site.conf')
  const mainPath = join(options.dir, 'nginx.conf')
  const site = readFileSync(options.site ?? NGINX_SITE, 'utf8')
  writeFileSync(sitePath, renderNginxSite(site, options.port, options.upstreams))
  writeFileSync(mainPath, renderNginxMain(options.dir, sitePath))
  const test = launch('nginx -t', options.binary, nginxArgs(options.dir, mainPath, ['-t', '-q']))
  const { code } = await deadline(test.exited, START_TIMEOUT_MS, () => 'nginx -t')
  if (code !== 0) throw new Error(`nginx -t rejected ${mainPath}:\n${test.output()}`)
  return mainPath
}

function nginxArgs(dir: string, mainPath: string, extra: readonly string[] = []): string[] {
  // -e: the error log before the config is read (else nginx opens /var/log/nginx/error.log first).
  return ['-p', dir, '-c', mainPath, '-e', join(dir, 'error.log'), ...extra]
}

/** Starts nginx in the foreground; resolves once it proxies `GET /health` to an instance. */
export async function startNginx(
  options: NginxOptions,
): Promise<ManagedProcess & { url: string; port: number }> {
  const port = options.port ?? (await freePort())
  const mainPath = await writeNginxConfig({ ...options, port })
  const proc = launch('nginx', options.binary, nginxArgs(options.dir, mainPath), options)
  const url = `http://127.0.0.1:${port}`
  const errorLog = () => {
    try {
      return readFileSync(join(options.dir, 'error.log'), 'utf8')
    } catch {
      return ''
    }
  }
  try {
    const serving = (async () => {
      for (;;) {
        if (!proc.running) throw new Error(`nginx exited:\n${proc.output()}\n${errorLog()}`)
        try {
          const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) })
          await response.arrayBuffer()
          if (response.ok) return
        } catch {}
        await new Promise((resolve) => setTimeout(resolve, 25))
      }
    })()
    await deadline(serving, START_TIMEOUT_MS, () => `nginx to proxy ${url}/health:\n${errorLog()}`)
  } catch (error) {
    await proc.stop('SIGKILL')
    throw error
  }
  return Object.assign(proc, { url, port })
}

export interface ClusterOptions extends LaunchOptions {
  redisUrl: string
  nginxBinary: string
  /** nginx's directory (config, pid, logs, temp files). */
  dir: string
  /** Instance names. Default `['a', 'b', 'c']`. */
  names?: readonly string[] | undefined
  /** nginx's port. Default: a free one. */
  port?: number | undefined
  /** Environment of every instance (SSE_PREFIX, HISTORY_SIZE, RETRY_MS, …). */
  env?: Record<string, string> | undefined
}

export interface Cluster {
  readonly url: string
  readonly instances: ReadonlyArray<ManagedProcess & { url: string; port: number }>
  readonly nginx: ManagedProcess & { url: string; port: number }
  /** Stops nginx, then every instance still running (gracefully, SIGTERM). */
  stop(): Promise<void>
}

/** The instances over `redisUrl`, and nginx in front of them. */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const names = options.names ?? ['a', 'b', 'c']
  const started = await Promise.allSettled(
    names.map((name) =>
      startInstance({ name, redisUrl: options.redisUrl, env: options.env, echo: options.echo }),
    ),
  )
  const instances = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []))
  const failed = started.find((result) => result.status === 'rejected')
  let nginx: (ManagedProcess & { url: string; port: number }) | undefined
  const stop = async () => {
    await nginx?.stop()
    await Promise.all(instances.map((instance) => instance.stop()))
  }
  try {
    if (failed) throw failed.reason
    nginx = await startNginx({
      binary: options.nginxBinary,
      dir: options.dir,
      port: options.port,
      upstreams: instances.map((instance) => `127.0.0.1:${instance.port}`),
      echo: options.echo,
    })
  } catch (error) {
    await stop()
    throw error
  }
  return { url: nginx.url, instances, nginx, stop }
}
