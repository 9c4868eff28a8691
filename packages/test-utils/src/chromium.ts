/**
 * Real Chromium for end-to-end tests: Debian's `/usr/bin/chromium` (or one on the PATH), driven
 * by `playwright-core`, which downloads no browser of its own. Where no Chromium is installed the
 * suites skip with a one-line notice; under `CI=true` they fail instead (`.ci/run` installs it).
 */
import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'

/** What every launch passes: quiet, headless, no sandbox (containers), no QUIC, nothing fetched in the background. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

const CANDIDATES = ['chromium', 'chromium-browser', 'google-chrome-stable', 'google-chrome']

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** The Chromium to drive: `/usr/bin/chromium` first, then the PATH; `undefined` when there is none. */
export function findChromium(): string | undefined {
  if (isExecutable('/usr/bin/chromium')) return '/usr/bin/chromium'
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    for (const name of CANDIDATES) {
      const path = join(dir, name)
      if (isExecutable(path)) return path
    }
  }
  return undefined
}

/** Whether this run is CI's (`CI` set, and not `0` or `false`), where a missing binary fails rather than skips. */
export function isCI(): boolean {
  const value = process.env.CI
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false'
}
