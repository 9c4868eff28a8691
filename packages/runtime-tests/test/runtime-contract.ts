/**
 * The runtime contract: what an app on `@sse/hono` or on `@sse/core/web` must do on a runtime,
 * checked against a real process of that runtime (see `runtimes.ts`) over real sockets, read with
 * `eventsource-parser` (`openEventStream`) and the `eventsource` client (`readWithEventSource`).
 * The app runs in the other process, so the test drives it through its `/control/*` routes.
 *
 * Each case's title is a row key of the READMEs' matrices (`RUNTIME_CASES`): `matrix.test.ts`
 * checks that each README states exactly what runs here.
 */

import { appendFileSync } from 'node:fs'
import {
  type EventStreamReader,
  type OpenEventStreamOptions,
  openEventStream,
  readWithEventSource,
  withTimeout,
} from '@sse/test-utils'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { FRAMING_CASES } from '../apps/app-state.ts'
import {
  type AppKind,
  type RunningRuntime,
  type RuntimeName,
  runtimeMissing,
  startRuntime,
} from './runtimes.ts'

/** The cases, by matrix key. Workers run a subset; see `WORKERS_LIMITS` for the rest. */
export const RUNTIME_CASES = {
  headers: 'headers and a first comment before the first event',
  framing: 'framing: multi-line and unicode data read back exactly',
  heartbeat: 'heartbeat comments to idle streams',
  replay: 'Last-Event-ID replay, then live without duplicates',
  backpressure: 'publisher backpressure: a full-speed reader gets every byte',
  disconnect: 'a client disconnect releases the stream',
  eventsource: 'the eventsource client: named events, reconnect with Last-Event-ID',
} as const

export type RuntimeCase = keyof typeof RUNTIME_CASES

/** A heavy case's deadline: a loaded 2-core machine running other suites too. A deadline, not a timing claim. */
const HEAVY_TEST_MS = 180_000
/** Publisher backpressure: 16 MiB in events of 4 KiB, several times what loopback socket buffers hold. */
const BULK_EVENT_BYTES = 4096
const BULK_EVENTS = 4096

/** Per-runtime disconnect release times seen in this run, printed after the file (they go in the READMEs). */
const releaseTimes: string[] = []

interface State {
  runtime: string
  resolved: Record<string, string>
  now: number
  size: number
  topics: Record<string, number>
  stats: Record<string, number>
  streams: Record<
    string,
    {
      closed: boolean
      closeReason?: string
      aborted: boolean
      lastEventId: string | null
      closedAt: number | null
    }
  >
}

/** One app on one runtime, and everything a case opened on it. */
class RuntimeSuite {
  app: RunningRuntime | undefined
  #readers = new Set<EventStreamReader>()
  #closers: Array<() => unknown> = []
  #names = 0

  get url(): string {
    if (!this.app) throw new Error('the runtime did not start')
    return this.app.url
  }

  async control<T = Record<string, unknown>>(path: string, body?: unknown): Promise<T> {
    const response = await withTimeout(
      fetch(`${this.url}/control/${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
      HEAVY_TEST_MS,
      `control ${path}`,
    )
    const answer = (await response.json()) as T & { error?: string }
    if (!response.ok) throw new Error(`control ${path}: ${response.status} ${answer.error}`)
    return answer
  }

  state(): Promise<State> {
    return this.control<State>('state')
  }

  /** Polls the app's state until `check` holds. */
  async waitForState(check: (state: State) => boolean, label: string, timeoutMs = 10_000): Promise<State> {
    let last: State | undefined
    await withTimeout(
      (async () => {
        for (;;) {
          last = await this.state()
          if (check(last)) return
          await new Promise((resolve) => setTimeout(resolve, 5))
        }
      })(),
      timeoutMs,
      () => `${label}; last state: ${JSON.stringify(last).slice(0, 400)}`,
    )
    return last!
  }

  /** A fresh name for a per-client stream. */
  name(): string {
    return `s${++this.#names}`
  }

  async open(path: string, options: OpenEventStreamOptions = {}): Promise<EventStreamReader> {
    const reader = await openEventStream(`${this.url}${path}`, { timeoutMs: 30_000, ...options })
    this.#readers.add(reader)
    return reader
  }

  /** Opens `/stream?name=…` and waits until the app holds the stream. */
  async openNamed(query = '', options: OpenEventStreamOptions = {}) {
    const name = this.name()
    const reader = await this.open(`/stream?name=${name}${query}`, options)
    await this.waitForState((state) => state.streams[name] !== undefined, `the app to hold stream ${name}`)
    return { name, reader }
  }

  send(name: string, events: unknown[], close = false) {
    return this.control<{ sent: boolean[] }>('send', { name, events, close })
  }

  publish(topic: string, events: unknown[]): Promise<string[]> {
    return this.control<{ ids: string[] }>('publish', { topic, events }).then(({ ids }) => ids)
  }

  /** A fresh hub in the app, so each case starts from size 0 and clean stats. */
  useHub(options: Record<string, unknown> = { heartbeat: false }) {
    return this.control('hub', options)
  }

  hubSize(size: number) {
    return this.waitForState((state) => state.size === size, `the hub size to be ${size}`)
  }

  defer(close: () => unknown): void {
    this.#closers.push(close)
  }

  async cleanup(): Promise<void> {
    for (const close of this.#closers.splice(0).reverse()) await close()
    await Promise.all([...this.#readers].map((reader) => reader.close()))
    this.#readers.clear()
  }
}

/** Counts events whose data is `seq:` in order; `ok` stays true while none is missing or out of order. */
function orderedCounter() {
  const counter = {
    count: 0,
    ok: true,
    done: undefined as string | undefined,
    onEvent: (event: { event?: string | undefined; data: string }) => {
      if (event.event === 'done') {
        counter.done = event.data
        return
      }
      if (!event.data.startsWith(`${counter.count}:`)) counter.ok = false
      counter.count++
    },
  }
  return counter
}

function expectSseHeaders(reader: EventStreamReader, label: string): void {
  expect(reader.status, label).toBe(200)
  expect(reader.headers['content-type'], label).toBe('text/event-stream; charset=utf-8')
  expect(reader.headers['cache-control'], label).toContain('no-cache')
  expect(reader.headers['x-accel-buffering'], label).toBe('no')
}

export interface RuntimeSuiteOptions {
  /**
   * Workers (workerd): what a Worker can do is what one request can do. Per-client streams pass a
   * timer provider of their own request (`timers=request`) for their heartbeat, and the hub parts
   * that need a second request (publishing to another request's stream, a hub-wide heartbeat) are
   * replaced by the `WORKERS_LIMITS` cases, which assert what happens instead.
   */
  workers?: boolean
}

/** The Workers-only cases: what workerd does where a Worker cannot do what other runtimes do, as documented. */
export const WORKERS_LIMITS = {
  idle: 'workers limits: a hub stream left idle is cancelled by workerd, unseen by the hub',
  topLevel: "workers limits: createHub() at a Worker's top level fails at startup",
} as const

/**
 * Registers the runtime contract for one app on one runtime: skipped with a one-line notice
 * where the runtime's binary is missing (a failure under `CI=true`).
 */
export function describeRuntime(runtime: RuntimeName, app: AppKind, options: RuntimeSuiteOptions = {}): void {
  const workers = options.workers ?? false
  /** Whether the hub parts that publish from one request to another request's stream run. */
  const acrossRequests = !workers
  /** Per-client stream query: on Workers, a heartbeat on a ticker of the stream's own request. */
  const beat = (ms: number) => (workers ? `&heartbeat=${ms}&timers=request` : `&heartbeat=${ms}`)
  describe.skipIf(runtimeMissing(runtime))(`${runtime}: the ${app} app`, () => {
    const s = new RuntimeSuite()
    beforeAll(async () => {
      s.app = await startRuntime(runtime, app)
    }, 120_000)
    afterAll(async () => {
      if (process.env.SSE_RUNTIME_LOG)
        appendFileSync(process.env.SSE_RUNTIME_LOG, `=== ${runtime} ${app}\n${s.app?.output()}\n`)
      await s.app?.close()
      if (releaseTimes.length) console.log(releaseTimes.splice(0).join('\n'))
    })
    afterEach(async () => {
      await s.cleanup()
    })

    it('runs the built packages, not their sources', async () => {
      const { resolved, runtime: version } = await s.state()
      expect(version).toContain(runtime)
      if (s.app!.moduleIds) {
        // A bundle (Node, workerd): made from the packages' dist.
        const ours = s.app!.moduleIds.filter((id) => /\/packages\/(core|hono)\//.test(id))
        expect(ours.length).toBeGreaterThan(0)
        for (const id of ours) expect(id).toMatch(/\/packages\/(core|hono)\/dist\//)
      } else {
        // Bun and Deno import through node_modules, as an installed app does.
        expect(resolved['@sse/core']).toMatch(/\/packages\/core\/dist\/index\.mjs$/)
        expect(resolved['@sse/core/web']).toMatch(/\/packages\/core\/dist\/web\.mjs$/)
        expect(resolved['@sse/hono']).toMatch(/\/packages\/hono\/dist\/index\.mjs$/)
      }
    })

    it(RUNTIME_CASES.headers, async () => {
      // The app sends nothing until told: if the head or the first comment were held back,
      // these waits would pass their deadlines. (On Workers the stream keeps a 1 s heartbeat, so
      // that its request has something pending; the event comes from a second request to the
      // same isolate.)
      const { name, reader } = await s.openNamed(workers ? beat(1000) : '')
      expectSseHeaders(reader, '/stream')
      await reader.waitForComments(1)
      expect(reader.eventCount).toBe(0)
      await s.send(name, [{ data: 'first' }])
      expect((await reader.next()).data).toBe('first')

      await s.useHub()
      const hubReader = await s.open('/hub?topics=prompt')
      expectSseHeaders(hubReader, '/hub')
      await hubReader.waitForComments(1)
      expect(hubReader.eventCount).toBe(0)
      if (acrossRequests) {
        await s.hubSize(1)
        await s.publish('prompt', [{ data: 'first on the hub' }])
        expect((await hubReader.next()).data).toBe('first on the hub')
      }
    })

    it(RUNTIME_CASES.framing, async () => {
      // The stream sends the cases itself, as a Worker's request does.
      const reader = await s.open('/framing')
      await reader.waitForEvent((event) => event.event === 'done')
      const texts = reader.events.filter((event) => event.event === 'text').map((event) => event.data)
      expect(texts).toEqual(FRAMING_CASES.map(([, read]) => read))
      if (acrossRequests) {
        // And the same through the hub, published from another request.
        await s.useHub()
        const hubReader = await s.open('/hub?topics=text')
        await s.hubSize(1)
        await s.publish(
          'text',
          FRAMING_CASES.map(([sent]) => ({ event: 'text', data: sent })),
        )
        const events = await hubReader.waitFor(FRAMING_CASES.length)
        expect(events.map((event) => event.data)).toEqual(FRAMING_CASES.map(([, read]) => read))
      }
    })

    it(RUNTIME_CASES.heartbeat, async () => {
      const { reader } = await s.openNamed(beat(100))
      // The first comment opens the stream; the next two are heartbeats.
      await reader.waitForComments(3, 10_000)
      expect(reader.eventCount).toBe(0)
      if (acrossRequests) {
        // The hub's one ticker, for every stream it holds.
        await s.useHub({ heartbeat: 100 })
        const hubReader = await s.open('/hub?topics=beat')
        await hubReader.waitForComments(3, 10_000)
        expect(hubReader.eventCount).toBe(0)
      }
    })

    it(RUNTIME_CASES.replay, async () => {
      await s.useHub()
      const ids = await s.publish(
        'replay',
        [1, 2, 3, 4, 5].map((i) => ({ data: `e${i}` })),
      )
      // The replay is written by the reconnecting request itself: on Workers too.
      const reader = await s.open('/hub?topics=replay', { headers: { 'last-event-id': ids[1]! } })
      const replayed = await reader.waitFor(3)
      expect(replayed.map((event) => [event.id, event.data])).toEqual([
        [ids[2], 'e3'],
        [ids[3], 'e4'],
        [ids[4], 'e5'],
      ])
      expect((await s.state()).stats.replayed).toBe(3)
      if (acrossRequests) {
        await s.hubSize(1)
        const [live] = await s.publish('replay', [{ data: 'e6' }])
        await reader.waitFor(4)
        expect(reader.events.map((event) => event.data)).toEqual(['e3', 'e4', 'e5', 'e6'])
        expect(reader.events[3]!.id).toBe(live)
      }
    })

    it(
      RUNTIME_CASES.backpressure,
      async () => {
        // A per-client producer that awaits stream.ready(): never more than one event queued in core.
        const produced = orderedCounter()
        const reader = await s.open(`/produce?count=${BULK_EVENTS}&bytes=${BULK_EVENT_BYTES}`, {
          keepEvents: false,
          onEvent: produced.onEvent,
        })
        await reader.waitUntil(() => produced.done !== undefined, HEAVY_TEST_MS / 2, 'the producer to finish')
        expect(produced).toMatchObject({ count: BULK_EVENTS, ok: true })
        expect(JSON.parse(produced.done!)).toEqual({ maxQueued: 0 })
        await reader.close()

        // A hub of the stream's own request, each batch of 64 published after hub.ready().
        const paced = orderedCounter()
        const hubReader = await s.open(`/hub-produce?count=${BULK_EVENTS}&bytes=${BULK_EVENT_BYTES}`, {
          keepEvents: false,
          onEvent: paced.onEvent,
        })
        await hubReader.waitUntil(
          () => paced.done !== undefined,
          HEAVY_TEST_MS / 2,
          'the hub publisher to finish',
        )
        expect(paced).toMatchObject({ count: BULK_EVENTS, ok: true })
        const { maxQueued, stats } = JSON.parse(paced.done!) as {
          maxQueued: number
          stats: Record<string, number>
        }
        expect(maxQueued).toBeLessThanOrEqual(64 * (BULK_EVENT_BYTES + 64))
        expect(stats).toMatchObject({ slowCloses: 0, overflowCloses: 0, dropped: 0 })
        await hubReader.close()

        if (acrossRequests) {
          // The app's hub, published to from another request, paced by hub.ready().
          await s.useHub()
          const live = orderedCounter()
          const liveReader = await s.open('/hub?topics=bulk', { keepEvents: false, onEvent: live.onEvent })
          await s.hubSize(1)
          const result = await s.control<{ stats: Record<string, number> }>('bulk', {
            topic: 'bulk',
            count: BULK_EVENTS,
            bytes: BULK_EVENT_BYTES,
          })
          await liveReader.waitUntil(
            () => live.count === BULK_EVENTS,
            HEAVY_TEST_MS / 2,
            'every published event',
          )
          expect(live.ok).toBe(true)
          expect(result.stats).toMatchObject({ slowCloses: 0, overflowCloses: 0, dropped: 0 })
          expect((await s.state()).size).toBe(1)
        }
      },
      HEAVY_TEST_MS,
    )

    it(RUNTIME_CASES.disconnect, async () => {
      // On Workers a departure is seen at the stream's next write: there its heartbeat is 200 ms.
      const { name, reader } = await s.openNamed(workers ? beat(200) : '')
      await reader.waitForComments(1)
      const closedAt = Date.now()
      await reader.close()
      const state = await s.waitForState(
        (state) => state.streams[name]!.closed,
        `stream ${name} to close after the client left`,
      )
      expect(state.streams[name]).toMatchObject({ closed: true, aborted: true, closeReason: 'client' })
      const streamMs = state.streams[name]!.closedAt! - closedAt
      let hubLine = 'hub: not across requests on Workers'
      if (acrossRequests) {
        await s.useHub()
        const readers = await Promise.all([1, 2, 3].map(() => s.open('/hub?topics=abort,other')))
        await s.hubSize(3)
        const left = Date.now()
        await Promise.all(readers.map((hubReader) => hubReader.close()))
        const after = await s.waitForState(
          (state) => state.size === 0 && Object.keys(state.topics).length === 0,
          'the hub to forget the streams',
        )
        hubLine = `3 hub streams within ${after.now - left} ms (hub size back to 0, seen by polling)`
      }
      releaseTimes.push(
        `[@sse/runtime-tests] ${runtime} ${s.app!.version} (${app}): a client disconnect closed its stream in ${streamMs} ms; ${hubLine}`,
      )
    })

    it(RUNTIME_CASES.eventsource, async () => {
      const name = s.name()
      const source = await readWithEventSource(`${s.url}/stream?name=${name}${workers ? beat(1000) : ''}`, {
        eventNames: ['greeting'],
        timeoutMs: 30_000,
      })
      s.defer(() => source.close())
      await s.waitForState((state) => state.streams[name] !== undefined, 'the app to hold the stream')
      await s.send(name, [
        { id: '1', data: 'unnamed' },
        { id: '2', event: 'greeting', data: 'named' },
      ])
      await source.waitFor(2)
      // The server ends the stream, asking for a quick reconnect.
      await s.send(name, [{ retry: 20 }], true)
      await source.waitForOpens(2, 10_000)
      await s.waitForState(
        (state) => state.streams[name]?.closed === false && state.streams[name]?.lastEventId === '2',
        'the reconnect to arrive with Last-Event-ID 2',
      )
      expect(source.requests.at(-1)?.['last-event-id']).toBe('2')
      await s.send(name, [{ id: '3', data: 'resumed' }])
      const messages = await source.waitFor(3)
      expect(messages.map(({ type, data, lastEventId }) => [type, data, lastEventId])).toEqual([
        ['message', 'unnamed', '1'],
        ['greeting', 'named', '2'],
        ['message', 'resumed', '3'],
      ])
    })

    if (workers) {
      it(WORKERS_LIMITS.idle, async () => {
        // A hub stream has no timer of its own request (the hub's heartbeat ticker, where there
        // is one, lives in whichever request started it). Once its replay is written the request
        // has nothing pending: workerd cancels it as hung and ends the response, and the stream
        // is not told — the hub goes on counting it, and what is published to it is lost.
        await s.useHub()
        const reader = await s.open('/hub?topics=idle')
        await s.hubSize(1)
        expect(await reader.waitForEnd(30_000)).toBeDefined()
        expect(reader.eventCount).toBe(0)
        const state = await s.state()
        expect(state.size).toBe(1)
        await s.publish('idle', [{ data: 'lost' }])
        expect((await s.state()).size).toBe(1)
      })

      it(WORKERS_LIMITS.topLevel, async () => {
        // Workers forbid random values at global scope; a hub draws its epoch at random.
        const failed = await startRuntime(runtime, 'top-level-hub').then(
          async (started) => {
            await started.close()
            return undefined
          },
          (error: Error) => error.message,
        )
        expect(failed).toContain('Disallowed operation called within global scope')
        expect(failed).toContain('createHub')
      })
    }
  })
}
