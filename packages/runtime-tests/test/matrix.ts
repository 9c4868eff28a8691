/**
 * The READMEs' "Tested on" tables, rendered from what the tests run: the runtime suites that the
 * test files of this package register (`describeRuntime(…)` calls, `RUNTIME_CASES`), the runtime
 * versions this package installs, the framework majors of the peer ranges and the contract files
 * that run each one. `matrix.test.ts` compares each README's table with these, so a README that
 * claims more (or less) than CI runs fails the run.
 *
 * A table sits between `<!-- matrix: NAME -->` and `<!-- /matrix -->` in a README.
 */
import { readdirSync, readFileSync, realpathSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { RUNTIME_CASES, type RuntimeCase, WORKERS_LIMITS } from './runtime-contract.ts'
import type { AppKind, RuntimeName } from './runtimes.ts'

export const ROOT: string = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const PACKAGE_DIR = join(ROOT, 'packages', 'runtime-tests')

const read = (path: string): string => readFileSync(path, 'utf8')

/** What the Workers form of each case covers (see `describeRuntime`'s `acrossRequests`). */
export const WORKERS_FORM: Record<RuntimeCase, string> = {
  headers: '✓ (hub: head only)',
  framing: '✓ (own request)',
  heartbeat: '✓ (ticker per request)',
  replay: '✓ (replay; not live)',
  backpressure: '✓ (within one request)',
  disconnect: '✓ (at the next write)',
  eventsource: '✓',
}

export interface RuntimeSuiteCall {
  readonly runtime: RuntimeName
  readonly app: AppKind
  readonly workers: boolean
  readonly file: string
}

/** The `describeRuntime(…)` calls of this package's test files. */
export function runtimeSuiteCalls(): RuntimeSuiteCall[] {
  const calls: RuntimeSuiteCall[] = []
  const dir = join(PACKAGE_DIR, 'test')
  for (const file of readdirSync(dir)
    .filter((name) => name.endsWith('.test.ts'))
    .sort()) {
    const source = read(join(dir, file))
    for (const match of source.matchAll(/^describeRuntime\('(\w+)', '(\w+)'(, \{ workers: true \})?\)/gm))
      calls.push({ runtime: match[1] as RuntimeName, app: match[2] as AppKind, workers: !!match[3], file })
  }
  return calls
}

/** The version of a devDependency of this package, as package.json pins it. */
function pinned(name: string): string {
  const { devDependencies } = JSON.parse(read(join(PACKAGE_DIR, 'package.json'))) as {
    devDependencies: Record<string, string>
  }
  const version = devDependencies[name]
  if (!version) throw new Error(`packages/runtime-tests/package.json pins no ${name}`)
  return version
}

/** A column head per runtime: its name and the version the tests run. */
export function runtimeHead(runtime: RuntimeName): string {
  if (runtime === 'node') return `Node ${process.versions.node.split('.')[0]}`
  const label = { bun: 'Bun', deno: 'Deno', workerd: 'workerd' }[runtime]
  return `${label} ${pinned(runtime)}`
}

const ORDER: RuntimeName[] = ['node', 'bun', 'deno', 'workerd']

function table(head: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n')
}

/** Runtime × case, for the app on `@sse/hono` (`hono`) or on `@sse/core/web` alone (`web`). */
export function renderRuntimeMatrix(app: AppKind): string {
  const calls = runtimeSuiteCalls().filter((call) => call.app === app)
  const runtimes = ORDER.filter((runtime) => calls.some((call) => call.runtime === runtime))
  const workersOf = (runtime: RuntimeName) => calls.find((call) => call.runtime === runtime)!.workers
  const rows = (Object.keys(RUNTIME_CASES) as RuntimeCase[]).map((key) => [
    RUNTIME_CASES[key],
    ...runtimes.map((runtime) => (workersOf(runtime) ? WORKERS_FORM[key] : '✓')),
  ])
  if (runtimes.some(workersOf))
    for (const limit of Object.values(WORKERS_LIMITS))
      rows.push([limit, ...runtimes.map((runtime) => (workersOf(runtime) ? '✓' : '—'))])
  return table(['What runs', ...runtimes.map(runtimeHead)], rows)
}

/** The runtimes `test/client.test.ts` runs `@sse/client` on, from its `for (const runtime of [...])`. */
export function clientRuntimes(): RuntimeName[] {
  const source = read(join(PACKAGE_DIR, 'test', 'client.test.ts'))
  const list = /for \(const runtime of \[([^\]]*)\] as const\)/.exec(source)?.[1]
  if (!list) throw new Error('test/client.test.ts: no `for (const runtime of [...] as const)` loop')
  return [...list.matchAll(/'(\w+)'/g)].map((match) => match[1] as RuntimeName)
}

/** The client's table: the runtimes and where each is run. */
export function renderClientMatrix(clientCases: Record<string, string>): string {
  const cases = Object.values(clientCases).join('; ')
  const rows: string[][] = [
    [`Node ${process.versions.node.split('.')[0]}`, 'everything in this README', '`test/*.test.ts`'],
    [
      'Chromium (Debian)',
      'the built bundle in a page: events, reconnect with `Last-Event-ID`, redirects',
      '`test/browser.test.ts`',
    ],
    ...clientRuntimes().map((runtime) => [
      runtimeHead(runtime),
      cases,
      '`packages/runtime-tests/test/client.test.ts`',
    ]),
  ]
  return table(['Runtime', 'What runs', 'Where'], rows)
}

/** The adapters and the framework each is bound to. */
export const ADAPTERS = {
  express: { framework: 'express', label: 'Express' },
  fastify: { framework: 'fastify', label: 'Fastify' },
  hono: { framework: 'hono', label: 'Hono' },
  koa: { framework: 'koa', label: 'Koa' },
} as const

export type AdapterName = keyof typeof ADAPTERS

/** The majors a peer range accepts: `^4.21.0 || ^5.0.0` → [4, 5]. */
export function peerMajors(adapter: AdapterName): number[] {
  const workspace = read(join(ROOT, 'pnpm-workspace.yaml'))
  const peer = /^ {2}peer:\n((?: {4}.+\n)+)/m.exec(workspace)?.[1] ?? ''
  const { framework } = ADAPTERS[adapter]
  const range = new RegExp(`^ {4}"?${framework}"?: (.+)$`, 'm').exec(peer)?.[1]
  const declared = JSON.parse(read(join(ROOT, 'packages', adapter, 'package.json'))) as {
    peerDependencies: Record<string, string>
  }
  const spec =
    declared.peerDependencies[framework] === 'catalog:peer' ? range : declared.peerDependencies[framework]
  if (!spec) throw new Error(`no peer range for ${framework}`)
  return spec.split('||').map((part) => Number(/\^?(\d+)/.exec(part.trim())![1]))
}

export interface ContractRun {
  readonly major: number
  /** The import specifier (the framework itself, or an npm alias of it). */
  readonly specifier: string
  readonly file: string
  readonly http2: boolean
  readonly http1: boolean
}

/** Each contract file of an adapter, with the framework major it imports (aliases resolved). */
export function contractRuns(adapter: AdapterName): ContractRun[] {
  const dir = join(ROOT, 'packages', adapter, 'test')
  const { framework } = ADAPTERS[adapter]
  const runs: ContractRun[] = []
  for (const file of readdirSync(dir)
    .filter((name) => /^contract.*\.test\.ts$/.test(name))
    .sort()) {
    const source = read(join(dir, file))
    // One chunk per call; a call's options `{ http2: true }` close it.
    const chunks = source.split(/^describeAdapterContract\(/m).slice(1)
    if (chunks.length === 0) continue
    const h2c = chunks.map((chunk) => /\{\s*http2: true,?\s*\}/.test(chunk))
    for (const [, specifier] of source.matchAll(/^import .* from '([^'.@][^']*)'$/gm)) {
      if (!specifier || specifier.startsWith('node:')) continue
      const manifest = join(
        realpathSync(join(ROOT, 'packages', adapter, 'node_modules', specifier)),
        'package.json',
      )
      const { name, version } = JSON.parse(read(manifest)) as { name: string; version: string }
      if (name !== framework) continue
      runs.push({
        major: Number(version.split('.')[0]),
        specifier,
        file,
        http2: h2c.some(Boolean),
        http1: h2c.some((isH2c) => !isH2c),
      })
    }
  }
  return runs
}

/** An adapter's table: each declared major, how the tests install it, and the contract file that runs it. */
export function renderFrameworkMatrix(adapter: AdapterName): string {
  const { framework, label } = ADAPTERS[adapter]
  const runs = contractRuns(adapter)
  const rows = peerMajors(adapter).map((major) => {
    const run = runs.find((candidate) => candidate.major === major)
    if (!run) return [`${label} ${major}`, '—', 'not run', '—']
    const installed = run.specifier === framework ? `\`${framework}\`` : `\`${run.specifier}\` (npm alias)`
    const over = [run.http1 ? 'HTTP/1.1' : '', run.http2 ? 'h2c' : ''].filter(Boolean).join(', ')
    return [`${label} ${major}`, installed, `\`test/${run.file}\``, over]
  })
  return table(['Major', 'Installed for the tests as', 'Contract suite', 'Over'], rows)
}

/** The table of a README between its `<!-- matrix: NAME -->` markers. */
export function readmeMatrix(readme: string, name: string): string | undefined {
  const start = readme.indexOf(`<!-- matrix: ${name} -->`)
  if (start < 0) return undefined
  const end = readme.indexOf('<!-- /matrix -->', start)
  return readme
    .slice(readme.indexOf('\n', start) + 1, end)
    .trim()
    .split('\n')
    .map((line) =>
      line
        .split('|')
        .map((cell) => cell.trim())
        .join('|')
        .replace(/\|-+(?=\|)/g, '|---'),
    )
    .join('\n')
}

/** The same normalisation for a rendered table (padding and dash runs do not count). */
export function normalise(rendered: string): string {
  return readmeMatrix(`<!-- matrix: x -->\n${rendered}\n<!-- /matrix -->`, 'x')!
}
