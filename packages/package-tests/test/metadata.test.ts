/**
 * What every public @sse package must carry to be published, read from the workspace so that a new
 * package cannot forget any of it: metadata, a license file, exports that point at built files,
 * frameworks as peers, `@sse/core` as a real dependency, and a changeset for its first release.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  DEPENDENCY_FIELDS,
  importedPackages,
  type Manifest,
  publicPackages,
  readJson,
  root,
  within,
  workspacePackages,
} from './workspace.ts'

const all = await workspacePackages()
const published = await publicPackages()
const privateNames = all.filter((pkg) => pkg.manifest.private === true).map((pkg) => pkg.name)
const rootManifest = readJson(join(root, 'package.json'))
const self = readJson(new URL('../package.json', import.meta.url).pathname)
// Frameworks are the user's choice of version: an adapter declares them as peers, never bundles them.
const FRAMEWORKS = ['express', 'fastify', 'koa', 'hono']

/** Requires a module the way @changesets/cli itself resolves it. */
const fromCli = createRequire(createRequire(import.meta.url).resolve('@changesets/cli/package.json'))

/** The release plan exactly as `changeset version` would compute it, without writing anything. */
async function releasePlan(): Promise<{
  changesets: { id: string; releases: { name: string; type: string }[] }[]
  releases: { name: string; type: string; newVersion: string; oldVersion: string }[]
}> {
  const getReleasePlan = fromCli('@changesets/get-release-plan').default
  return getReleasePlan(root)
}

describe('the workspace', () => {
  it('has public packages, and the private ones are the tooling', () => {
    expect(published.map((pkg) => pkg.name)).toContain('@sse/core')
    expect(privateNames).toContain('@sse/test-utils')
    expect(privateNames).toContain('@sse/package-tests')
  })

  it('builds every public package before these checks run (a devDependency on each, for ^build)', () => {
    const missing = published
      .filter((pkg) => self.devDependencies?.[pkg.name] !== 'workspace:*')
      .map((pkg) => `"${pkg.name}": "workspace:*"`)
    expect(missing, 'add these to packages/package-tests devDependencies').toEqual([])
  })

  it('versions public packages together and never versions or publishes private ones', () => {
    const config = readJson<Record<string, unknown>>(join(root, '.changeset', 'config.json'))
    expect(config.privatePackages).toEqual({ version: false, tag: false })
    expect(config.access).toBe('public')
    expect(config.ignore).toEqual([])
    const groups = config.fixed as string[][]
    const matches = (pattern: string, name: string) =>
      new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`).test(name)
    const group = groups.find((patterns) => patterns.some((pattern) => matches(pattern, '@sse/core')))
    expect(group, 'a fixed group with @sse/core').toBeDefined()
    for (const pkg of published) {
      expect(
        group?.some((pattern) => matches(pattern, pkg.name)),
        `${pkg.name} in the fixed group`,
      ).toBe(true)
    }
  })

  it('has a changeset naming each public package that was never released, and each parses', async () => {
    // Throws, naming the file, when a changeset does not parse. (.changeset/ is left out of biome,
    // whose markdown formatter would turn a one-package frontmatter into a heading.)
    const plan = await within(releasePlan(), 30_000, 'the changesets release plan')
    const named = new Set(
      plan.changesets.flatMap((changeset) => changeset.releases.map((release) => release.name)),
    )
    const unreleased = published.filter((pkg) => pkg.manifest.version === '0.0.0').map((pkg) => pkg.name)
    expect(unreleased.filter((name) => !named.has(name))).toEqual([])
    for (const name of named) expect(privateNames, `${name} is private`).not.toContain(name)
    // Private packages appear in the plan as `none` (not versioned); every public one moves together.
    const releases = plan.releases.filter((release) => release.type !== 'none')
    for (const release of plan.releases.filter((r) => privateNames.includes(r.name))) {
      expect(release.newVersion, `private ${release.name}`).toBe(release.oldVersion)
    }
    expect(new Set(releases.map((release) => release.newVersion)).size, 'one version').toBeLessThanOrEqual(1)
    if (releases.length > 0) {
      expect(releases.map((release) => release.name).sort()).toEqual(published.map((pkg) => pkg.name))
    }
  })

  it('publishes with pnpm, which rewrites workspace: and catalog: ranges (npm publish would not)', async () => {
    // `changeset publish` picks `pnpm publish` only when it detects pnpm from each package's directory.
    const { detect } = fromCli('package-manager-detector') as {
      detect: (options: { cwd: string }) => Promise<{ name: string } | null>
    }
    for (const pkg of published)
      expect((await within(detect({ cwd: join(root, pkg.dir) }), 10_000, pkg.name))?.name, pkg.name).toBe(
        'pnpm',
      )
  })

  it('has the release scripts at the root', () => {
    const scripts = rootManifest.scripts ?? {}
    expect(scripts['version-packages']).toBe('changeset version && pnpm install --lockfile-only')
    expect(scripts.release).toMatch(
      /turbo run build lint:package --filter=\.\/packages\/\* && changeset publish$/,
    )
    expect(scripts['release:dry']).toContain('scripts/release-dry.mjs')
    expect(scripts.test).toContain('turbo run build typecheck lint:package test')
  })

  it('keeps private packages out of every public package’s runtime dependencies', () => {
    for (const pkg of published) {
      for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies'] as const) {
        for (const name of Object.keys(pkg.manifest[field] ?? {})) {
          expect(privateNames, `${pkg.name} ${field} ${name}`).not.toContain(name)
        }
      }
    }
  })
})

describe.each(published.map((pkg) => [pkg.name, pkg] as const))('%s', (name, { dir, manifest }) => {
  const at = (file: string) => join(root, dir, file)
  // What the built code (every chunk, and the declarations) imports from other packages.
  const built = existsSync(at('dist')) ? readdirSync(at('dist'), { recursive: true, encoding: 'utf8' }) : []
  const runtimeImports = [
    ...new Set(
      built
        .filter((file) => /\.(mjs|d\.mts)$/.test(file))
        .flatMap((file) => importedPackages(at(`dist/${file}`))),
    ),
  ].filter((imported) => imported !== name)

  it('has the metadata a registry page needs', () => {
    expect(name).toMatch(/^@sse\/[a-z0-9-]+$/)
    expect(dir).toBe(`packages/${name.slice('@sse/'.length)}`)
    expect(manifest.version).toMatch(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/)
    expect(manifest.description?.length ?? 0).toBeGreaterThan(40)
    expect(manifest.keywords).toEqual(expect.arrayContaining(['sse', 'server-sent-events']))
    expect(manifest.license).toBe('MIT')
    expect(readFileSync(at('LICENSE'), 'utf8')).toMatch(/^MIT License\b[\s\S]*Permission is hereby granted/)
    expect(existsSync(at('README.md')), `${dir}/README.md`).toBe(true)
    expect(manifest.repository).toEqual({
      type: 'git',
      url: expect.stringMatching(/^git\+https:\/\/github\.com\/[^/]+\/[^/]+\.git$/),
      directory: dir,
    })
    const repo = manifest.repository?.url?.replace(/^git\+/, '').replace(/\.git$/, '')
    expect(manifest.homepage).toBe(`${repo}/tree/main/${dir}#readme`)
    expect(manifest.bugs).toEqual({ url: `${repo}/issues` })
    expect(manifest.engines).toEqual(rootManifest.engines)
    expect(manifest.publishConfig?.access).toBe('public')
  })

  it('is ESM-only, side-effect free, with exports that point at built files', () => {
    expect(manifest.type).toBe('module')
    expect(manifest.sideEffects).toBe(false)
    expect(manifest.exports?.['./package.json']).toBe('./package.json')
    for (const [key, entry] of Object.entries(manifest.exports ?? {})) {
      if (key === './package.json') continue
      // The source condition first (first match wins), then types, then the default.
      expect(Object.keys(entry), key).toEqual(['@sse/source', 'types', 'default'])
      const { '@sse/source': source, types, default: main } = entry as Record<string, string>
      expect(source).toMatch(/^\.\/src\/.+\.ts$/)
      expect(types).toMatch(/^\.\/dist\/.+\.d\.mts$/)
      expect(main).toMatch(/^\.\/dist\/.+\.mjs$/)
      for (const file of [source, types, main])
        expect(existsSync(at(file as string)), `${dir}/${file}`).toBe(true)
    }
  })

  it('publishes dist and src only, without tests (the tarball checks catch the rest)', () => {
    expect(manifest.files).toEqual(
      expect.arrayContaining(['dist', 'src', '!src/**/*.test.ts', '!src/**/*.test-d.ts']),
    )
    expect(manifest.files?.filter((entry) => !entry.startsWith('!'))).toEqual(['dist', 'src'])
    if (existsSync(at('src/__snapshots__'))) expect(manifest.files).toContain('!src/**/__snapshots__')
  })

  it('lints its package with publint --strict and attw --pack', () => {
    expect(manifest.scripts?.['lint:package']).toMatch(/publint --strict/)
    expect(manifest.scripts?.['lint:package']).toMatch(/attw --pack/)
  })

  it('declares every package its built code imports, frameworks as peers', () => {
    const declared = { ...manifest.dependencies, ...manifest.peerDependencies }
    expect(runtimeImports.filter((imported) => !(imported in declared))).toEqual([])
    for (const framework of FRAMEWORKS) {
      expect(manifest.dependencies ?? {}, `${framework} is a peer`).not.toHaveProperty(framework)
    }
    const adapterOf = name.slice('@sse/'.length)
    if (FRAMEWORKS.includes(adapterOf)) {
      expect(manifest.peerDependencies).toHaveProperty(adapterOf)
      expect(manifest.peerDependencies?.[adapterOf]).toBe('catalog:peer')
    }
    // Peers are tested: each is also a devDependency (the version the tests run on).
    for (const peer of Object.keys(manifest.peerDependencies ?? {})) {
      expect(manifest.devDependencies, `devDependency on peer ${peer}`).toHaveProperty(peer)
    }
  })

  it('depends on @sse/core as a regular dependency, workspace:^', () => {
    expect(manifest.peerDependencies ?? {}).not.toHaveProperty('@sse/core')
    if (runtimeImports.includes('@sse/core')) expect(manifest.dependencies?.['@sse/core']).toBe('workspace:^')
    for (const field of DEPENDENCY_FIELDS.slice(0, 3)) {
      for (const [dep, range] of Object.entries((manifest as Manifest)[field] ?? {})) {
        if (dep.startsWith('@sse/')) expect(range, `${field}.${dep}`).toBe('workspace:^')
      }
    }
  })
})
