/** The workspace as pnpm sees it, so a new public package is checked without being named here. */
import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const root: string = resolve(fileURLToPath(new URL('../../..', import.meta.url)))
export const pnpm: string = join(root, 'node_modules', '.bin', 'pnpm')

export interface Manifest {
  name: string
  version: string
  private?: boolean
  description?: string
  keywords?: string[]
  license?: string
  repository?: { type?: string; url?: string; directory?: string }
  homepage?: string
  bugs?: { url?: string }
  engines?: Record<string, string>
  type?: string
  sideEffects?: boolean
  exports?: Record<string, string | Record<string, string>>
  files?: string[]
  publishConfig?: Record<string, unknown>
  scripts?: Record<string, string>
  dependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
  peerDependenciesMeta?: Record<string, { optional?: boolean }>
  optionalDependencies?: Record<string, string>
  devDependencies?: Record<string, string>
}

export interface WorkspacePackage {
  name: string
  /** Relative to the root, e.g. `packages/core`. */
  dir: string
  manifest: Manifest
}

export const DEPENDENCY_FIELDS = [
  'dependencies',
  'peerDependencies',
  'optionalDependencies',
  'devDependencies',
] as const

export function readJson<T = Manifest>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T
}

/** `promise`, or a rejection naming `label` once `ms` pass. */
export function within<T>(promise: Promise<T>, ms: number, label: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label}: no answer within ${ms} ms`)), ms)
  })
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer))
}

/** Runs a command with a deadline; rejects with its output when it overruns or (unless allowed) fails. */
export function run(
  cmd: string,
  args: readonly string[],
  options: { cwd: string; timeoutMs: number; env?: NodeJS.ProcessEnv; allowFailure?: boolean },
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      cmd,
      args,
      {
        cwd: options.cwd,
        env: options.env ?? process.env,
        timeout: options.timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        if (error && !(options.allowFailure && !error.killed && typeof error.code === 'number')) {
          const why = error.killed
            ? `did not finish within ${options.timeoutMs} ms`
            : `failed (${error.code})`
          reject(new Error(`\`${cmd} ${args.join(' ')}\` ${why} in ${options.cwd}\n${stdout}\n${stderr}`))
        } else {
          resolvePromise({ stdout, stderr })
        }
      },
    )
  })
}

/** Every workspace package but the root, sorted by name. */
export async function workspacePackages(): Promise<WorkspacePackage[]> {
  const { stdout } = await run(pnpm, ['ls', '--recursive', '--depth', '-1', '--json'], {
    cwd: root,
    timeoutMs: 30_000,
  })
  const listed = JSON.parse(stdout) as { name: string; path: string }[]
  return listed
    .filter((pkg) => resolve(pkg.path) !== root)
    .map((pkg) => ({
      name: pkg.name,
      dir: relative(root, pkg.path),
      manifest: readJson(join(pkg.path, 'package.json')),
    }))
    .sort((a, b) => a.name.localeCompare(b.name))
}

export async function publicPackages(): Promise<WorkspacePackage[]> {
  return (await workspacePackages()).filter((pkg) => pkg.manifest.private !== true)
}

/** Every export entry of a manifest as an import specifier (`@sse/core`, `@sse/core/node`, …). */
export function entrySpecifiers(manifest: Manifest): string[] {
  return Object.keys(manifest.exports ?? {})
    .filter((key) => key !== './package.json')
    .map((key) => (key === '.' ? manifest.name : `${manifest.name}/${key.slice(2)}`))
}

/** Every file an `exports` map points at, across all conditions. */
export function exportTargets(manifest: Manifest): string[] {
  const walk = (value: unknown): string[] =>
    typeof value === 'string'
      ? [value]
      : value !== null && typeof value === 'object'
        ? Object.values(value).flatMap(walk)
        : []
  return walk(manifest.exports)
}

/** Bare specifiers imported by a built file (`import … from 'x'`, `export … from 'x'`, `import('x')`). */
export function importedPackages(file: string): string[] {
  if (!existsSync(file)) return []
  // Without comments: JSDoc examples in .d.mts files import things the package does not.
  const source = readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '')
  const found = new Set<string>()
  for (const match of source.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)["']([^"'./][^"']*)["']/g)) {
    const specifier = match[1] as string
    if (specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0] as string)) continue
    const parts = specifier.split('/')
    found.add(specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string))
  }
  return [...found].sort()
}
