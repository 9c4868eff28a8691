/**
 * The runtimes, as real processes. Each binary comes from its npm package (a devDependency of
 * this package; the package's postinstall puts the platform's binary in place, which is why
 * `pnpm-workspace.yaml` lists them in `onlyBuiltDependencies`). A test starts one process per app,
 * on 127.0.0.1 and a port the runtime picks, and talks to it over real sockets only.
 *
 * - Bun and Deno run the app's TypeScript as it is, importing `@sse/*` through node_modules, so
 *   they load the packages' built dist (the app reports what it resolved).
 * - Node (20 runs no TypeScript) and workerd (which takes one ESM module) run a bundle that
 *   rolldown makes from the same entry files and the packages' dist.
 *
 * Where a binary is missing or does not start, a suite skips with one line saying which and how
 * to install it; under `CI=true` that is a failure instead.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { withTimeout } from '@sse/test-utils'
import { build } from 'rolldown'

const require = createRequire(import.meta.url)
const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..')
const APPS_DIR = join(PACKAGE_DIR, 'apps')

/** The runtimes a suite can run on: the rows of the READMEs' matrices. */
export type RuntimeName = 'node' | 'bun' | 'deno' | 'workerd'
/** The two apps: on `@sse/hono`, and on `@sse/core/web` without a framework. */
export type AppKind = 'hono' | 'web'

/** How long a runtime may take to print its address: a cold Deno or workerd on a loaded 2-core machine. */
const START_TIMEOUT_MS = 60_000
const INSTALL_HINT = 'run `pnpm install` at the repository root (it installs bun, deno and workerd from npm)'

/** The package each binary comes from, and where in it the binary is. */
const BINARIES: Record<Exclude<RuntimeName, 'node'>, { package: string; path: () => string }> = {
  bun: {
    package: 'bun@1.4.5',
    path: () => join(dirname(require.resolve('bun/package.json')), 'bin', 'bun.exe'),
  },
  deno: { package: 'deno@2.9.6', path: () => join(dirname(require.resolve('deno/package.json')), 'deno') },
  workerd: {
    package: 'workerd@1.20261123.1',
    path: () => (require('workerd') as { default: string }).default,
  },
}

export interface RuntimeBinary {
  readonly name: RuntimeName
  readonly path: string
  /** What `--version` printed. */
  readonly version: string
}

/** The runtime's binary, or why there is none. */
function probe(name: RuntimeName): RuntimeBinary | string {
  if (name === 'node') return { name, path: process.execPath, version: process.versions.node }
  const binary = BINARIES[name]
  let path: string
  try {
    path = binary.path()
  } catch (error) {
    return `${name}: the npm package ${binary.package} is not installed (${(error as Error).message.split('\n')[0]}); ${INSTALL_HINT}`
  }
  if (!existsSync(path)) return `${name}: no binary at ${path}; ${INSTALL_HINT}`
  const result = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 30_000 })
  // `1.4.5`, `deno 2.9.6 (stable, …)`, `workerd 2026-11-23`: the version itself.
  const version = /\d[\w.-]*/.exec(`${result.stdout ?? ''}`)?.[0] ?? ''
  if (result.status !== 0 || !version)
    return `${name}: ${path} --version failed (${result.error?.message ?? `exit ${result.status}: ${`${result.stderr}`.trim().slice(0, 200)}`}); its postinstall may not have run (pnpm-workspace.yaml onlyBuiltDependencies) — ${INSTALL_HINT}`
  return { name, path, version }
}

const probed = new Map<RuntimeName, RuntimeBinary | string>()
const warned = new Set<RuntimeName>()

/** The runtime's binary, probed once per file. */
export function runtimeBinary(name: RuntimeName): RuntimeBinary | undefined {
  if (!probed.has(name)) probed.set(name, probe(name))
  const found = probed.get(name)!
  return typeof found === 'string' ? undefined : found
}

/**
 * A `describe.skipIf` condition: false when the runtime is there. Missing, it prints one line
 * saying which and how to install it and skips, except under `CI=true`, where it throws.
 */
export function runtimeMissing(name: RuntimeName): boolean {
  if (runtimeBinary(name)) return false
  const why = probed.get(name) as string
  if (process.env.CI) throw new Error(`[@sse/runtime-tests] required under CI=true: ${why}`)
  if (!warned.has(name)) console.warn(`[@sse/runtime-tests] skipping the ${name} suites: ${why}`)
  warned.add(name)
  return true
}

/** The entry file of an app on a runtime (`top-level-hub`: a Worker that must fail to start). */
function entryOf(runtime: RuntimeName, app: AppKind | 'top-level-hub'): string {
  if (runtime === 'workerd') return join(APPS_DIR, `entry-worker-${app}.ts`)
  return join(APPS_DIR, `entry-${runtime}.ts`)
}

export interface Bundle {
  readonly file: string
  /** Every module in the bundle: the proof that `@sse/*` came from dist. */
  readonly moduleIds: readonly string[]
}

/** Bundles an entry into one ESM file with rolldown, from the packages' dist (no source condition). */
export async function bundle(entry: string, outDir: string, platform: 'node' | 'browser'): Promise<Bundle> {
  const file = join(outDir, `${entry.split('/').pop()!.replace(/\.ts$/, '')}.mjs`)
  const result = await build({
    input: entry,
    platform,
    // workerd has Web APIs only; `browser` resolves packages' browser/default exports.
    output: { format: 'esm', file },
    write: true,
    logLevel: 'warn',
  })
  return { file, moduleIds: result.output[0]!.moduleIds }
}

/** A workerd config serving one module on 127.0.0.1, port 0. */
function workerdConfig(module: string): string {
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .worker) ],
  sockets = [ (name = "http", address = "127.0.0.1:0", http = (), service = "main") ],
);
const worker :Workerd.Worker = (
  modules = [ (name = "worker.mjs", esModule = embed "${module}") ],
  compatibilityDate = "2026-11-01",
  # The request's AbortSignal aborts when the client goes away.
  compatibilityFlags = ["enable_request_signal"],
);
`
}

export interface RunningRuntime {
  readonly runtime: RuntimeName
  readonly app: AppKind | 'top-level-hub'
  readonly version: string
  /** `http://127.0.0.1:<port>`. */
  readonly url: string
  /** What the process printed so far (stdout and stderr). */
  readonly output: () => string
  /** Modules of the bundle, where one was made (Node, workerd). */
  readonly moduleIds: readonly string[] | undefined
  /** Ends the process (SIGTERM, then SIGKILL) and removes its temp dir. */
  close(): Promise<void>
}

/** Stops a child by its own pid: SIGTERM, then SIGKILL if it is still there after 5 s. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
  try {
    await withTimeout(exited, 15_000, `${child.spawnfile} (pid ${child.pid}) to exit`)
  } finally {
    clearTimeout(timer)
  }
}

/** Starts the app on the runtime and resolves once it listens. */
export async function startRuntime(
  runtime: RuntimeName,
  app: AppKind | 'top-level-hub',
): Promise<RunningRuntime> {
  const binary = runtimeBinary(runtime)
  if (!binary) throw new Error(probed.get(runtime) as string)
  const dir = mkdtempSync(join(tmpdir(), `sse-${runtime}-${app}-`))
  let moduleIds: readonly string[] | undefined
  let command: string[]
  let controlFd = false
  if (runtime === 'bun') command = [entryOf(runtime, app), app]
  else if (runtime === 'deno')
    command = ['run', '--quiet', '--allow-net', '--allow-read', '--allow-env', entryOf(runtime, app), app]
  else if (runtime === 'node') {
    const built = await bundle(entryOf(runtime, app), dir, 'node')
    moduleIds = built.moduleIds
    command = [built.file, app]
  } else {
    const built = await bundle(entryOf(runtime, app), dir, 'browser')
    moduleIds = built.moduleIds
    writeFileSync(join(dir, 'config.capnp'), workerdConfig(built.file.split('/').pop()!))
    command = ['serve', join(dir, 'config.capnp'), 'config', '--control-fd', '3']
    controlFd = true
  }
  const child = spawn(binary.path, command, {
    cwd: PACKAGE_DIR,
    stdio: ['ignore', 'pipe', 'pipe', ...(controlFd ? (['pipe'] as const) : [])],
    env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1', DENO_NO_PROMPT: '1' },
  })
  let output = ''
  const fail = async (error: unknown): Promise<never> => {
    await stopChild(child).catch(() => {})
    rmSync(dir, { recursive: true, force: true })
    throw new Error(
      `[@sse/runtime-tests] ${runtime} (${binary.version}) did not start the ${app} app: ${(error as Error).message}\n${output}`,
    )
  }
  const url = await withTimeout(
    new Promise<string>((resolve, reject) => {
      const lines = (source: NodeJS.ReadableStream, onLine: (line: string) => void) => {
        let pending = ''
        source.on('data', (chunk: Buffer) => {
          output += chunk
          pending += chunk
          let newline = pending.indexOf('\n')
          while (newline >= 0) {
            onLine(pending.slice(0, newline))
            pending = pending.slice(newline + 1)
            newline = pending.indexOf('\n')
          }
        })
      }
      const onLine = (line: string) => {
        if (!line.startsWith('{')) return
        const message = JSON.parse(line) as { url?: string; event?: string; port?: number }
        if (message.url) resolve(message.url)
        else if (message.event === 'listen' && message.port) resolve(`http://127.0.0.1:${message.port}`)
      }
      lines(child.stdout!, onLine)
      child.stderr!.on('data', (chunk: Buffer) => {
        output += chunk
      })
      if (controlFd) lines(child.stdio[3] as NodeJS.ReadableStream, onLine)
      child.once('error', reject)
      child.once('exit', (code, signal) => reject(new Error(`exited (${signal ?? code}) before listening`)))
    }),
    START_TIMEOUT_MS,
    `${runtime} to listen`,
  ).catch(fail)
  let closing: Promise<void> | undefined
  return {
    runtime,
    app,
    version: binary.version,
    url,
    moduleIds,
    output: () => output,
    close: () => {
      closing ??= stopChild(child).finally(() => rmSync(dir, { recursive: true, force: true }))
      return closing
    },
  }
}

/** A script run to its end in a runtime, its stdout read as JSON lines. */
export interface RuntimeScript {
  /** The JSON lines printed so far. */
  readonly lines: ReadonlyArray<Record<string, unknown>>
  /** Everything printed (stdout and stderr), for failure messages. */
  readonly output: () => string
  /** Resolves with the first line matching `match`, once printed. */
  waitForLine(
    match: (line: Record<string, unknown>) => boolean,
    label: string,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>
  /** Resolves with the exit code once the process ended by itself. */
  exited(timeoutMs?: number): Promise<number | null>
  /** Ends the process if it still runs. */
  close(): Promise<void>
}

/** Runs `apps/<file>` with `args` in Bun or Deno (TypeScript as it is, packages from node_modules). */
export function runScript(runtime: 'bun' | 'deno', file: string, args: readonly string[]): RuntimeScript {
  const binary = runtimeBinary(runtime)
  if (!binary) throw new Error(probed.get(runtime) as string)
  const entry = join(APPS_DIR, file)
  const command =
    runtime === 'bun'
      ? [entry, ...args]
      : ['run', '--quiet', '--allow-net', '--allow-read', '--allow-env', entry, ...args]
  const child = spawn(binary.path, command, {
    cwd: PACKAGE_DIR,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1', DENO_NO_PROMPT: '1' },
  })
  const lines: Array<Record<string, unknown>> = []
  const waiters = new Set<() => void>()
  let output = ''
  let pending = ''
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk
    pending += chunk
    let newline = pending.indexOf('\n')
    while (newline >= 0) {
      const line = pending.slice(0, newline)
      pending = pending.slice(newline + 1)
      newline = pending.indexOf('\n')
      if (line.startsWith('{')) lines.push(JSON.parse(line) as Record<string, unknown>)
    }
    for (const wake of [...waiters]) wake()
  })
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk
  })
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  void exit.then(() => {
    for (const wake of [...waiters]) wake()
  })
  return {
    lines,
    output: () => output,
    waitForLine: (match, label, timeoutMs = 30_000) => {
      let wake = () => {}
      const found = new Promise<Record<string, unknown>>((resolve, reject) => {
        wake = () => {
          const line = lines.find(match)
          if (line) resolve(line)
          else if (child.exitCode !== null)
            reject(new Error(`${runtime} exited (${child.exitCode}) before ${label}\n${output}`))
        }
        waiters.add(wake)
        wake()
      })
      return withTimeout(found, timeoutMs, () => `${runtime}: ${label}; printed:\n${output}`).finally(() =>
        waiters.delete(wake),
      )
    },
    exited: (timeoutMs = 30_000) =>
      withTimeout(exit, timeoutMs, () => `${runtime} to exit; printed:\n${output}`),
    close: () => stopChild(child),
  }
}
