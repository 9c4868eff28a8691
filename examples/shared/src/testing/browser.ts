/**
 * Real Chromium for the examples' end-to-end tests: Debian's `/usr/bin/chromium` (or one on the
 * PATH) driven by `playwright-core`, which downloads no browser of its own. Where no Chromium is
 * installed the suites skip with a one-line notice; under `CI=true` they fail instead (`.ci/run`
 * installs it with apt).
 */
import { CHROMIUM_ARGS as BASE_ARGS } from '@sse/test-utils'
import { type Browser, chromium } from 'playwright-core'

export { findChromium, isCI } from '@sse/test-utils'

/** What every launch passes (`@sse/test-utils`' quiet headless set), and a certificate made at start. */
export const CHROMIUM_ARGS: readonly string[] = [
  ...BASE_ARGS,
  // The HTTP/2 test serves a self-signed certificate made at start.
  '--ignore-certificate-errors',
]

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
