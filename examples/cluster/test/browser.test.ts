/**
 * The page in real Chromium (`playwright-core`, Debian's chromium), through nginx to three
 * instances over one redis-server: two users' tabs show how many watch on every instance, and
 * one disconnects the other with the page's admin form, on every instance.
 */
import { CHROMIUM_ARGS, findChromium, isCI } from '@sse/test-utils'
import { type Browser, chromium, type Page } from 'playwright-core'
import { describe, it } from 'vitest'
import { cleanup, clusterBinariesMissing, startRedisAndCluster } from './harness.ts'

const CHROMIUM = findChromium()
const DEADLINE = 20_000

function chromiumMissing(): boolean {
  if (CHROMIUM) return false
  if (isCI()) throw new Error('chromium is required under CI=true (apt install chromium)')
  console.warn('[cluster example] chromium not found: skipping the browser test (apt install chromium)')
  return true
}

/** Until `#id` on `page` shows `match` (polled: the page updates it from its streams). */
async function shows(page: Page, id: string, match: string | RegExp): Promise<void> {
  const deadline = Date.now() + DEADLINE
  for (;;) {
    const shown = (await page.locator(`#${id}`).textContent({ timeout: DEADLINE })) ?? ''
    if (typeof match === 'string' ? shown === match : match.test(shown)) return
    if (Date.now() > deadline) throw new Error(`#${id} shows ${JSON.stringify(shown)}, not ${String(match)}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

async function tab(browser: Browser, url: string): Promise<Page> {
  // A context each: its own cookie (the user) and storage, as two people's browsers.
  const context = await browser.newContext()
  cleanup(() => context.close())
  const page = await context.newPage()
  await page.goto(url, { timeout: DEADLINE })
  await shows(page, 'state', 'open')
  return page
}

describe.skipIf(clusterBinariesMissing() || chromiumMissing())(
  'the page in Chromium, over the cluster',
  () => {
    it('shows who watches on every instance, live, and disconnects a user everywhere from the admin form', async () => {
      const { cluster } = await startRedisAndCluster()
      const browser = await chromium.launch({
        executablePath: CHROMIUM!,
        headless: true,
        chromiumSandbox: false,
        args: [...CHROMIUM_ARGS],
        timeout: 30_000,
      })
      cleanup(() => browser.close())

      const alice = await tab(browser, `${cluster.url}/?user=alice`)
      const bob = await tab(browser, `${cluster.url}/?user=bob`)
      await shows(alice, 'user', 'alice')
      // Two streams of the page's topic, one per tab, wherever nginx sent each.
      for (const page of [alice, bob]) await shows(page, 'watching', '2')

      await bob.fill('#victim', 'alice')
      await bob.click('#disconnect button')
      // Both of alice's streams (the notifications, and the watching count's), on every instance.
      await shows(bob, 'disconnected', 'closed 2 stream(s) of alice on 3 instance(s)')
      await shows(alice, 'state', /^disconnected by an admin \(on instance [abc]\)$/)
      await shows(bob, 'watching', '1')
      await shows(bob, 'state', 'open')
    })
  },
)
