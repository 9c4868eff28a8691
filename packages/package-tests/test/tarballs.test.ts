/**
 * What a user installs. `npm run release:dry` versions a throwaway copy of the workspace and packs
 * every public package with `pnpm pack`; those tarballs (not the workspace links) go into one fresh
 * project with plain `npm install ./x.tgz …`, next to the frameworks from the registry. Then, as a
 * user would: every entry is imported and required, a TypeScript consumer is typechecked under
 * node16 and bundler resolution, and a tiny server per adapter streams to a real client.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  DEPENDENCY_FIELDS,
  entrySpecifiers,
  exportTargets,
  type Manifest,
  publicPackages,
  readJson,
  root,
  run,
} from './workspace.ts'

interface Report {
  changesets: string[]
  problems: string[]
  packages: {
    name: string
    dir: string
    private: boolean
    from: string
    to: string
    tarball?: string
    files?: string[]
    manifest?: Manifest
  }[]
}

const published = await publicPackages()
const fixtures = new URL('../fixtures/', import.meta.url).pathname
const tsc = join(createRequire(import.meta.url).resolve('typescript/package.json'), '..', 'bin', 'tsc')
// Test harness from the registry, at the versions the packages' own tests use.
const HARNESS = ['@hono/node-server', 'eventsource-parser', '@types/node']
// The names every entry must export (the main API); any entry not listed must export something.
const API: Record<string, string[]> = {
  '@sse/core': ['createHub', 'createEventStream', 'formatEvent', 'formatComment', 'SseError', 'MemoryBroker'],
  '@sse/core/node': ['createNodeEventStream', 'createNodeSink'],
  '@sse/core/web': ['createWebSink', 'createSseResponse'],
  '@sse/core/testing': ['createMemorySink'],
  '@sse/express': ['sse', 'sseHub'],
  '@sse/fastify': ['sse', 'sseHub', 'ssePlugin'],
  '@sse/koa': ['sse', 'sseHub'],
  '@sse/hono': ['sse', 'sseHub'],
  '@sse/metrics': ['registerHubMetrics'],
  '@sse/metrics/otel': ['registerHubMetricsOtel'],
}
const specifiers = published.flatMap((pkg) => entrySpecifiers(pkg.manifest))

let temp = ''
let app = ''
let report: Report
let version = ''

/** npm without the pnpm/turbo context this test runs in. */
function npmEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env }
  for (const key of Object.keys(env)) {
    if (/^npm_(lifecycle_|package_|command$|config_user_agent$|config_verify_deps_before_run$)/i.test(key))
      delete env[key]
    if (/^pnpm_/i.test(key)) delete env[key]
  }
  return env
}

/** Every file under `dir`, relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort()
}

const installed = (name: string) => join(app, 'node_modules', ...name.split('/'))

beforeAll(async () => {
  temp = mkdtempSync(join(tmpdir(), 'sse-package-tests-'))
  const tarballs = join(temp, 'tarballs')
  await run(
    process.execPath,
    [
      join(root, 'scripts', 'release-dry.mjs'),
      '--skip-build',
      '--out',
      tarballs,
      '--json',
      join(temp, 'report.json'),
    ],
    // Packs and checks every public package (publint, attw): minutes on a loaded 2-core machine.
    { cwd: root, timeoutMs: 240_000 },
  )
  report = readJson<Report>(join(temp, 'report.json'))
  const packed = report.packages.filter((pkg) => !pkg.private)
  version = packed[0]?.to ?? ''

  // The frameworks (every peer of a public package) and their types, at the versions our tests use.
  const manifests = packed.map((pkg) => pkg.manifest as Manifest)
  const devRange = (name: string) => manifests.map((m) => m.devDependencies?.[name]).find(Boolean)
  const registry = new Map<string, string>()
  for (const manifest of manifests) {
    for (const [peer, range] of Object.entries(manifest.peerDependencies ?? {})) {
      registry.set(peer, devRange(peer) ?? range)
      const types = `@types/${peer}`
      if (manifest.devDependencies?.[types]) registry.set(types, manifest.devDependencies[types])
    }
  }
  for (const name of HARNESS) registry.set(name, devRange(name) ?? 'latest')

  app = join(temp, 'app')
  mkdirSync(app)
  writeFileSync(
    join(app, 'package.json'),
    `${JSON.stringify({ name: 'sse-consumer', version: '1.0.0', private: true, type: 'module' }, null, 2)}\n`,
  )
  // @sse/* must come from the tarballs: a registry lookup for one fails instead of fetching a stranger.
  writeFileSync(
    join(app, '.npmrc'),
    '@sse:registry=http://127.0.0.1:9/\naudit=false\nfund=false\nupdate-notifier=false\n',
  )
  await run(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      ...packed.map((pkg) => pkg.tarball as string),
      ...[...registry].map(([name, range]) => `${name}@${range}`),
    ],
    { cwd: app, timeoutMs: 180_000, env: npmEnv() },
  )
  for (const file of readdirSync(fixtures)) copyFileSync(join(fixtures, file), join(app, file))
}, 300_000)

afterAll(() => {
  if (temp) rmSync(temp, { recursive: true, force: true })
})

describe('the release dry run', () => {
  it('versions every public package together, leaves private ones alone, and packs each', () => {
    expect(report.problems).toEqual([])
    const packed = report.packages.filter((pkg) => !pkg.private)
    expect(packed.map((pkg) => pkg.name)).toEqual(published.map((pkg) => pkg.name))
    expect(new Set(packed.map((pkg) => pkg.to))).toEqual(new Set([version]))
    for (const pkg of report.packages.filter((p) => p.private)) expect(pkg.to, pkg.name).toBe(pkg.from)
    for (const pkg of packed) expect(pkg.tarball, pkg.name).toMatch(/\.tgz$/)
  })
})

describe.each(published.map((pkg) => [pkg.name] as const))('%s as installed from its tarball', (name) => {
  it('has real versions where the workspace had workspace: and catalog: ranges', () => {
    const manifest = readJson(join(installed(name), 'package.json'))
    const source = readJson(
      join(root, published.find((pkg) => pkg.name === name)?.dir as string, 'package.json'),
    )
    expect(manifest.version).toBe(version)
    for (const field of DEPENDENCY_FIELDS) {
      expect(Object.keys(manifest[field] ?? {}).sort(), field).toEqual(
        Object.keys(source[field] ?? {}).sort(),
      )
      for (const [dep, range] of Object.entries(manifest[field] ?? {})) {
        expect(range, `${field}.${dep}`).not.toMatch(/^(workspace|catalog):/)
        // An npm alias (`express4: npm:express@4.22.3`, a devDependency) names a real version too.
        expect(range.replace(/^npm:(@[^/@]+\/)?[^@]+@/, ''), `${field}.${dep}`).toMatch(
          /^[\^~]?\d|^[<>=]|\|\|/,
        )
        if (dep.startsWith('@sse/') && field !== 'devDependencies') expect(range, dep).toBe(`^${version}`)
      }
    }
  })

  it('ships built code, sources, types, README and LICENSE, and no tests', () => {
    const manifest = readJson(join(installed(name), 'package.json'))
    const files = filesUnder(installed(name))
    expect(files).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json']))
    for (const target of exportTargets(manifest)) expect(files, target).toContain(target.slice(2))
    const unwanted = files.filter((file) =>
      /(^|\/)(test|tests|__tests__|__snapshots__|\.turbo|node_modules)\/|\.test(-d)?\.[cm]?[jt]sx?$|\.snap$|test-results\.json$|^(tsconfig[^/]*\.json|tsdown\.config\.[cm]?[jt]s|vitest\.config\.[cm]?[jt]s)$|\.tgz$/.test(
        file,
      ),
    )
    expect(unwanted).toEqual([])
    expect(
      files.every((file) => /^(dist|src)\/|^(LICENSE|README\.md|CHANGELOG\.md|package\.json)$/.test(file)),
    ).toBe(true)
  })
})

describe('in a fresh npm project', () => {
  it('resolves one copy of @sse/core, from its tarball', () => {
    const lock = readJson<{ packages: Record<string, { resolved?: string; version?: string }> }>(
      join(app, 'package-lock.json'),
    )
    const cores = Object.entries(lock.packages).filter(([path]) => path.endsWith('node_modules/@sse/core'))
    expect(cores.map(([path]) => path)).toEqual(['node_modules/@sse/core'])
    for (const pkg of published) {
      const entry = lock.packages[`node_modules/${pkg.name}`]
      expect(entry?.version, pkg.name).toBe(version)
      expect(entry?.resolved, pkg.name).toMatch(/^file:.*\.tgz$/)
    }
  })

  it('imports every entry of every package', async () => {
    const { stdout } = await run(process.execPath, ['imports.mjs', JSON.stringify(specifiers)], {
      cwd: app,
      timeoutMs: 30_000,
    })
    const names = JSON.parse(stdout) as Record<string, string[]>
    expect(Object.keys(names).sort()).toEqual([...specifiers].sort())
    for (const specifier of specifiers) {
      expect(names[specifier]?.length, specifier).toBeGreaterThan(0)
      expect(names[specifier], specifier).toEqual(expect.arrayContaining(API[specifier] ?? []))
    }
  })

  it('require()s every entry (require(esm)), as the same module import() gives', async () => {
    const { stdout } = await run(
      process.execPath,
      ['requires.cjs', JSON.stringify(specifiers), JSON.stringify(published.map((pkg) => pkg.name))],
      { cwd: app, timeoutMs: 30_000 },
    )
    const result = JSON.parse(stdout) as {
      node: string
      entries: Record<string, { names: string[]; sameAsImport: boolean }>
      versions: Record<string, string>
    }
    const [major = 0, minor = 0] = result.node.split('.').map(Number)
    expect(major > 20 || (major === 20 && minor >= 19), `Node ${result.node} has require(esm)`).toBe(true)
    for (const specifier of specifiers) {
      expect(result.entries[specifier]?.names.length, specifier).toBeGreaterThan(0)
      expect(result.entries[specifier]?.sameAsImport, specifier).toBe(true)
    }
    for (const pkg of published) expect(result.versions[pkg.name]).toBe(version)
  })

  it.each([
    ['node16', 'ESM', { module: 'node16', moduleResolution: 'node16' }],
    ['bundler', 'ESM', { module: 'esnext', moduleResolution: 'bundler' }],
    ['nodenext', 'CommonJS', { module: 'nodenext', moduleResolution: 'nodenext' }],
  ] as const)('typechecks a consumer under moduleResolution %s (%s)', async (resolution, kind, options) => {
    // Each entry by name, so a new package or entry is covered too, plus the main API as users write it.
    const ext = kind === 'ESM' ? 'mts' : 'cts'
    const entries = `entries-${resolution}.${ext}`
    const imports = specifiers.map((specifier, i) =>
      kind === 'ESM'
        ? `import * as entry${i} from '${specifier}'`
        : `import entry${i} = require('${specifier}')`,
    )
    writeFileSync(
      join(app, entries),
      `${imports.join('\n')}\nexport const entries: object[] = [${specifiers.map((_, i) => `entry${i}`).join(', ')}]\n`,
    )
    const config = join(app, `tsconfig.${resolution}.json`)
    writeFileSync(
      config,
      JSON.stringify({
        compilerOptions: {
          ...options,
          target: 'es2022',
          lib: ['es2023'],
          types: ['node'],
          strict: true,
          noEmit: true,
          skipLibCheck: false,
        },
        files: [`consumer.${ext}`, entries],
      }),
    )
    // Errors inside other packages' declarations (a framework's, its @types') are theirs, not ours:
    // everything else, our declarations included (skipLibCheck is off), must compile.
    const { stdout } = await run(process.execPath, [tsc, '-p', config, '--pretty', 'false', '--listFiles'], {
      cwd: app,
      timeoutMs: 90_000,
      allowFailure: true,
    })
    const lines = stdout.split('\n')
    const errors = lines.filter((line) => /\berror TS\d+/.test(line))
    expect(
      errors.filter((line) => !line.startsWith('node_modules/') || line.startsWith('node_modules/@sse/')),
    ).toEqual([])
    // The declarations come from the tarballs' dist, never from the sources they also ship.
    for (const pkg of published) {
      const declarations = lines.filter((file) => file.includes(`/node_modules/${pkg.name}/`))
      expect(declarations.length, pkg.name).toBeGreaterThan(0)
      expect(
        declarations.filter((file) => !/\/dist\/[^/]+\.d\.mts$/.test(file)),
        pkg.name,
      ).toEqual([])
    }
  })

  it('streams an event from a tiny server per adapter to a real client', async () => {
    const { stdout } = await run(process.execPath, ['servers.mjs'], { cwd: app, timeoutMs: 60_000 })
    const results = JSON.parse(stdout) as Record<
      string,
      {
        first: string
        greeting: { status: number; contentType: string; cacheControl: string; events: unknown[] }
        news: { status: number; contentType: string; events: { event: string; id: string; data: unknown }[] }
      }
    >
    expect(Object.keys(results)).toEqual(['core', 'express', 'fastify', 'koa', 'hono'])
    // A new framework adapter (a public package with a framework peer, from the `peer` catalog)
    // needs its case in servers.mjs; a package with another peer (@sse/metrics: prom-client) is none.
    const adapters = published
      .filter((pkg) => Object.values(pkg.manifest.peerDependencies ?? {}).includes('catalog:peer'))
      .map((pkg) => pkg.name.slice('@sse/'.length))
    expect(Object.keys(results)).toEqual(expect.arrayContaining(adapters))
    for (const [name, { first, greeting, news }] of Object.entries(results)) {
      expect(greeting, name).toMatchObject({
        status: 200,
        contentType: 'text/event-stream; charset=utf-8',
        cacheControl: 'no-cache, no-transform',
      })
      expect(greeting.events, name).toEqual([{ event: 'hello', data: { from: name } }])
      expect(news.status, name).toBe(200)
      // The event after the client's Last-Event-ID from history, then one published live.
      expect(
        news.events.map((event) => event.data),
        name,
      ).toEqual([{ n: 2 }, { n: 3 }])
      expect(news.events.every((event) => event.event === 'news' && event.id && event.id !== first)).toBe(
        true,
      )
    }
  })
})
