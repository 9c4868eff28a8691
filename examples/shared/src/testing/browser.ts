/**
 * Real Chromium for the examples' end-to-end tests: Debian's `/usr/bin/chromium` (or one on the
 * PATH) driven by `playwright-core`, which downloads no browser of its own. Where no Chromium is
 * installed the suites skip with a one-line notice; under `CI=true` they fail instead (`.ci/run`
 * installs it with apt).
 */
import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'
import { type Browser, chromium } from 'playwright-core'

/** What every launch passes: quiet, headless, no sandbox (containers), no QUIC, nothing fetched in the background. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // The HTTP/2 test serves a self-signed certificate made at start.
  '--ignore-certificate-errors',
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

/** Whether this run is CI's, where a missing binary fails rather than skips. */
export function isCI(): boolean {
  const value = process.env.CI
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false'
}

/**
 * Launches headless Chromium with a fresh temporary profile (playwright makes one per launch
 * and removes it on close).
 */
export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({
    executablePath,
    headless: true,
    chromiumSandbox: false,
    args: [...CHROMIUM_ARGS],
    timeout: 30_000,
  })
}
