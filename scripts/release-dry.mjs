// `npm run release:dry`: what `npm run version-packages` + `npm run release` would publish, without
// registry credentials and without touching this checkout. It builds and lints the packages here
// (as `release` does), copies the working tree (tracked and untracked files, built `dist/`, no
// `.git` and no `node_modules`) to a temporary directory, links it offline from the pnpm store, runs
// `npm run version-packages` there (changesets bump every public @sse/* package together and write
// their CHANGELOG.md), packs every public workspace package with `pnpm pack` (which rewrites
// `workspace:` and `catalog:` ranges to real versions) and prints the tarballs and their sizes.
// The temporary directory is removed at the end; this checkout, its git state and its lockfile are
// never written to (beyond the build's own `dist/` and turbo cache).
//
//   --skip-build   the packages are already built (packages/package-tests runs it this way)
//   --out DIR      keep the tarballs in DIR (otherwise they are removed with the copy)
//   --json FILE    also write a machine-readable report (packages, versions, tarballs, files)
import { spawnSync } from 'node:child_process'
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gunzipSync } from 'node:zlib'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const DEPENDENCY_FIELDS = ['dependencies', 'peerDependencies', 'optionalDependencies', 'devDependencies']
// Never copied into the throwaway tree: VCS state, installs, caches and what .gitignore ignores,
// except `dist` (the build being released).
const SKIPPED = new Set([
  '.git',
  'node_modules',
  '.turbo',
  'coverage',
  'test-results.json',
  '.profiles',
  '.DS_Store',
])
const SKIPPED_SUFFIXES = ['.tgz', '.log', '.cpuprofile']

const args = process.argv.slice(2)
const flag = (name) => args.includes(name)
const option = (name) => {
  const at = args.indexOf(name)
  if (at === -1) return undefined
  const value = args[at + 1]
  if (value === undefined || value.startsWith('--')) fail(`${name} needs a value`)
  return resolve(value)
}
const known = new Set(['--skip-build', '--out', '--json'])
for (const [i, arg] of args.entries()) {
  if (arg.startsWith('--') && !known.has(arg)) fail(`unknown option ${arg}`)
  if (!arg.startsWith('--') && !['--out', '--json'].includes(args[i - 1] ?? ''))
    fail(`unexpected argument ${arg}`)
}

const outDir = option('--out')
const reportFile = option('--json')

function fail(message) {
  console.error(`release:dry: ${message}`)
  process.exit(1)
}

const env = {
  ...process.env,
  PATH: `${join(root, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`,
  TURBO_TELEMETRY_DISABLED: '1',
}

/** Runs a command; returns its stdout. Its output is shown only when it fails (or with `show`). */
function run(cmd, cmdArgs, { cwd = root, show = false } = {}) {
  const result = spawnSync(cmd, cmdArgs, {
    cwd,
    env,
    encoding: 'utf8',
    stdio: show ? 'inherit' : 'pipe',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 10 * 60_000,
  })
  if (result.error) throw new Error(`${cmd} ${cmdArgs.join(' ')}: ${result.error.message}`)
  if (result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim()
    throw new Error(`\`${cmd} ${cmdArgs.join(' ')}\` failed (exit ${result.status}) in ${cwd}\n${output}`)
  }
  return result.stdout ?? ''
}

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'))

/** Every workspace package (not the root), as pnpm sees the workspace. */
function workspacePackages(dir) {
  const listed = JSON.parse(run('pnpm', ['ls', '--recursive', '--depth', '-1', '--json'], { cwd: dir }))
  return listed
    .filter((pkg) => resolve(pkg.path) !== resolve(dir))
    .map((pkg) => ({ name: pkg.name, dir: relative(dir, pkg.path), private: pkg.private === true }))
    .sort((a, b) => a.name.localeCompare(b.name))
}

/** The files of a .tgz (regular files only), keyed by their path inside `package/`. */
function readTarball(file) {
  const data = gunzipSync(readFileSync(file))
  const files = new Map()
  let longName
  for (let at = 0; at + 512 <= data.length; ) {
    const header = data.subarray(at, at + 512)
    if (header.every((byte) => byte === 0)) break
    const text = (from, to) => header.toString('utf8', from, to).replace(/\0.*$/s, '')
    const size = Number.parseInt(text(124, 136).trim() || '0', 8)
    const type = text(156, 157) || '0'
    const body = data.subarray(at + 512, at + 512 + size)
    const prefix = text(345, 500)
    let name = longName ?? (prefix ? `${prefix}/${text(0, 100)}` : text(0, 100))
    longName = undefined
    if (type === 'x') {
      const path = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(body.toString('utf8'))
      if (path) longName = path[1]
    } else if (type === 'L') {
      longName = body.toString('utf8').replace(/\0.*$/s, '')
    } else if (type === '0' || type === '7') {
      name = name.replace(/^[^/]+\//, '')
      files.set(name, Buffer.from(body))
    }
    at += 512 + Math.ceil(size / 512) * 512
  }
  return files
}

/** `workspace:` / `catalog:` ranges left in a packed manifest: each would break `npm install`. */
function unresolvedRanges(manifest) {
  const found = []
  for (const field of DEPENDENCY_FIELDS) {
    for (const [name, range] of Object.entries(manifest[field] ?? {})) {
      if (/^(workspace|catalog):/.test(String(range))) found.push(`${field}.${name}: ${range}`)
    }
  }
  return found
}

const formatSize = (bytes) => (bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} kB`)

function main() {
  if (!flag('--skip-build')) {
    console.log(
      '> building and linting the packages (turbo run build lint:package), as `npm run release` does',
    )
    run('turbo', ['run', 'build', 'lint:package', '--filter=./packages/*', '--output-logs=errors-only'], {
      show: true,
    })
  }
  const before = workspacePackages(root)
  const publicPackages = before.filter((pkg) => !pkg.private)
  if (publicPackages.length === 0) fail('no public workspace package found')
  for (const pkg of publicPackages) {
    const manifest = readJson(join(root, pkg.dir, 'package.json'))
    for (const target of exportTargets(manifest.exports)) {
      if (!target.startsWith('./src/') && !existsSync(join(root, pkg.dir, target)))
        fail(`${pkg.name} is not built: ${join(pkg.dir, target)} is missing (run \`npm run build\`)`)
    }
    pkg.from = manifest.version
  }
  for (const pkg of before.filter((p) => p.private))
    pkg.from = readJson(join(root, pkg.dir, 'package.json')).version

  const temp = mkdtempSync(join(tmpdir(), 'sse-release-dry-'))
  const cleanup = () => rmSync(temp, { recursive: true, force: true })
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      cleanup()
      process.exit(130)
    })
  }
  try {
    const copy = join(temp, 'repo')
    copyTree(root, copy)
    console.log(`> versioning a throwaway copy of the working tree (${copy})`)
    try {
      run('pnpm', ['install', '--offline', '--frozen-lockfile', '--ignore-scripts', '--reporter=silent'], {
        cwd: copy,
      })
    } catch {
      // The lockfile here is behind package.json (a dependency being added): resolve in the copy.
      run(
        'pnpm',
        ['install', '--prefer-offline', '--no-frozen-lockfile', '--ignore-scripts', '--reporter=silent'],
        {
          cwd: copy,
        },
      )
    }
    const pending = changesetFiles(copy)
    const lockfile = () =>
      existsSync(join(copy, 'pnpm-lock.yaml')) ? readFileSync(join(copy, 'pnpm-lock.yaml'), 'utf8') : ''
    const lockBefore = lockfile()
    const versionOutput = run('npm', ['run', '--silent', 'version-packages'], { cwd: copy })
    for (const line of versionOutput.trim().split('\n').filter(Boolean)) console.log(`  ${line}`)
    console.log(
      `  pnpm install --lockfile-only: lockfile ${lockfile() === lockBefore ? 'unchanged' : 'updated'}`,
    )
    if (changesetFiles(copy).length > 0) throw new Error('changeset version left changesets behind')

    const problems = []
    for (const pkg of before) {
      const manifest = readJson(join(copy, pkg.dir, 'package.json'))
      pkg.to = manifest.version
      if (pkg.private && pkg.to !== pkg.from)
        problems.push(`private ${pkg.name} was versioned (${pkg.from} → ${pkg.to})`)
      if (!pkg.private && pkg.to !== pkg.from && !existsSync(join(copy, pkg.dir, 'CHANGELOG.md')))
        problems.push(`${pkg.name} was versioned without a CHANGELOG.md`)
    }
    const versions = new Set(publicPackages.map((pkg) => pkg.to))
    if (versions.size > 1)
      problems.push(
        `public packages are not versioned together: ${publicPackages.map((p) => `${p.name}@${p.to}`).join(', ')}`,
      )

    const out = outDir ?? join(temp, 'tarballs')
    mkdirSync(out, { recursive: true })
    console.log(`> packing ${publicPackages.length} public packages with pnpm pack`)
    for (const pkg of publicPackages) {
      const packed = JSON.parse(
        run('pnpm', ['pack', '--pack-destination', out, '--json'], { cwd: join(copy, pkg.dir) }),
      )
      pkg.tarball = packed.filename
      pkg.size = statSync(packed.filename).size
      const files = readTarball(packed.filename)
      pkg.files = [...files.keys()].sort()
      pkg.unpackedSize = [...files.values()].reduce((sum, body) => sum + body.length, 0)
      const manifest = JSON.parse(files.get('package.json').toString('utf8'))
      pkg.manifest = manifest
      for (const range of unresolvedRanges(manifest))
        problems.push(`${pkg.name}: ${range} left in the tarball`)
      if (manifest.version !== pkg.to)
        problems.push(`${pkg.name}: tarball has version ${manifest.version}, not ${pkg.to}`)
    }

    const width = Math.max(...publicPackages.map((pkg) => pkg.name.length))
    const tgzWidth = Math.max(...publicPackages.map((pkg) => basename(pkg.tarball).length))
    console.log('')
    console.log(`release dry run: ${pending.length} changeset(s) → version ${[...versions].join(', ')}`)
    for (const pkg of publicPackages) {
      console.log(
        `  ${pkg.name.padEnd(width)}  ${pkg.from} → ${pkg.to}  ${basename(pkg.tarball).padEnd(tgzWidth)}  ` +
          `${formatSize(pkg.size).padStart(8)}  (${pkg.files.length} files, ${formatSize(pkg.unpackedSize)} unpacked)`,
      )
    }
    const privateNames = before.filter((pkg) => pkg.private).map((pkg) => pkg.name)
    console.log(`  not published (private, not versioned): ${privateNames.join(', ')}`)
    console.log(
      outDir ? `  tarballs kept in ${out}` : '  (tarballs removed with the copy; --out DIR keeps them)',
    )

    if (reportFile) {
      const packages = before.map(
        ({ name, dir, private: isPrivate, from, to, tarball, size, files, manifest }) => ({
          name,
          dir,
          private: isPrivate,
          from,
          to,
          ...(isPrivate ? {} : { tarball, size, files, manifest }),
        }),
      )
      writeFileSync(reportFile, `${JSON.stringify({ changesets: pending, packages, problems }, null, 2)}\n`)
    }
    if (problems.length > 0) {
      for (const problem of problems) console.error(`! ${problem}`)
      process.exitCode = 1
    }
  } finally {
    cleanup()
  }
}

/**
 * Copies the working tree. Others may be editing or testing in it meanwhile: a file that vanishes
 * between listing and copying (a test's temporary file) is skipped, not an error.
 */
function copyTree(from, to) {
  mkdirSync(to, { recursive: true })
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    if (SKIPPED.has(entry.name) || SKIPPED_SUFFIXES.some((suffix) => entry.name.endsWith(suffix))) continue
    const source = join(from, entry.name)
    const target = join(to, entry.name)
    try {
      if (entry.isDirectory()) copyTree(source, target)
      else if (entry.isSymbolicLink()) symlinkSync(readlinkSync(source), target)
      else if (entry.isFile()) copyFileSync(source, target)
    } catch (error) {
      if (error?.code !== 'ENOENT') throw error
    }
  }
}

function changesetFiles(dir) {
  return readdirSync(join(dir, '.changeset')).filter((name) => name.endsWith('.md') && name !== 'README.md')
}

function exportTargets(exports) {
  if (typeof exports === 'string') return [exports]
  if (exports === null || typeof exports !== 'object') return []
  return Object.values(exports).flatMap(exportTargets)
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main()
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error))
  }
}
