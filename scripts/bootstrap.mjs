// Installs the workspace when it has not been installed yet (or the lockfile changed since),
// using the pinned pnpm: the root devDependency once present, `npx pnpm@<pin>` on a fresh clone.
// `npm test` and `npm start` run this first, so a fresh clone needs only node and npm.
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const pin = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager.split('@')[1]
const marker = join(root, 'node_modules', '.modules.yaml')
const lockfile = join(root, 'pnpm-lock.yaml')

const installed =
  existsSync(marker) && (!existsSync(lockfile) || statSync(lockfile).mtimeMs <= statSync(marker).mtimeMs)
if (!installed) {
  const localPnpm = join(root, 'node_modules', '.bin', 'pnpm')
  const [cmd, args] = existsSync(localPnpm) ? [localPnpm, []] : ['npx', ['-y', `pnpm@${pin}`]]
  const frozen = process.env.CI ? ['--frozen-lockfile'] : []
  console.log(`> installing the workspace with pnpm ${pin}`)
  execFileSync(cmd, [...args, 'install', ...frozen], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
  })
}
