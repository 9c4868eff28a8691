/**
 * The built bundle in real Chromium: the package is built with its own tsdown config into a
 * temporary folder (one file: the package has no dependency), and a page imports it as a browser
 * app would. The page receives events, the server ends the stream, and
 * the page reconnects with `Last-Event-ID` and a fresh header. A redirect stops the page's client
 * (`SSE_CLIENT_REDIRECT`), since the browser hides where a `redirect: 'manual'` response leads.
 *
 * Debian's `/usr/bin/chromium` is driven by `playwright-core` (which downloads no browser). Where
 * it is missing the test is skipped with a one-line notice; under `CI=true` it fails instead.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createNodeEventStream } from '@sse/core/node'
import { CHROMIUM_ARGS, isCI, pollUntil, withTimeout } from '@sse/test-utils'
import { type BrowserContext, chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRecordingServer } from './helpers.ts'

const CHROMIUM = '/usr/bin/chromium'
const hasChromium = existsSync(CHROMIUM)
const ci = isCI()
if (!hasChromium && !ci) console.warn(`[@sse/client] ${CHROMIUM} not found: the browser test is skipped`)

const packageDir = fileURLToPath(new URL('..', import.meta.url))

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>@sse/client in Chromium</title>
<script type="module">
  import { connect } from '/client/index.mjs'
  const log = (window.log = [])
  let token = 0
  const source = connect('/events', {
    headers: () => ({ 'X-Token': 'token-' + ++token }),
    json: { tick: true },
    reconnect: { initialDelay: 50 },
  })
  source.onOpen(({ attempt, status }) => log.push(['open', attempt, status]))
  source.onReconnecting(({ attempt }) => log.push(['reconnecting', attempt]))
  source.on('tick', ({ data, lastEventId }) => log.push(['tick', data.n, lastEventId]))
  source.onError((error) => log.push(['error', error.code]))
  window.source = source
</script>`

describe('in Chromium', () => {
  // Registered only when it must fail, so a machine with Chromium shows no skipped test.
  if (!hasChromium && ci) {
    it('has Chromium under CI=true', () => {
      throw new Error(
        `${CHROMIUM} is missing; under CI=true the browser test must run: apt-get install chromium`,
      )
    })
  }

  let built: string | undefined
  let context: BrowserContext | undefined
  const cleanups: Array<() => unknown> = []

  beforeAll(async () => {
    if (!hasChromium) return
    const outDir = mkdtempSync(join(tmpdir(), 'sse-client-dist-'))
    cleanups.push(() => rmSync(outDir, { recursive: true, force: true }))
    const { build } = await import('tsdown')
    await withTimeout(
      build({
        config: join(packageDir, 'tsdown.config.ts'),
        cwd: packageDir,
        outDir,
        dts: false,
        sourcemap: false,
        logLevel: 'warn',
      }),
      60_000,
      'building the bundle',
    )
    built = join(outDir, 'index.mjs')
    const userDataDir = mkdtempSync(join(tmpdir(), 'sse-client-chromium-'))
    cleanups.push(() => rmSync(userDataDir, { recursive: true, force: true }))
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      chromiumSandbox: false,
      args: [...CHROMIUM_ARGS],
      timeout: 30_000,
    })
  }, 120_000)

  afterAll(async () => {
    if (context) await withTimeout(context.close(), 10_000, 'closing Chromium')
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  it.skipIf(!hasChromium)(
    'loads the built ESM bundle, receives typed events and reconnects with Last-Event-ID',
    async () => {
      const bundle = readFileSync(built!, 'utf8')
      expect(bundle).not.toMatch(/^\s*(import|export)\b[^;]*\bfrom\b/m) // no dependency to load
      let serverSawClose: Promise<unknown> | undefined
      const server = await startRecordingServer((req, res, index) => {
        const path = req.url ?? '/'
        const file = (type: string, body: string) => res.writeHead(200, { 'Content-Type': type }).end(body)
        if (path === '/') return file('text/html; charset=utf-8', PAGE)
        if (path === '/client/index.mjs') return file('text/javascript', bundle)
        if (path !== '/events') return res.writeHead(404).end()
        const stream = createNodeEventStream(req, res, { heartbeat: false })
        const from = Number(stream.lastEventId ?? 0)
        stream.comment('heartbeat') // never a message
        for (let n = from + 1; n <= from + 3; n++) stream.send({ event: 'tick', data: { n }, id: String(n) })
        if (from === 0)
          stream.close() // the first stream ends: the page must come back
        else serverSawClose = new Promise((resolve) => stream.onClose(resolve))
        return index
      })
      try {
        const page = await context!.newPage()
        const errors: string[] = []
        page.on('pageerror', (error) => errors.push(error.message))
        await page.goto(server.url, { timeout: 10_000 })
        await page.waitForFunction(
          () => (globalThis as unknown as { log: unknown[][] }).log.length >= 9,
          undefined,
          {
            timeout: 10_000,
          },
        )
        const log = await page.evaluate(() => (globalThis as unknown as { log: unknown[][] }).log)
        expect(errors).toEqual([])
        expect(log).toEqual([
          ['open', 0, 200],
          ['tick', 1, '1'],
          ['tick', 2, '2'],
          ['tick', 3, '3'],
          ['reconnecting', 1],
          ['open', 1, 200],
          ['tick', 4, '4'],
          ['tick', 5, '5'],
          ['tick', 6, '6'],
        ])
        const events = server.requests.filter(({ url }) => url === '/events')
        expect(
          events.map(({ headers }) => [headers['last-event-id'], headers['x-token'], headers.accept]),
        ).toEqual([
          [undefined, 'token-1', 'text/event-stream'],
          ['3', 'token-2', 'text/event-stream'],
        ])
        await page.evaluate(() => (globalThis as unknown as { source: { close(): void } }).source.close())
        await pollUntil(() => serverSawClose !== undefined, 5000, 'the second stream')
        await withTimeout(serverSawClose!, 5000, 'the server seeing the page close the stream')
        await page.close()
      } finally {
        await server.close()
      }
    },
  )
  it.skipIf(!hasChromium)(
    'stops on a redirect with SSE_CLIENT_REDIRECT: the browser hides where it leads',
    async () => {
      const bundle = readFileSync(built!, 'utf8')
      const page = `<!doctype html><meta charset="utf-8"><title>redirect</title>
<script type="module">
  import { connect } from '/client/index.mjs'
  const log = (window.log = [])
  const source = connect('/moved', { headers: { 'X-Token': 'secret' } })
  source.onError((error) => log.push(['error', error.code]))
  source.onClose(({ reason }) => log.push(['close', reason]))
</script>`
      const server = await startRecordingServer((req, res) => {
        const file = (type: string, body: string) => res.writeHead(200, { 'Content-Type': type }).end(body)
        if (req.url === '/') return file('text/html; charset=utf-8', page)
        if (req.url === '/client/index.mjs') return file('text/javascript', bundle)
        // Even a redirect within the origin: the page cannot tell it from one to another origin.
        if (req.url === '/moved') return res.writeHead(302, { Location: '/events' }).end()
        if (req.url !== '/events') return res.writeHead(404).end()
        createNodeEventStream(req, res, { heartbeat: false }).send({ data: 'not reached' })
        return undefined
      })
      const tab = await context!.newPage()
      try {
        await tab.goto(server.url, { timeout: 10_000 })
        await tab.waitForFunction(
          () => (globalThis as unknown as { log: unknown[][] }).log.length >= 2,
          undefined,
          { timeout: 10_000 },
        )
        const log = await tab.evaluate(() => (globalThis as unknown as { log: unknown[][] }).log)
        expect(log).toEqual([
          ['error', 'SSE_CLIENT_REDIRECT'],
          ['close', 'error'],
        ])
        expect(server.requests.map(({ url }) => url).filter((url) => url !== '/favicon.ico')).toEqual([
          '/',
          '/client/index.mjs',
          '/moved',
        ])
      } finally {
        await tab.close()
        await server.close()
      }
    },
  )

  it.skipIf(!hasChromium)("runs the README's browser example as written", async () => {
    const bundle = readFileSync(built!, 'utf8')
    // The example has no type annotations: its TypeScript is JavaScript as it stands.
    const example = readFileSync(new URL('./readme/browser.ts', import.meta.url), 'utf8')
    const page = `<!doctype html><meta charset="utf-8"><title>README</title>
<script type="importmap">{ "imports": { "@sse/client": "/client/index.mjs" } }</script>
<script type="module" src="/example.js"></script>`
    const server = await startRecordingServer((req, res) => {
      const file = (type: string, body: string) => res.writeHead(200, { 'Content-Type': type }).end(body)
      if (req.url === '/') return file('text/html; charset=utf-8', page)
      if (req.url === '/client/index.mjs') return file('text/javascript', bundle)
      if (req.url === '/example.js') return file('text/javascript', example)
      if (req.url !== '/events') return res.writeHead(404).end()
      const stream = createNodeEventStream(req, res, { heartbeat: false })
      if (stream.lastEventId === undefined) {
        stream.send({ data: 'hello', id: '1' })
        stream.close()
      } else {
        stream.send({ data: 'again' })
      }
      return undefined
    })
    const tab = await context!.newPage()
    try {
      const lines: string[] = []
      tab.on('console', (message) => message.type() === 'log' && lines.push(message.text()))
      tab.on('pageerror', (error) => lines.push(`pageerror: ${error.message}`))
      await tab.goto(server.url, { timeout: 10_000 })
      await pollUntil(
        () => lines.length >= 5,
        10_000,
        () => `five console lines; got ${JSON.stringify(lines)}`,
      )
      expect(lines).toEqual([
        'open',
        'message hello 1',
        expect.stringMatching(/^reconnecting \(attempt 1\) in \d+ ms$/),
        'open',
        'message again 1',
      ])
    } finally {
      await tab.close()
      await server.close()
    }
  })

  it.skipIf(!hasChromium)(
    "parses tricky streams exactly as Chromium's own EventSource does, chunk boundaries included",
    async () => {
      const bundle = readFileSync(built!, 'utf8')
      const bytes = (...values: number[]) => Buffer.from(values)
      // Each stream is written chunk by chunk, 30 ms apart, then ended.
      const streams: Array<Array<string | Buffer>> = [
        ['data:a\r\r'],
        ['data:a\r', '\ndata:b\r\r', 'data:c\r', '\r'],
        ['data:a\n\r\n\r', '\n', 'data:b\r\n\r\n'],
        ['id:7\n\n', 'data:b\n\n', 'id\n\ndata:c\n\n'],
        ['id:1\n\nid:2\0\ndata:nul\0here\n\n'],
        ['\uFEFF\uFEFFdata:x\n\n', 'data:y\n\n\uFEFFdata:z\n\ndata:\uFEFFw\n\n'],
        [bytes(0xef, 0xbb), bytes(0xbf), 'data:\u00e9', bytes(0xe2, 0x82), bytes(0xac, 0x0a, 0x0a)],
        ['event:e\ndata:  1\nretry:10x\n: comment\nfoo\nbar:baz\ndata\n\n', 'event\ndata:2\n\n'],
        ['data:a\n\nid:9\ndata:cut'],
        ['data:a\n\ndata:b\n'],
      ]
      const page = `<!doctype html><meta charset="utf-8"><title>parsing</title>
<script type="module">
  import { connect } from '/client/index.mjs'
  const row = (event) => [event.type, event.data, event.lastEventId]
  const native = (url) => new Promise((resolve) => {
    const seen = []
    const source = new EventSource(url)
    for (const type of ['message', 'e']) source.addEventListener(type, (event) => seen.push(row(event)))
    source.onerror = () => { source.close(); resolve(seen) } // the end of the stream
  })
  const ours = (url) => new Promise((resolve) => {
    const seen = []
    const source = connect(url, { reconnect: false })
    for (const type of ['message', 'e']) source.on(type, (event) => seen.push(row(event)))
    source.onClose(() => resolve(seen))
  })
  const results = []
  // One stream at a time: a browser allows 6 connections per origin over HTTP/1.1.
  for (let i = 0; i < ${streams.length}; i++) {
    results.push(await Promise.all([native('/stream/' + i + '?native'), ours('/stream/' + i)]))
  }
  window.results = results
</script>`
      const server = await startRecordingServer((req, res) => {
        const file = (type: string, body: string) => res.writeHead(200, { 'Content-Type': type }).end(body)
        if (req.url === '/') return file('text/html; charset=utf-8', page)
        if (req.url === '/client/index.mjs') return file('text/javascript', bundle)
        const match = /^\/stream\/(\d+)/.exec(req.url ?? '')
        const chunks = match ? streams[Number(match[1])] : undefined
        if (!chunks) return res.writeHead(404).end()
        res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' })
        const next = (i: number): void => {
          if (i === chunks.length) return void res.end()
          res.write(chunks[i]!)
          setTimeout(() => next(i + 1), 30)
        }
        next(0)
        return undefined
      })
      const tab = await context!.newPage()
      try {
        await tab.goto(server.url, { timeout: 10_000 })
        await tab.waitForFunction(() => 'results' in globalThis, undefined, { timeout: 20_000 })
        const results = await tab.evaluate(
          () => (globalThis as unknown as { results: [unknown[], unknown[]][] }).results,
        )
        for (const [i, [native, ours]] of results.entries()) {
          expect(ours, `stream ${i}: ${JSON.stringify(streams[i]!.map(String))}`).toEqual(native)
        }
        // Not two empty lists agreeing: the streams have content, as the spec reads it.
        expect(results.map(([native]) => native.length)).toEqual([1, 2, 2, 2, 1, 2, 1, 2, 1, 1])
        expect(results[3]![0]).toEqual([
          ['message', 'b', '7'],
          ['message', 'c', ''],
        ])
      } finally {
        await tab.close()
        await server.close()
      }
    },
  )
})
