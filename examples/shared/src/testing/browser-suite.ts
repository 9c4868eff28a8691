/**
 * The examples' end-to-end tests in real Chromium: the page a person would open, with the
 * browser's own `EventSource`, against the example's real server on a real port.
 *
 * One browser per test file, launched once and shared; each test opens its own context (its own
 * connections and cache) and closes it, with its pages and servers, when done. Every wait is a
 * `waitFor`/`waitForFunction` with a deadline; nothing is timed.
 *
 * The restart test keeps the history across a restart the way a deployment would with
 * `@sse/redis`: the hub's broker outlives the server. The first server shuts down as in
 * production (`hub.close()`: a last event, a `retry:`, every stream ends); while nothing listens,
 * notifications are published into the same broker through the next instance's hub; then that
 * instance listens on the same port. The page reconnects by itself with `Last-Event-ID` and must
 * show the missed notifications exactly once each, in order: a live notification sent after
 * them proves nothing more was on its way.
 */
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryBroker } from '@sse/core'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { loadCertificate } from '../certificate.ts'
import { createDemo, type Demo } from '../demo.ts'
import type { RunningServer } from '../listen-gracefully.ts'
import type { Topic } from '../notification.ts'
import { findChromium, isCI, launchChromium } from './browser.ts'
import { type ExampleUnderTest, WAIT_MS } from './example.ts'

export interface BrowserSuiteOptions extends ExampleUnderTest {
  /**
   * Where the page's screenshot goes when `UPDATE_SCREENSHOT=1` (the root README shows it).
   * It is taken on every run; without the variable it is only checked and thrown away.
   */
  readonly screenshot?: string | undefined
  /** Open 8 pages on one origin over HTTPS with HTTP/2, past the 6-connection limit of HTTP/1.1. */
  readonly manyPagesOverHttp2?: boolean | undefined
}

type StreamName = 'events' | 'clock'
type StreamState = 'connecting' | 'open' | 'reconnecting' | 'closed'

interface FeedItem {
  readonly id: string
  readonly topic: string
  readonly text: string
}

/** What the page shows, for failure messages. */
async function describePage(page: Page): Promise<string> {
  try {
    return await page.evaluate(() => {
      const text = (id: string) => document.getElementById(id)?.textContent ?? '?'
      const log = [...document.querySelectorAll('#log li')].slice(0, 8).map((item) => item.textContent)
      const feed = [...document.querySelectorAll('#feed .note .text')].map((item) => item.textContent)
      return JSON.stringify({
        events: text('events-state'),
        clock: text('clock-state'),
        lastEventId: text('last-event-id'),
        feed: feed.reverse(),
        log,
      })
    })
  } catch (error) {
    return `(the page could not be read: ${(error as Error).message})`
  }
}

async function withPageState<T>(page: Page, label: string, wait: Promise<T>): Promise<T> {
  try {
    return await wait
  } catch (error) {
    throw new Error(`${label}: ${(error as Error).message.split('\n')[0]}\npage: ${await describePage(page)}`)
  }
}

function waitForState(page: Page, stream: StreamName, state: StreamState): Promise<void> {
  return withPageState(
    page,
    `waiting for ${stream} to be ${state}`,
    page.locator(`#${stream}-state[data-state="${state}"]`).waitFor({ timeout: WAIT_MS }),
  )
}

function readFeed(page: Page): Promise<FeedItem[]> {
  return page.$$eval('#feed .note', (items) =>
    items
      .map((item) => ({
        id: (item as HTMLElement).dataset.id ?? '',
        topic: (item as HTMLElement).dataset.topic ?? '',
        text: item.querySelector('.text')?.textContent ?? '',
      }))
      .reverse(),
  )
}

/** Waits until the feed, oldest first, holds exactly `texts`. */
async function waitForFeed(page: Page, texts: readonly string[]): Promise<FeedItem[]> {
  await withPageState(
    page,
    `waiting for the feed to be ${JSON.stringify(texts)}`,
    page.waitForFunction(
      (expected) => {
        const shown = [...document.querySelectorAll('#feed .note .text')]
          .map((item) => item.textContent)
          .reverse()
        return JSON.stringify(shown) === JSON.stringify(expected)
      },
      texts,
      { timeout: WAIT_MS },
    ),
  )
  return readFeed(page)
}

/** Sends a notification with the page's form, as a person would; resolves with its id. */
async function sendFromPage(page: Page, topic: Topic, text: string): Promise<string> {
  await page.selectOption('#topic', topic)
  await page.fill('#text', text)
  await page.click('#notify-form button[type="submit"]')
  const status = page.locator('#form-status', { hasText: 'sent as' })
  await withPageState(page, 'waiting for the form to say "sent as"', status.waitFor({ timeout: WAIT_MS }))
  return ((await status.textContent()) ?? '').replace('sent as ', '')
}

/** Registers the browser suite of one example. */
export function describeExampleInBrowser(options: BrowserSuiteOptions): void {
  const { framework, start } = options
  const title = `${framework} example in Chromium`
  const executable = findChromium()
  if (!executable) {
    if (isCI()) {
      describe(title, () => {
        it('finds Chromium', () => {
          throw new Error(
            'Chromium is not installed (CI=true fails rather than skips): apt-get install chromium',
          )
        })
      })
      return
    }
    console.log(`[skip] ${title}: Chromium is not installed (apt-get install chromium)`)
  }

  ;(executable ? describe : describe.skip)(title, () => {
    let browser: Browser
    const cleanups: Array<() => Promise<unknown>> = []

    beforeAll(async () => {
      browser = await launchChromium(executable!)
    })
    afterAll(async () => {
      await browser?.close()
    })
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
    })

    async function serve(demo: Demo, port = 0, tls?: Awaited<ReturnType<typeof loadCertificate>>) {
      const server: RunningServer = await start({ port, host: '127.0.0.1', demo, tls })
      cleanups.push(() => server.close())
      return server
    }

    async function newContext(): Promise<BrowserContext> {
      const context = await browser.newContext({
        viewport: { width: 1200, height: 900 },
        ignoreHTTPSErrors: true,
        locale: 'en-GB',
        timezoneId: 'UTC',
      })
      cleanups.push(() => context.close())
      return context
    }

    /** Opens the page and waits until both of its streams are open. */
    async function openPage(context: BrowserContext, url: string): Promise<Page> {
      const page = await context.newPage()
      await page.goto(`${url}/`, { timeout: WAIT_MS })
      await waitForState(page, 'events', 'open')
      await waitForState(page, 'clock', 'open')
      return page
    }

    it('reaches "open" and shows the server clock advancing', async () => {
      const server = await serve(createDemo({ framework }))
      const page = await openPage(await newContext(), server.url)
      await withPageState(
        page,
        'waiting for the framework name',
        page.locator('#framework', { hasText: framework }).waitFor({ timeout: WAIT_MS }),
      )
      const first = await withPageState(
        page,
        'waiting for a first tick',
        page
          .waitForFunction(() => document.getElementById('clock')?.dataset.time || false, undefined, {
            timeout: WAIT_MS,
          })
          .then((handle) => handle.jsonValue() as Promise<string>),
      )
      await withPageState(
        page,
        'waiting for the clock to advance',
        page.waitForFunction((time) => (document.getElementById('clock')?.dataset.time ?? '') > time, first, {
          timeout: WAIT_MS,
        }),
      )
      expect(await page.textContent('#clock')).toMatch(/^\d\d:\d\d:\d\d$/)
      expect(await page.textContent('#events-reconnects')).toBe('0')
    })

    it('shows on page B a notification sent from the form of page A', async () => {
      const server = await serve(createDemo({ framework }))
      const context = await newContext()
      const a = await openPage(context, server.url)
      const b = await openPage(context, server.url)
      const id = await sendFromPage(a, 'alerts', 'The build is green again')
      const [shown] = await waitForFeed(b, ['The build is green again'])
      expect(shown).toEqual({ id, topic: 'alerts', text: 'The build is green again' })
      await waitForFeed(a, ['The build is green again'])
      expect(await b.textContent('#last-event-id')).toBe(id)
    })

    it('after a restart, reconnects by itself and shows what it missed, exactly once each, in order', async () => {
      const broker = new MemoryBroker()
      const first = await serve(createDemo({ framework, broker }))
      const page = await openPage(await newContext(), first.url)
      await sendFromPage(page, 'news', 'before the restart')
      await waitForFeed(page, ['before the restart'])

      await first.close()
      await waitForState(page, 'events', 'reconnecting')

      // Nothing listens now: whatever is published cannot reach the page live.
      const missed = ['missed one', 'missed two', 'missed three']
      const next = createDemo({ framework, broker })
      for (const [index, text] of missed.entries()) {
        expect((await next.notify({ topic: index === 1 ? 'alerts' : 'news', text })).status).toBe(201)
      }
      const second = await serve(next, first.port)
      expect(second.url).toBe(first.url)

      await waitForState(page, 'events', 'open')
      await waitForFeed(page, ['before the restart', ...missed])
      await next.notify({ topic: 'news', text: 'live after the replay' })
      const feed = await waitForFeed(page, ['before the restart', ...missed, 'live after the replay'])
      expect(new Set(feed.map((item) => item.id)).size).toBe(feed.length)
      expect(await page.textContent('#events-reconnects')).toBe('1')
      expect(await page.locator('#log li[data-kind="reset"]').count()).toBe(0)
      expect(await page.locator('#log li[data-kind="shutdown"]').count()).toBeGreaterThan(0)
    })

    it('says so in its log when a restarted server cannot resume its history (sse-reset)', async () => {
      const first = await serve(createDemo({ framework }))
      const page = await openPage(await newContext(), first.url)
      await sendFromPage(page, 'news', 'from the first instance')
      await first.close()
      await waitForState(page, 'events', 'reconnecting')
      await serve(createDemo({ framework }), first.port) // a new history: the page's id is from another epoch
      await withPageState(
        page,
        'waiting for the sse-reset line in the log',
        page.locator('#log li[data-kind="reset"]', { hasText: 'epoch' }).waitFor({ timeout: WAIT_MS }),
      )
      await waitForState(page, 'events', 'open')
      expect(await page.locator('#feed .divider').count()).toBe(1)
    })

    it('renders a multi-line notification with emoji, CJK and right-to-left text exactly as sent', async () => {
      const server = await serve(createDemo({ framework }))
      const context = await newContext()
      const a = await openPage(context, server.url)
      const b = await openPage(context, server.url)
      const text = [
        'Release 2.0 is out 🎉👩🏽‍💻',
        '第二行：你好，世界',
        'שלום עולם — مرحبا بالعالم',
        '',
        '    indented after an empty line, and a trailing space ',
      ].join('\n')
      await sendFromPage(a, 'news', text)
      const [shown] = await waitForFeed(b, [text])
      expect(shown!.text).toBe(text)
      const rendered = b.locator('#feed .note .text').first()
      expect(await rendered.evaluate((element) => getComputedStyle(element).whiteSpace)).toBe('pre-wrap')
      expect(await rendered.getAttribute('dir')).toBe('auto')
      // The text as laid out on screen, not only in the DOM: line breaks and spaces kept.
      // biome-ignore lint/performance/useDomNodeTextContent: rendering is what this checks.
      expect(await rendered.evaluate((element) => (element as HTMLElement).innerText)).toBe(text)
    })

    if (options.screenshot) {
      const target = options.screenshot
      it('takes the screenshot of the page the README shows', async () => {
        const server = await serve(createDemo({ framework }))
        const context = await newContext()
        const page = await openPage(context, server.url)
        const other = await openPage(context, server.url)
        await sendFromPage(other, 'news', 'Deploy finished: v2.4.1 is live on every instance')
        await sendFromPage(other, 'alerts', 'Disk usage on db-1 is above 90%')
        await sendFromPage(other, 'news', 'Hello from another tab 👋\n你好 · שלום · مرحبا')
        await waitForFeed(page, [
          'Deploy finished: v2.4.1 is live on every instance',
          'Disk usage on db-1 is above 90%',
          'Hello from another tab 👋\n你好 · שלום · مرحبا',
        ])
        await page.fill('#text', 'Ship it!')
        const dir = await mkdtemp(join(tmpdir(), 'sse-screenshot-'))
        cleanups.push(() => rm(dir, { recursive: true, force: true }))
        const path = join(dir, 'page.png')
        await page.screenshot({ path, fullPage: true, timeout: WAIT_MS })
        const png = await readFile(path)
        expect(png.subarray(1, 4).toString('latin1')).toBe('PNG')
        if (process.env.UPDATE_SCREENSHOT === '1') await copyFile(path, target)
      })
    }

    if (options.manyPagesOverHttp2) {
      it('keeps 8 pages of one origin live over HTTP/2, past the 6 connections of HTTP/1.1', async () => {
        const tls = await loadCertificate()
        const demo = createDemo({ framework })
        const server = await serve(demo, 0, tls)
        expect(server.url).toMatch(/^https:/)
        const context = await newContext()
        const pages: Page[] = []
        // 8 pages, 16 event streams: over HTTP/1.1 a browser would leave all but 6 waiting.
        for (let index = 0; index < 8; index++) pages.push(await openPage(context, server.url))
        for (const page of pages) {
          const protocol = await page.evaluate(
            () =>
              (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).nextHopProtocol,
          )
          expect(protocol).toBe('h2')
        }
        expect(demo.hub.size).toBe(8)
        await sendFromPage(pages[0]!, 'news', 'to all eight pages')
        for (const page of pages) await waitForFeed(page, ['to all eight pages'])
      }, 60_000)
    }
  })
}
