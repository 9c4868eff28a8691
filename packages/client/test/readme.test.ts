/**
 * The README's examples, run as written: each `ts` block of the README is a file in
 * `test/readme/`, byte for byte. The Node examples run here against real servers; the one change
 * is the address: `fetch` is wrapped so `http://localhost:3000` goes to the test server on port 0.
 * The browser example runs in Chromium (`browser.test.ts`).
 */
import { createHub, type Hub } from '@sse/core'
import { createNodeEventStream } from '@sse/core/node'
import { pollUntil, useReadmeExamples, withTimeout } from '@sse/test-utils'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { DEADLINE_MS, startRecordingServer } from './helpers.ts'

// Registered first, so it runs after the harness has closed what the test opened.
afterEach(() => {
  vi.unstubAllGlobals()
  vi.unstubAllEnvs()
  vi.restoreAllMocks()
})
const readme = useReadmeExamples(import.meta.url)

/** Sends the example's `http://localhost:3000` to `base`, and makes every backoff 0 ms (random() = 0). */
function redirectTo(base: string): void {
  const realFetch = globalThis.fetch
  vi.stubGlobal('fetch', (url: string, init?: RequestInit) =>
    realFetch(String(url).replace('http://localhost:3000', base), init),
  )
  vi.spyOn(Math, 'random').mockReturnValue(0)
}

function consoleLines(method: 'log' | 'error'): string[] {
  const lines: string[] = []
  vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
    lines.push(args.map(String).join(' '))
  })
  return lines
}

readme.describeTheReadme(['browser.ts', 'dashboard.ts', 'node.ts'])

describe('README examples', () => {
  it('node.ts: typed events with a bearer token in a for await loop, until the server answers 204', async () => {
    const server = await startRecordingServer((req, res, index) => {
      if (index > 0) return res.writeHead(204).end() // the feed is over: stop for good
      const stream = createNodeEventStream(req, res, { heartbeat: false })
      stream.comment('heartbeat')
      stream.send({ event: 'tick', data: '12:00', id: '1' })
      stream.send({ event: 'price', data: { symbol: 'ACME', price: 12.5 }, id: '2' })
      stream.close()
      return undefined
    })
    readme.defer(() => server.close())
    redirectTo(server.url)
    vi.stubEnv('API_TOKEN', 'secret')
    const log = consoleLines('log')
    await withTimeout(import('./readme/node.ts'), DEADLINE_MS, () => `node.ts to finish; it logged ${log}`)
    expect(log).toEqual(['tick 12:00', 'ACME 12.5', 'done'])
    expect(server.requests.map(({ headers }) => [headers.authorization, headers['last-event-id']])).toEqual([
      ['Bearer secret', undefined],
      ['Bearer secret', '2'],
    ])
  })

  it('dashboard.ts: live notes, and a reload when a restarted server cannot replay', async () => {
    let hub: Hub | undefined = createHub({ heartbeat: false })
    const server = await startRecordingServer((req, res) => {
      if (req.url === '/notes')
        return res.writeHead(200, { 'Content-Type': 'application/json' }).end('["first"]')
      if (!hub) return res.writeHead(204).end() // end of the test: the client stops for good
      return hub.subscribe(createNodeEventStream(req, res), { topics: ['notes'] })
    })
    readme.defer(() => server.close())
    readme.defer(() => hub?.close())
    redirectTo(server.url)
    const log = consoleLines('log')
    const errors = consoleLines('error')
    await withTimeout(import('./readme/dashboard.ts'), DEADLINE_MS, 'dashboard.ts to load')
    await pollUntil(() => hub!.size === 1, DEADLINE_MS, 'the subscription')
    await hub.publish('notes', { event: 'note', data: 'live' })

    // A restart: a new hub (new epoch, no history), every connection dropped.
    const old = hub
    hub = createHub({ heartbeat: false })
    await old.close()
    await pollUntil(
      () => log.length === 1,
      DEADLINE_MS,
      () => `the reset notice; logged ${JSON.stringify(log)}`,
    )
    expect(log).toEqual(['the server cannot replay what we missed (epoch): reloading'])
    await pollUntil(
      () => server.requests.filter(({ url }) => url === '/notes').length === 2,
      DEADLINE_MS,
      'the reload',
    )

    const last = hub
    hub = undefined
    await last.close()
    await pollUntil(
      () => server.requests.at(-1)?.url === '/events' && server.requests.length >= 5,
      DEADLINE_MS,
      'the 204',
    )
    expect(errors).toEqual([])
  })
})
