/**
 * The adapter contract: ONE suite that every framework adapter (Express, Fastify, Koa, Hono, and
 * plain `node:http` / `node:http2` as the model) runs against its real framework on a real socket,
 * read with a real parser (`eventsource-parser`) and a real client (`eventsource`).
 *
 * An adapter test wires two routes and nothing else:
 * - `fixture.paths.stream` (`/stream`): the adapter's low-level call turns the request into an
 *   `EventStream` with `fixture.streamOptions`, then hands it to `fixture.onStream(stream, url)`.
 * - `fixture.paths.hub` (`/hub?topics=a,b`): the adapter's hub handler subscribes the request to
 *   `fixture.hub` with the topics `fixture.topicsOf(url)`, its `authorize` calling
 *   `fixture.authorize(url, context)` and its `key` calling `fixture.key(url)`, both per request.
 *
 * `fixture.hub` is one stable object for the whole file (so an adapter may capture it when it
 * registers its routes); behind it the suite puts a fresh hub for every test. The server is
 * started once per file; the hub-shutdown cases start a second one with the same `start`.
 */
import {
  type AuthorizeContext,
  type AuthorizeResult,
  createHub,
  DEFAULT_MAX_BUFFERED_BYTES,
  DEFAULT_MAX_TOPICS_PER_STREAM,
  type EventStream,
  type EventStreamOptions,
  type Hub,
  type HubCloseOptions,
  type HubEvents,
  type HubLimits,
  type HubOptions,
  type HubStats,
  isSseError,
  MAX_TOPIC_LENGTH,
  parseLogId,
  RESET_EVENT,
  type SseErrorCode,
  type SubscribeOptions,
  type TypedEvent,
} from '@sse/core'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { liveBytes } from './live-bytes.ts'
import { type PlainAnswer, readAnswer } from './read-answer.ts'
import { type EventStreamReader, type OpenEventStreamOptions, openEventStream } from './read-events.ts'
import {
  type EventSourceReader,
  type ReadWithEventSourceOptions,
  readWithEventSource,
} from './read-with-event-source.ts'
import type { TestServer } from './server.ts'
import { DEFAULT_TIMEOUT_MS, pollUntil, withTimeout } from './with-timeout.ts'

/** Options of the per-client route's stream; the adapter reads `Last-Event-ID` itself. */
export type ContractStreamOptions = Omit<EventStreamOptions, 'lastEventId'>

/** The hub route's `authorize`, as the suite sets it: the request's URL (path and query) and what `authorize` is told. */
export type ContractAuthorize = (
  requestUrl: string,
  context: AuthorizeContext,
) => AuthorizeResult | Promise<AuthorizeResult>

/** The hub route's `key`, as the suite sets it: from the request's URL (path and query). */
export type ContractKey = (requestUrl: string) => string | undefined

/** What the suite hands to `start`: everything the two routes need. */
export interface AdapterFixture {
  /** Paths of the two routes. */
  readonly paths: { readonly stream: '/stream'; readonly hub: '/hub' }
  /**
   * The hub of the hub route. One object for the whole file (an adapter may capture it when it
   * registers its routes); behind it the suite puts a fresh hub for every test.
   */
  readonly hub: Hub
  /** Options for the stream of the per-client route, set by the current test. Read them per request. */
  readonly streamOptions: ContractStreamOptions
  /** The per-client route hands every stream it creates here, with the request's URL (path and query). */
  onStream(stream: EventStream, requestUrl: string): void
  /** The topics of the hub route: `?topics=a,b` → `['a', 'b']`. */
  topicsOf(requestUrl: string): string[]
  /**
   * The `authorize` of the hub route, set by the current test (by default it allows every
   * request). Wire it as `authorize: (req, context) => fixture.authorize(urlOf(req), context)`:
   * it is read per request.
   */
  readonly authorize: ContractAuthorize
  /**
   * The `key` of the hub route, set by the current test (by default `undefined` for every
   * request: no per-key limit). Wire it as `key: (req) => fixture.key(urlOf(req))`: it is read
   * per request. The adapter's own default key (the client's address) is for its own tests.
   */
  readonly key: ContractKey
}

/** What `start` returns: the base URL (no trailing slash) and a `close` that always completes. */
export type StartContractServer = (fixture: AdapterFixture) => Promise<TestServer>

export interface AdapterContractOptions {
  /** The server speaks h2c (HTTP/2 without TLS): read with a `node:http2` client; the `eventsource` cases are left out (undici does not speak h2c). */
  http2?: boolean | undefined
}

const STREAM_PATH = '/stream'
const HUB_PATH = '/hub'
/** Query parameter naming the test that opened a request, so a late request of a finished test is refused. */
const TEST_PARAM = 'contract-test'

/** The `Hub` behind `fixture.hub`: forwards to the current test's hub and remembers its streams. */
class SuiteHub implements Hub {
  current: Hub = createHub({ heartbeat: false })
  /** Streams the hub route subscribed during the current test. */
  subscribed: EventStream[] = []
  /** Runs right after a subscription started (while its replay may still be in flight). */
  afterSubscribe: ((stream: EventStream) => void) | undefined

  publish(topic: string, event: TypedEvent<Record<string, unknown>>): Promise<string> {
    return this.current.publish(topic, event)
  }

  ready(topic?: string): Promise<void> {
    return this.current.ready(topic)
  }

  subscribe(stream: EventStream, options: SubscribeOptions): Promise<void> {
    this.subscribed.push(stream)
    const subscribing = this.current.subscribe(stream, options)
    this.afterSubscribe?.(stream)
    return subscribing
  }

  unsubscribe(stream: EventStream): void {
    this.current.unsubscribe(stream)
  }

  get size(): number {
    return this.current.size
  }

  topicSize(topic: string): number {
    return this.current.topicSize(topic)
  }

  topics(): Map<string, number> {
    return this.current.topics()
  }

  keySize(key: string): number {
    return this.current.keySize(key)
  }

  get limits(): HubLimits {
    return this.current.limits
  }

  reportError(error: unknown): void {
    this.current.reportError(error)
  }

  get stats(): HubStats {
    return this.current.stats
  }

  on<E extends keyof HubEvents>(event: E, listener: (...args: HubEvents[E]) => void): () => void {
    return this.current.on(event, listener)
  }

  close(options?: HubCloseOptions): Promise<void> {
    return this.current.close(options)
  }

  get closed(): boolean {
    return this.current.closed
  }
}

interface HandedStream {
  readonly stream: EventStream
  readonly url: string
}

const allowEveryone: ContractAuthorize = () => true
const noKey: ContractKey = () => undefined

/** State shared by the cases of one `describeAdapterContract` block. */
class ContractSuite implements AdapterFixture {
  readonly paths = { stream: STREAM_PATH, hub: HUB_PATH } as const
  readonly hub = new SuiteHub()
  streamOptions: ContractStreamOptions = {}
  authorize: ContractAuthorize = allowEveryone
  key: ContractKey = noKey
  server: TestServer | undefined
  readonly #start: StartContractServer
  readonly #http2: boolean
  /** What the current test's hub reported on its `error` event, not yet taken by `takeErrors()`. */
  #errors: unknown[] = []
  #test = 0
  #handed: HandedStream[] = []
  #taken = 0
  #streams = new Set<EventStream>()
  #readers = new Set<EventStreamReader>()
  #sources = new Set<EventSourceReader>()
  #servers = new Set<TestServer>()

  constructor(start: StartContractServer, http2: boolean) {
    this.#start = start
    this.#http2 = http2
  }

  onStream(stream: EventStream, requestUrl: string): void {
    const test = new URL(requestUrl, 'http://localhost').searchParams.get(TEST_PARAM)
    if (test !== String(this.#test)) {
      // A request of a test that already finished (an EventSource reconnecting as it closed).
      stream.close()
      return
    }
    this.#streams.add(stream)
    this.#handed.push({ stream, url: requestUrl })
  }

  topicsOf(requestUrl: string): string[] {
    const value = new URL(requestUrl, 'http://localhost').searchParams.get('topics') ?? ''
    return value.split(',').filter((topic) => topic !== '')
  }

  async startServer(): Promise<TestServer> {
    const server = await withTimeout(this.#start(this), DEFAULT_TIMEOUT_MS, 'start(fixture)')
    this.#servers.add(server)
    return server
  }

  async beforeAll(): Promise<void> {
    this.server = await this.startServer()
  }

  async afterAll(): Promise<void> {
    await Promise.all([...this.#servers].map((server) => server.close()))
    this.#servers.clear()
    await this.hub.current.close({ retry: false })
  }

  async beforeEach(): Promise<void> {
    await this.hub.current.close({ retry: false })
    this.#test++
    this.streamOptions = {}
    this.#handed = []
    this.#taken = 0
    this.hub.subscribed = []
    this.hub.afterSubscribe = undefined
    this.authorize = allowEveryone
    this.key = noKey
    this.#errors = []
    this.hub.current = this.#watched(createHub({ heartbeat: false }))
  }

  async afterEach(): Promise<void> {
    for (const source of this.#sources) source.close()
    this.#sources.clear()
    await Promise.all([...this.#readers].map((reader) => reader.close()))
    this.#readers.clear()
    for (const stream of this.#streams) stream.close()
    this.#streams.clear()
    await this.hub.current.close({ retry: false })
    for (const server of this.#servers) {
      if (server !== this.server) await server.close()
    }
    this.#servers = new Set(this.server ? [this.server] : [])
    // An error the hub reported that the test did not expect (and take) fails it.
    const unexpected = this.takeErrors()
    expect(unexpected, "errors on the hub's error event that the test did not take").toEqual([])
  }

  /** Replaces the current test's hub with one made with `options`. */
  async useHub(options: HubOptions): Promise<Hub> {
    await this.hub.current.close({ retry: false })
    this.hub.current = this.#watched(createHub({ heartbeat: false, ...options }))
    return this.hub
  }

  /** What the current test's hub reported on its `error` event since the last call. */
  takeErrors(): unknown[] {
    return this.#errors.splice(0)
  }

  #watched(hub: Hub): Hub {
    hub.on('error', (error) => this.#errors.push(error))
    return hub
  }

  /** A URL of the current test's server: `path` with the query `query` and the test's tag. */
  url(
    path: string,
    query: Record<string, string> = {},
    server: TestServer | undefined = this.server,
  ): string {
    if (!server) throw new Error('the contract server did not start')
    const search = new URLSearchParams({ ...query, [TEST_PARAM]: String(this.#test) })
    return `${server.url}${path}?${search}`
  }

  streamUrl(query?: Record<string, string>, server?: TestServer): string {
    return this.url(STREAM_PATH, query, server)
  }

  hubUrl(topics: readonly string[], query: Record<string, string> = {}, server?: TestServer): string {
    return this.url(HUB_PATH, { ...query, topics: topics.join(',') }, server)
  }

  /** The whole answer to a GET that must not be a stream (a refusal), over the suite's protocol. */
  answer(url: string): Promise<PlainAnswer> {
    return readAnswer(url, { http2: this.#http2 })
  }

  async open(url: string, options: OpenEventStreamOptions = {}): Promise<EventStreamReader> {
    const reader = await openEventStream(url, { http2: this.#http2, ...options })
    this.#readers.add(reader)
    return reader
  }

  async openSource(url: string, options?: ReadWithEventSourceOptions): Promise<EventSourceReader> {
    const source = await readWithEventSource(url, options)
    this.#sources.add(source)
    return source
  }

  /** The next stream the per-client route handed over in this test. */
  async nextStream(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<EventStream> {
    const index = this.#taken++
    await pollUntil(
      () => this.#handed.length > index,
      timeoutMs,
      () => `the per-client route to hand over stream #${index + 1} (fixture.onStream)`,
    )
    return this.#handed[index]!.stream
  }

  /** Waits until the hub has `size` streams. */
  hubSize(size: number, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    return pollUntil(
      () => this.hub.size === size,
      timeoutMs,
      () => `hub.size to be ${size}, is ${this.hub.size}`,
    )
  }
}

function codeOf(run: () => unknown): SseErrorCode | 'no error' | 'not an SseError' {
  try {
    run()
  } catch (error) {
    return isSseError(error) ? error.code : 'not an SseError'
  }
  return 'no error'
}

async function rejectionCodeOf(
  promise: Promise<unknown>,
): Promise<SseErrorCode | 'no error' | 'not an SseError'> {
  try {
    await withTimeout(promise, DEFAULT_TIMEOUT_MS, 'a rejection')
  } catch (error) {
    return isSseError(error) ? error.code : 'not an SseError'
  }
  return 'no error'
}

/** Payloads and what a spec-conforming client reads back: CRLF and lone CR become LF. */
const TEXT_CASES: ReadonlyArray<readonly [sent: string, read: string]> = [
  ['one\ntwo', 'one\ntwo'],
  ['one\r\ntwo', 'one\ntwo'],
  ['one\rtwo', 'one\ntwo'],
  ['\r\nlead\r\r\nmixed\n\rtrail\r\n', '\nlead\n\nmixed\n\ntrail\n'],
  ['', ''],
  ['\n', '\n'],
  [' leading space', ' leading space'],
  ['data: not a field\n\nevent: nor this\nid: 1', 'data: not a field\n\nevent: nor this\nid: 1'],
  ['emoji 😀 👍🏽 👨‍👩‍👧 🇺🇦', 'emoji 😀 👍🏽 👨‍👩‍👧 🇺🇦'],
  ['中文 日本語 한국어', '中文 日本語 한국어'],
  ['עברית العربية \u200f rtl', 'עברית العربية \u200f rtl'],
  ['nul\u0000inside', 'nul\u0000inside'],
  ['\u2028line separators are data\u2029', '\u2028line separators are data\u2029'],
  // Large, multi-byte throughout: chunk boundaries fall inside lines and inside characters.
  [`${'😀中é\r\n'.repeat(20_000)}end`, `${'😀中é\n'.repeat(20_000)}end`],
]

/** Sends 16 KiB events to a client that does not read, until `stop()` holds; reports the largest queue seen. */
async function flood(
  stream: EventStream,
  stop: () => boolean,
  limitBytes: number,
): Promise<{ sent: number; maxBuffered: number }> {
  const payload = 'x'.repeat(16 * 1024)
  let sent = 0
  let maxBuffered = 0
  while (!stop()) {
    if (sent * payload.length > limitBytes) {
      throw new Error(
        `sent ${sent} events of 16 KiB and the client never backed up: is the sink reporting backpressure?`,
      )
    }
    // One event per turn of the event loop: a client that reads keeps up with this rate, so
    // the queue only grows because this client stopped reading.
    stream.send({ id: String(sent), data: payload })
    sent++
    maxBuffered = Math.max(maxBuffered, stream.bufferedBytes)
    await new Promise((resolve) => setImmediate(resolve))
  }
  return { sent, maxBuffered }
}

/** An event whose data starts with its sequence number, padded to `size` bytes on the wire-ish. */
function numbered(seq: number, size: number): string {
  const head = `${seq}:`
  return head + 'p'.repeat(Math.max(0, size - head.length))
}

/**
 * A reader that keeps no events, only checks they come in order: `ok` stays true while every
 * event's data starts with the next sequence number.
 */
function orderedCounter(): {
  onEvent(event: { data: string }): void
  readonly count: number
  readonly ok: boolean
} {
  let count = 0
  let ok = true
  return {
    onEvent(event) {
      if (!event.data.startsWith(`${count}:`)) ok = false
      count++
    },
    get count() {
      return count
    },
    get ok() {
      return ok
    },
  }
}

/**
 * Deadline of the flow-control cases that move tens of MiB: generous, since every package's suite
 * shares the same 2 cores under `npm test` (alone they take 0.3–5 s). A deadline, not a timing claim.
 */
const HEAVY_TEST_MS = 180_000

/** The sum of what core queues for `streams` right now. */
function queuedBytes(streams: readonly EventStream[]): number {
  let total = 0
  for (const stream of streams) total += stream.bufferedBytes
  return total
}

/** A value as a label: `undefined`, `null`, `0`, `""`, `{}`. */
function shown(value: unknown): string {
  return value === undefined ? 'undefined' : JSON.stringify(value)
}

/** The hub route's answer to a failing `authorize`: 500, a generic JSON body, no stream. */
function expectInternalError(answer: PlainAnswer, label: string): void {
  expect(answer.stream, `${label}: answered with an event stream`).toBe(false)
  expect(answer.status, label).toBe(500)
  expect(answer.headers['content-type'], label).toBe('application/json; charset=utf-8')
  expect(JSON.parse(answer.body), label).toEqual({ error: 'internal error' })
}

/** The hub route's answer past one of the hub's limits: that status, `Retry-After` in seconds, a JSON body. */
function expectLimited(answer: PlainAnswer, status: 429 | 503): void {
  expect(answer.stream, `${status}: answered with an event stream`).toBe(false)
  expect(answer.status).toBe(status)
  expect(answer.headers['retry-after']).toMatch(/^[1-9]\d*$/)
  expect(answer.headers['content-type']).toBe('application/json; charset=utf-8')
  expect(JSON.parse(answer.body)).toEqual({ error: expect.any(String) })
}

/**
 * Registers the adapter contract suite.
 *
 * @example
 * describeAdapterContract('express', (fixture) => {
 *   const app = express()
 *   app.get(fixture.paths.stream, (req, res) => fixture.onStream(sse(req, res, fixture.streamOptions), req.originalUrl))
 *   app.get(
 *     fixture.paths.hub,
 *     sseHub({
 *       hub: fixture.hub,
 *       topics: (req) => fixture.topicsOf(req.originalUrl),
 *       authorize: (req, context) => fixture.authorize(req.originalUrl, context),
 *       key: (req) => fixture.key(req.originalUrl),
 *     }),
 *   )
 *   return startHttpServer(app)
 * })
 */
export function describeAdapterContract(
  name: string,
  start: StartContractServer,
  options: AdapterContractOptions = {},
): void {
  const http2 = options.http2 ?? false
  // Cases read with the `eventsource` client exist only over HTTP/1.1: undici does not speak h2c,
  // so over HTTP/2 they are not registered at all (rather than shown as skipped).
  const withEventSource = (name: string, test: () => Promise<void>): void => {
    if (!http2) it(name, test)
  }

  describe(`adapter contract: ${name}${http2 ? ' over HTTP/2 (h2c)' : ''}`, () => {
    const s = new ContractSuite(start, http2)
    beforeAll(() => s.beforeAll())
    afterAll(() => s.afterAll())
    beforeEach(() => s.beforeEach())
    afterEach(() => s.afterEach())

    it('answers 200 with the SSE headers on both routes', async () => {
      for (const url of [s.streamUrl(), s.hubUrl(['headers'])]) {
        const reader = await s.open(url)
        expect(reader.status, url).toBe(200)
        expect(reader.headers['content-type'], url).toBe('text/event-stream; charset=utf-8')
        expect(reader.headers['cache-control'], url).toContain('no-cache')
        expect(reader.headers['x-accel-buffering'], url).toBe('no')
        expect(reader.headers['x-content-type-options'], url).toBe('nosniff')
        // Each once: a framework default and the adapter's value must not both go out.
        const names = reader.rawHeaders.filter((_, i) => i % 2 === 0).map((name) => name.toLowerCase())
        for (const single of [
          'content-type',
          'cache-control',
          'x-accel-buffering',
          'x-content-type-options',
          'connection',
        ]) {
          expect(
            names.filter((name) => name === single).length,
            `${single} headers (${url})`,
          ).toBeLessThanOrEqual(1)
        }
        if (http2) {
          expect(reader.httpVersion).toBe('2.0')
          // Connection-specific headers are illegal on HTTP/2 (RFC 9113 §8.2.2).
          for (const banned of [
            'connection',
            'keep-alive',
            'transfer-encoding',
            'proxy-connection',
            'upgrade',
          ]) {
            expect(reader.headers[banned], `${banned} on HTTP/2 (${url})`).toBeUndefined()
          }
        } else {
          expect(reader.httpVersion).toBe('1.1')
          expect(String(reader.headers.connection).toLowerCase(), url).toBe('keep-alive')
        }
      }
    })

    it('delivers the head and a first comment before any event is sent', async () => {
      s.streamOptions = { heartbeat: false }
      // The server sends nothing until the client holds the 200 and the first bytes: if the
      // head or the first comment were buffered, these waits would pass their deadlines.
      const reader = await s.open(s.streamUrl())
      const stream = await s.nextStream()
      expect(reader.status).toBe(200)
      await reader.waitForComments(1)
      expect(reader.eventCount).toBe(0)
      stream.send({ data: 'first' })
      expect((await reader.next()).data).toBe('first')

      const hubReader = await s.open(s.hubUrl(['prompt']))
      await hubReader.waitForComments(1)
      expect(hubReader.eventCount).toBe(0)
      await s.hubSize(1)
      await s.hub.publish('prompt', { data: 'first on the hub' })
      expect((await hubReader.next()).data).toBe('first on the hub')
    })

    it('reads back multi-line and unicode data exactly (CR and CRLF read as LF)', async () => {
      s.streamOptions = { heartbeat: false }
      const reader = await s.open(s.streamUrl())
      const stream = await s.nextStream()
      for (const [sent] of TEXT_CASES) stream.send({ data: sent })
      const events = await reader.waitFor(TEXT_CASES.length)
      expect(events.map((event) => event.data)).toEqual(TEXT_CASES.map(([, read]) => read))

      const hubReader = await s.open(s.hubUrl(['text']))
      await s.hubSize(1)
      for (const [sent] of TEXT_CASES) await s.hub.publish('text', { event: 'text', data: sent })
      const hubEvents = await hubReader.waitFor(TEXT_CASES.length)
      expect(hubEvents.map((event) => event.data)).toEqual(TEXT_CASES.map(([, read]) => read))
      expect(new Set(hubEvents.map((event) => event.event))).toEqual(new Set(['text']))
    })

    it('rejects field injection through event names and ids, and nothing of it reaches the client', async () => {
      s.streamOptions = { heartbeat: false }
      const reader = await s.open(s.streamUrl())
      const stream = await s.nextStream()
      expect(codeOf(() => stream.send({ event: 'a\nb', data: 'x' }))).toBe('SSE_INVALID_EVENT_NAME')
      expect(codeOf(() => stream.send({ event: 'a\rdata: injected', data: 'x' }))).toBe(
        'SSE_INVALID_EVENT_NAME',
      )
      expect(codeOf(() => stream.send({ id: '1\n2', data: 'x' }))).toBe('SSE_INVALID_ID')
      expect(codeOf(() => stream.send({ id: '1\r\nevent: evil', data: 'x' }))).toBe('SSE_INVALID_ID')
      expect(codeOf(() => stream.send({ id: 'nul\u0000', data: 'x' }))).toBe('SSE_INVALID_ID')
      // Ids the client could not send back as Last-Event-ID (Node would answer its reconnect with 400).
      expect(codeOf(() => stream.send({ id: 'esc\u001b', data: 'x' }))).toBe('SSE_INVALID_ID')
      expect(codeOf(() => stream.send({ id: 'x'.repeat(257), data: 'x' }))).toBe('SSE_INVALID_ID')
      expect(codeOf(() => stream.send({ retry: -1 }))).toBe('SSE_INVALID_RETRY')
      stream.send({ event: 'valid', id: 'v1', data: 'intact' })
      stream.send({ data: 'sentinel' })
      const events = await reader.waitFor(2)
      expect(events).toEqual([{ event: 'valid', id: 'v1', data: 'intact' }, { data: 'sentinel' }])
      expect(reader.retries).toEqual([])
      expect(reader.comments).toEqual([''])
      expect(stream.closed).toBe(false)

      const hubReader = await s.open(s.hubUrl(['inject']))
      await s.hubSize(1)
      expect(await rejectionCodeOf(s.hub.publish('inject', { event: 'a\nb', data: 'x' }))).toBe(
        'SSE_INVALID_EVENT_NAME',
      )
      const id = await s.hub.publish('inject', { event: 'valid', data: 'intact' })
      expect(await hubReader.next()).toEqual({ event: 'valid', id, data: 'intact' })
      expect(s.hub.stats.published).toBe(1)
    })

    it('subscribes the hub route to the topics of its query', async () => {
      const reader = await s.open(s.hubUrl(['a', 'b']))
      await s.hubSize(1)
      expect(s.hub.topics()).toEqual(
        new Map([
          ['a', 1],
          ['b', 1],
        ]),
      )
      await s.hub.publish('a', { data: 'A' })
      await s.hub.publish('c', { data: 'C' })
      await s.hub.publish('b', { data: 'B' })
      await reader.waitForEvent((event) => event.data === 'B')
      expect(reader.events.map((event) => event.data)).toEqual(['A', 'B'])
    })

    it('answers what authorize returns: false is a 403, a Refusal is sent as given, true subscribes', async () => {
      s.authorize = (url) => {
        const as = new URL(url, 'http://localhost').searchParams.get('as')
        if (as === 'anonymous') {
          return { status: 401, body: { error: 'log in' }, headers: { 'WWW-Authenticate': 'Bearer' } }
        }
        if (as === 'stranger') return { status: 403, body: 'not yours' }
        if (as === 'gone') return { status: 204 }
        return as === 'member'
      }
      const anonymous = await s.answer(s.hubUrl(['guarded'], { as: 'anonymous' }))
      expect(anonymous).toMatchObject({ status: 401, stream: false })
      expect(anonymous.headers['content-type']).toBe('application/json; charset=utf-8')
      expect(anonymous.headers['www-authenticate']).toBe('Bearer')
      expect(JSON.parse(anonymous.body)).toEqual({ error: 'log in' })

      const banned = await s.answer(s.hubUrl(['guarded'], { as: 'banned' }))
      expect(banned).toMatchObject({ status: 403, stream: false })
      expect(banned.headers['content-type']).toBe('application/json; charset=utf-8')
      expect(JSON.parse(banned.body)).toEqual({ error: 'forbidden' })

      const stranger = await s.answer(s.hubUrl(['guarded'], { as: 'stranger' }))
      expect(stranger).toMatchObject({ status: 403, body: 'not yours', stream: false })
      expect(stranger.headers['content-type']).toBe('text/plain; charset=utf-8')

      // 204: a browser's EventSource stops reconnecting for good.
      const gone = await s.answer(s.hubUrl(['guarded'], { as: 'gone' }))
      expect(gone).toMatchObject({ status: 204, body: '', stream: false })
      expect(gone.headers['content-type']).toBeUndefined()
      expect(s.hub.subscribed).toEqual([])

      const reader = await s.open(s.hubUrl(['guarded'], { as: 'member' }))
      expect(reader.status).toBe(200)
      await s.hubSize(1)
      await s.hub.publish('guarded', { data: 'for members' })
      expect((await reader.next()).data).toBe('for members')
    })

    it('fails closed: an authorize that returns undefined, null, 0, "" or {} is a generic 500, never a stream', async () => {
      const verdicts: unknown[] = [undefined, null, 0, '', {}]
      for (const verdict of verdicts) {
        // What plain JavaScript (or a cast) hands back: a forgotten `return`, `user?.canRead` with no user.
        s.authorize = () => verdict as AuthorizeResult
        expectInternalError(await s.answer(s.hubUrl(['guarded'])), `authorize returning ${shown(verdict)}`)
      }
      // The detail went to the hub's error listeners instead, one error per request.
      const errors = s.takeErrors()
      expect(errors).toHaveLength(verdicts.length)
      for (const [i, error] of errors.entries()) {
        expect(isSseError(error) && error.code, shown(verdicts[i])).toBe('SSE_INVALID_OPTION')
        expect((error as Error).message, shown(verdicts[i])).toMatch(/^authorize returned /)
      }
      expect(s.hub.size).toBe(0)
      expect(s.hub.subscribed).toEqual([])
    })

    it('answers an authorize that throws or rejects with a generic 500; the error goes to hub.on("error"), never to the client', async () => {
      const secret = 'session store down at 10.0.0.3:5432 (password=hunter2)'
      const thrown = new Error(`sync: ${secret}`)
      const rejected = new Error(`async: ${secret}`)
      const cases: Array<{ label: string; authorize: ContractAuthorize }> = [
        {
          label: 'a synchronous throw',
          authorize: () => {
            throw thrown
          },
        },
        {
          label: 'a rejection',
          authorize: async () => {
            await new Promise((resolve) => setImmediate(resolve)) // a lookup that fails later
            throw rejected
          },
        },
      ]
      for (const { label, authorize } of cases) {
        s.authorize = authorize
        const answer = await s.answer(s.hubUrl(['guarded']))
        expectInternalError(answer, label)
        const everything = `${JSON.stringify(answer.headers)}\n${answer.body}`
        for (const part of ['hunter2', '10.0.0.3', 'session store', 'sync:']) {
          expect(everything, `${label}: the answer must not carry the error`).not.toContain(part)
        }
      }
      const errors = s.takeErrors()
      expect(errors).toHaveLength(2)
      expect(errors[0]).toBe(thrown)
      expect(errors[1]).toBe(rejected)
      expect(s.hub.size).toBe(0)
      expect(s.hub.subscribed).toEqual([])
    })

    it('tells authorize the topics the request asks for, so it can refuse some of them', async () => {
      const asked: string[][] = []
      s.authorize = (_url, { topics }) => {
        asked.push([...topics])
        return !topics.includes('secret')
      }
      const reader = await s.open(s.hubUrl(['news', 'sport']))
      expect(reader.status).toBe(200)
      await s.hubSize(1)
      const refused = await s.answer(s.hubUrl(['news', 'secret']))
      expect(refused).toMatchObject({ status: 403, stream: false })
      expect(asked).toEqual([
        ['news', 'sport'],
        ['news', 'secret'],
      ])
      expect(s.hub.size).toBe(1)
      expect(s.hub.topics()).toEqual(
        new Map([
          ['news', 1],
          ['sport', 1],
        ]),
      )
    })

    it('refuses too many topics, or a too long one, with a 400 before authorize runs or any stream opens', async () => {
      let asked = 0
      s.authorize = () => {
        asked++
        return true
      }
      const names = (count: number) => Array.from({ length: count }, (_, i) => `t${i}`)
      // The hub's default limit.
      const overDefault = await s.answer(s.hubUrl(names(DEFAULT_MAX_TOPICS_PER_STREAM + 1)))
      expect(overDefault).toMatchObject({ status: 400, stream: false })
      expect(JSON.parse(overDefault.body).error).toMatch(`at most ${DEFAULT_MAX_TOPICS_PER_STREAM} topics`)

      await s.useHub({ maxTopicsPerStream: 3 })
      const tooMany = await s.answer(s.hubUrl(names(4)))
      expect(tooMany).toMatchObject({ status: 400, stream: false })
      expect(tooMany.headers['content-type']).toBe('application/json; charset=utf-8')
      expect(JSON.parse(tooMany.body).error).toMatch('at most 3 topics')
      const tooLong = await s.answer(s.hubUrl(['fine', 'x'.repeat(MAX_TOPIC_LENGTH + 1)]))
      expect(tooLong).toMatchObject({ status: 400, stream: false })
      expect(JSON.parse(tooLong.body).error).toMatch(`at most ${MAX_TOPIC_LENGTH} characters`)
      expect(asked).toBe(0)
      expect(s.hub.subscribed).toEqual([])

      // At the limits, the stream opens.
      const reader = await s.open(s.hubUrl([...names(2), 'x'.repeat(MAX_TOPIC_LENGTH)]))
      expect(reader.status).toBe(200)
      await s.hubSize(1)
      expect(asked).toBe(1)
    })

    it('answers 429 with Retry-After past maxStreamsPerKey, for that key only; a stream that ends frees its place', async () => {
      await s.useHub({ maxStreamsPerKey: 3 })
      s.key = (url) => new URL(url, 'http://localhost').searchParams.get('as') ?? undefined
      const ann: EventStreamReader[] = []
      for (let i = 1; i <= 3; i++) {
        const reader = await s.open(s.hubUrl(['keyed'], { as: 'ann' }))
        expect(reader.status, `ann's stream #${i}`).toBe(200)
        ann.push(reader)
        await s.hubSize(i)
      }
      expect(s.hub.keySize('ann')).toBe(3)
      expectLimited(await s.answer(s.hubUrl(['keyed'], { as: 'ann' })), 429)
      expect(s.hub.keySize('ann')).toBe(3)

      // Another key is not held back by ann's streams.
      const bob = await s.open(s.hubUrl(['keyed'], { as: 'bob' }))
      expect(bob.status).toBe(200)
      await s.hubSize(4)

      await ann[0]!.close()
      await pollUntil(
        () => s.hub.keySize('ann') === 2,
        DEFAULT_TIMEOUT_MS,
        () => `ann's closed stream to leave the hub (keySize ${s.hub.keySize('ann')})`,
      )
      const again = await s.open(s.hubUrl(['keyed'], { as: 'ann' }))
      expect(again.status).toBe(200)
      await s.hubSize(4)
      expect(s.hub.keySize('ann')).toBe(3)
      await s.hub.publish('keyed', { data: 'to every stream let in' })
      for (const reader of [ann[1]!, ann[2]!, bob, again]) {
        expect((await reader.next()).data).toBe('to every stream let in')
      }
    })

    it('answers 503 with Retry-After past maxStreams; a stream that ends frees its place', async () => {
      await s.useHub({ maxStreams: 2 })
      const readers: EventStreamReader[] = []
      for (let i = 1; i <= 2; i++) {
        const reader = await s.open(s.hubUrl(['full']))
        expect(reader.status, `stream #${i}`).toBe(200)
        readers.push(reader)
        await s.hubSize(i)
      }
      expectLimited(await s.answer(s.hubUrl(['full'])), 503)
      expect(s.hub.size).toBe(2)

      await readers[0]!.close()
      await s.hubSize(1)
      const again = await s.open(s.hubUrl(['full']))
      expect(again.status).toBe(200)
      await s.hubSize(2)
      await s.hub.publish('full', { data: 'still flowing' })
      for (const reader of [readers[1]!, again]) expect((await reader.next()).data).toBe('still flowing')
    })

    it('replays exactly the missed events for a Last-Event-ID, then goes live without duplicates', async () => {
      const ids: string[] = []
      for (let i = 1; i <= 5; i++) ids.push(await s.hub.publish('replay', { data: `e${i}` }))
      // An event published while the replay is still being read must appear once, after it.
      s.hub.afterSubscribe = () => {
        void s.hub.publish('replay', { data: 'e6' }).then((id) => ids.push(id))
      }
      const reader = await s.open(s.hubUrl(['replay']), { headers: { 'last-event-id': ids[1]! } })
      await reader.waitForEvent((event) => event.data === 'e6')
      s.hub.afterSubscribe = undefined
      ids.push(await s.hub.publish('replay', { data: 'e7' }))
      await reader.waitForEvent((event) => event.data === 'e7')
      expect(reader.events.map((event) => [event.id, event.data])).toEqual(
        ['e3', 'e4', 'e5', 'e6', 'e7'].map((data, i) => [ids[i + 2], data]),
      )
      expect(s.hub.stats.replayed).toBe(3)
    })

    it("answers a garbage Last-Event-ID with 200, an sse-reset ('unknown') and live events, never a 4xx", async () => {
      const garbage: Array<string | Buffer> = [
        'x'.repeat(300),
        Buffer.from([0xff, 0xfe, 0xfd]), // not UTF-8 at all
        Buffer.from([0xe2, 0x80]), // a truncated sequence
        Buffer.from([0xed, 0xa0, 0x80]), // an encoded lone surrogate
      ]
      for (const [i, value] of garbage.entries()) {
        const reader = await s.open(s.hubUrl(['garbage']), { headers: { 'last-event-id': value } })
        expect(reader.status).toBe(200)
        await s.hubSize(1)
        await s.hub.publish('garbage', { data: `live ${i}` })
        // Not a silent gap: the client is told its id could not be resumed from.
        const reset = await reader.next()
        expect(reset.event).toBe(RESET_EVENT)
        expect(JSON.parse(reset.data)).toEqual({ reason: 'unknown', lastEventId: '' })
        expect(await reader.next()).toMatchObject({ data: `live ${i}` })
        await reader.close()
        await s.hubSize(0)

        const streamReader = await s.open(s.streamUrl(), { headers: { 'last-event-id': value } })
        expect(streamReader.status).toBe(200)
        expect((await s.nextStream()).lastEventId).toBeUndefined()
      }
      expect(s.hub.stats.resets).toBe(garbage.length)
    })

    it('answers an id it cannot resume from with the sse-reset event, then goes live', async () => {
      const first = await s.hub.publish('reset', { data: 'before' })
      const { epoch } = parseLogId(first)!
      const cases = [
        { lastEventId: `${epoch}-999999`, reason: 'unknown' },
        { lastEventId: 'zzzzzzzz-1', reason: 'epoch' },
        { lastEventId: 'not-one-of-ours', reason: 'unknown' },
      ]
      for (const [i, { lastEventId, reason }] of cases.entries()) {
        const reader = await s.open(s.hubUrl(['reset']), { headers: { 'last-event-id': lastEventId } })
        expect(reader.status).toBe(200)
        const notice = await reader.next()
        expect(notice.event).toBe(RESET_EVENT)
        expect(JSON.parse(notice.data)).toEqual({ reason, lastEventId })
        await s.hub.publish('reset', { data: `live ${i}` })
        expect(await reader.next()).toMatchObject({ data: `live ${i}` })
        await reader.close()
        await s.hubSize(0)
      }

      // Trimmed: the events after the id are no longer in history.
      await s.useHub({ historySize: 2 })
      const ids: string[] = []
      for (let i = 1; i <= 5; i++) ids.push(await s.hub.publish('reset', { data: `e${i}` }))
      const reader = await s.open(s.hubUrl(['reset']), { headers: { 'last-event-id': ids[0]! } })
      const notice = await reader.next()
      expect(notice.event).toBe(RESET_EVENT)
      expect(JSON.parse(notice.data)).toMatchObject({ reason: 'trimmed' })
    })

    it(
      '50 reconnects with an old Last-Event-ID that never read keep the queued bytes under the stream cap',
      async () => {
        // 8 MiB of history: more than a socket's kernel buffers take (about 4 MiB on loopback),
        // so a replay written whole would sit in the process, 50 times over.
        const EVENT_BYTES = 16 * 1024
        const EVENTS = 512
        const CLIENTS = 50
        // Each adapter's own stream (the per-client route), subscribed to the hub with the
        // client's Last-Event-ID: here the slow limit can be set past the time it takes a loaded
        // machine to open all 50, so none is closed as slow before they are all measured.
        s.streamOptions = { heartbeat: false, slowAfterMs: 600_000 }
        const ids: string[] = []
        for (let seq = 0; seq < EVENTS; seq++)
          ids.push(await s.hub.publish('old', { data: numbered(seq, EVENT_BYTES) }))
        const before = await liveBytes()
        const readers = await Promise.all(
          Array.from({ length: CLIENTS }, () =>
            s.open(s.streamUrl(), { headers: { 'last-event-id': ids[0]! }, keepEvents: false }),
          ),
        )
        for (const reader of readers) reader.pause()
        const streams: EventStream[] = []
        for (let i = 0; i < CLIENTS; i++) streams.push(await s.nextStream())
        for (const stream of streams) void s.hub.subscribe(stream, { topics: ['old'] })
        // Every replay backed up: the client stopped reading and the kernel's buffers are full.
        await pollUntil(
          () => streams.every((stream) => stream.congested),
          60_000,
          () =>
            `every stream to back up (${streams.filter((stream) => stream.congested).length} of ${CLIENTS})`,
        )
        const held = (await liveBytes()).buffers - before.buffers
        // Bytes, not time: all 50 together hold less than one stream's cap each (1 MiB), where
        // whole replays would pin about 50 × 8 MiB. The queues in core hold at most a page each.
        expect(held).toBeLessThan(CLIENTS * DEFAULT_MAX_BUFFERED_BYTES)
        expect(queuedBytes(streams)).toBeLessThanOrEqual(CLIENTS * (64 * 1024 + EVENT_BYTES + 64))
        expect(s.hub.stats.replayed).toBeLessThan(CLIENTS * (EVENTS - 1))
        expect(streams.every((stream) => !stream.closed)).toBe(true)

        // Nothing is lost by pacing: a reader that comes back gets the rest of history in order,
        // through the hub route this time.
        await readers[0]!.close()
        const seqs: number[] = []
        const again = await s.open(s.hubUrl(['old']), {
          headers: { 'last-event-id': ids[0]! },
          keepEvents: false,
          onEvent: (event) => seqs.push(Number.parseInt(event.data, 10)),
        })
        await again.waitUntil(() => seqs.length === EVENTS - 1, 60_000, `the ${EVENTS - 1} missed events`)
        expect(seqs).toEqual(Array.from({ length: EVENTS - 1 }, (_, i) => i + 1))
      },
      HEAVY_TEST_MS,
    )

    it('decodes a UTF-8 Last-Event-ID sent as raw bytes', async () => {
      s.streamOptions = { heartbeat: false }
      const cases: Array<[sent: string | Buffer, decoded: string]> = [
        ['\u00e2\u0080\u00a6', '…'], // E2 80 A6 as a latin1 string: what Node hands a server
        [Buffer.from('😀 ünïcödé', 'utf8'), '😀 ünïcödé'],
        ['plain-ascii-42', 'plain-ascii-42'],
      ]
      for (const [sent, decoded] of cases) {
        const reader = await s.open(s.streamUrl(), { headers: { 'last-event-id': sent } })
        const stream = await s.nextStream()
        expect(stream.lastEventId).toBe(decoded)
        stream.send({ data: stream.lastEventId ?? '(none)' })
        expect((await reader.next()).data).toBe(decoded)
      }
    })

    it('sends heartbeat comments to an idle per-client stream', async () => {
      s.streamOptions = { heartbeat: 100 }
      const reader = await s.open(s.streamUrl())
      await s.nextStream()
      // The first comment opens the stream; the next two are heartbeats.
      await reader.waitForComments(3)
      expect(reader.eventCount).toBe(0)
    })

    it("sends the hub's heartbeat comments to idle hub streams", async () => {
      await s.useHub({ heartbeat: 100 })
      const reader = await s.open(s.hubUrl(['beat']))
      await reader.waitForComments(3)
      expect(reader.eventCount).toBe(0)
    })

    it("bounds the queue of a client that stops reading, and closes it under 'close'", async () => {
      const maxBufferedBytes = 64 * 1024
      s.streamOptions = { heartbeat: false, maxBufferedBytes, onOverflow: 'close' }
      const reader = await s.open(s.streamUrl())
      const stream = await s.nextStream()
      let reason: string | undefined
      stream.onClose((why) => {
        reason = why
      })
      await reader.waitForComments(1)
      reader.pause()
      const { maxBuffered } = await withTimeout(
        flood(stream, () => stream.closed, 64 * 1024 * 1024),
        20_000,
        'flooding a paused client until it overflows',
      )
      expect(maxBuffered).toBeGreaterThan(0) // the sink reported backpressure and the queue was used
      expect(maxBuffered).toBeLessThanOrEqual(maxBufferedBytes)
      expect(stream.signal.aborted).toBe(true)
      expect(reason).toBe('overflow')
      // The client got a prefix of the events, nothing skipped; it would reconnect and resume.
      reader.resume()
      await reader.waitForEnd(10_000)
      expect(reader.events.every((event, i) => event.id === String(i))).toBe(true)
    })

    it("bounds the queue of a client that stops reading, and drops events under 'drop'", async () => {
      const maxBufferedBytes = 64 * 1024
      s.streamOptions = { heartbeat: false, maxBufferedBytes, onOverflow: 'drop' }
      const reader = await s.open(s.streamUrl())
      const stream = await s.nextStream()
      await reader.waitForComments(1)
      reader.pause()
      const { sent, maxBuffered } = await withTimeout(
        flood(stream, () => stream.droppedEvents > 0 || stream.closed, 64 * 1024 * 1024),
        20_000,
        'flooding a paused client until it drops',
      )
      expect(maxBuffered).toBeGreaterThan(0)
      expect(maxBuffered).toBeLessThanOrEqual(maxBufferedBytes)
      expect(stream.closed).toBe(false)
      expect(stream.droppedEvents).toBeGreaterThan(0)

      reader.resume()
      await pollUntil(
        () => stream.bufferedBytes === 0,
        10_000,
        () => `the queue to drain (${stream.bufferedBytes} bytes)`,
      )
      stream.send({ id: 'last', data: 'after the drops' })
      await reader.waitForEvent((event) => event.id === 'last', 10_000)
      const received = reader.events.filter((event) => event.id !== 'last')
      expect(received.length + stream.droppedEvents).toBe(sent)
      const seqs = received.map((event) => Number(event.id))
      expect(seqs.every((seq, i) => i === 0 || seq > seqs[i - 1]!)).toBe(true)
    })

    it(
      'delivers every byte of a 50 MiB publish loop paced by hub.ready() to a reader at full speed',
      async () => {
        const EVENT_BYTES = 4096
        const EVENTS = (50 * 1024 * 1024) / EVENT_BYTES
        const counter = orderedCounter()
        const reader = await s.open(s.hubUrl(['bulk']), { keepEvents: false, onEvent: counter.onEvent })
        await s.hubSize(1)
        const [stream] = s.hub.subscribed
        let maxQueued = 0
        const publishing = (async () => {
          for (let seq = 0; seq < EVENTS; ) {
            const batch: Promise<string>[] = []
            for (let i = 0; i < 64 && seq < EVENTS; i++)
              batch.push(s.hub.publish('bulk', { data: numbered(seq++, EVENT_BYTES) }))
            await Promise.all(batch)
            maxQueued = Math.max(maxQueued, stream!.bufferedBytes)
            await s.hub.ready('bulk')
          }
        })()
        await withTimeout(publishing, 120_000, 'publishing 50 MiB paced by hub.ready()')
        await reader.waitUntil(() => counter.count === EVENTS, 120_000, `all ${EVENTS} events`)
        expect(counter.ok).toBe(true)
        expect(stream!.closed).toBe(false)
        // Paced, core never held more than the batch in flight.
        expect(maxQueued).toBeLessThanOrEqual(64 * (EVENT_BYTES + 64))
        expect(s.hub.stats).toMatchObject({ slowCloses: 0, overflowCloses: 0, dropped: 0 })
      },
      HEAVY_TEST_MS,
    )

    it(
      'delivers every byte of a 50 MiB per-stream loop that awaits stream.ready(), never queueing in core',
      async () => {
        s.streamOptions = { heartbeat: false }
        const EVENT_BYTES = 4096
        const EVENTS = (50 * 1024 * 1024) / EVENT_BYTES
        const counter = orderedCounter()
        const reader = await s.open(s.streamUrl(), { keepEvents: false, onEvent: counter.onEvent })
        const stream = await s.nextStream()
        let maxQueued = 0
        const producing = (async () => {
          let seq = 0
          while (seq < EVENTS && (await stream.ready())) {
            stream.send({ data: numbered(seq++, EVENT_BYTES) })
            maxQueued = Math.max(maxQueued, stream.bufferedBytes)
          }
          return seq
        })()
        expect(await withTimeout(producing, 120_000, 'a 50 MiB awaited-write loop')).toBe(EVENTS)
        await reader.waitUntil(() => counter.count === EVENTS, 120_000, `all ${EVENTS} events`)
        expect(counter.ok).toBe(true)
        expect(maxQueued).toBe(0)
        // A loop with no end stops cleanly when the client goes away: ready() resolves false.
        const endless = (async () => {
          let more = 0
          while (await stream.ready()) stream.send({ data: numbered(EVENTS + more++, EVENT_BYTES) })
          return stream.closeReason
        })()
        await reader.close()
        expect(await withTimeout(endless, 10_000, 'the endless loop to end once the client left')).toBe(
          'client',
        )
      },
      HEAVY_TEST_MS,
    )

    it(
      '20 readers at full speed get every event while exactly the 5 that never read are closed as slow',
      async () => {
        // 20, not 100 (bench/flow.mjs runs 100 + 5 per adapter, one process at a time): every stream
        // here fills kernel socket buffers of up to 4 MiB, and under \`npm test\` several adapters run
        // this case at once; 105 streams each pushed Linux into TCP memory pressure in CI, which
        // stalls every socket on the machine, healthy ones too (they were then cut as slow).
        const HEALTHY = 20
        const STALLED = 5
        const EVENT_BYTES = 1024
        // Enough for a stalled reader's socket buffers (a few MiB on loopback) to fill.
        const EVENTS = 8192
        // 32 rounds of 256 KiB: each round waits for all 105 streams, so fewer rounds hold up under load.
        const BATCH = 256
        s.streamOptions = { heartbeat: false } // the default slowAfterMs (5 s): a healthy reader on a loaded machine is never near it
        const counters = Array.from({ length: HEALTHY }, () => orderedCounter())
        const healthy = await Promise.all(
          counters.map((counter) => s.open(s.streamUrl(), { keepEvents: false, onEvent: counter.onEvent })),
        )
        const stalled = await Promise.all(Array.from({ length: STALLED }, () => s.open(s.streamUrl())))
        const streams: EventStream[] = []
        for (let i = 0; i < HEALTHY + STALLED; i++) streams.push(await s.nextStream())
        await Promise.all(stalled.map((reader) => reader.waitForComments(1)))
        for (const reader of stalled) reader.pause()
        const reasons: string[] = []
        s.hub.on('unsubscribe', ({ reason }) => reasons.push(reason))
        // The streams of the per-client route, subscribed to the suite's hub: each adapter's own stream.
        await Promise.all(streams.map((stream) => s.hub.subscribe(stream, { topics: ['crowd'] })))
        let maxQueued = 0
        const publishing = (async () => {
          for (let seq = 0; seq < EVENTS; ) {
            const batch: Promise<string>[] = []
            for (let i = 0; i < BATCH && seq < EVENTS; i++)
              batch.push(s.hub.publish('crowd', { data: numbered(seq++, EVENT_BYTES) }))
            await Promise.all(batch)
            maxQueued = Math.max(maxQueued, queuedBytes(streams))
            await s.hub.ready('crowd')
          }
        })()
        await withTimeout(publishing, 120_000, 'publishing to 100 healthy and 5 stalled readers')
        await Promise.all(
          healthy.map((reader, i) =>
            reader.waitUntil(
              () => counters[i]!.count === EVENTS,
              60_000,
              `reader ${i}: all ${EVENTS} events`,
            ),
          ),
        )
        expect(counters.every((counter) => counter.ok)).toBe(true)
        expect(streams.slice(0, HEALTHY).every((stream) => !stream.closed)).toBe(true)
        expect(streams.slice(HEALTHY).map((stream) => stream.closeReason)).toEqual(
          Array(STALLED).fill('slow'),
        )
        expect(reasons).toEqual(Array(STALLED).fill('slow'))
        expect(s.hub.stats).toMatchObject({ slowCloses: STALLED, overflowCloses: 0, dropped: 0 })
        // Memory: core held at most about one batch per stream at any moment (generous bound).
        expect(maxQueued).toBeLessThanOrEqual((HEALTHY + STALLED) * BATCH * (EVENT_BYTES + 64))
      },
      HEAVY_TEST_MS,
    )

    it('frees the stream and the registry when the client aborts', async () => {
      const reader = await s.open(s.streamUrl())
      const stream = await s.nextStream()
      expect(stream.signal.aborted).toBe(false)
      await reader.close()
      await pollUntil(() => stream.signal.aborted, 1000, 'stream.signal to abort after the client left')

      const hubReaders = await Promise.all([1, 2, 3].map(() => s.open(s.hubUrl(['abort', 'other']))))
      await s.hubSize(3)
      await Promise.all(hubReaders.map((hubReader) => hubReader.close()))
      await pollUntil(
        () => s.hub.size === 0 && s.hub.topics().size === 0,
        1000,
        () => `the hub to forget the streams (size ${s.hub.size})`,
      )
      expect(s.hub.subscribed.every((hubStream) => hubStream.signal.aborted)).toBe(true)
    })

    it('ends every hub stream on hub.close(), with a retry, and the server then closes promptly', async () => {
      const server = await s.startServer()
      const readers = await Promise.all(
        ['x', 'y', 'z'].map((topic) => s.open(s.hubUrl([topic, 'all'], {}, server))),
      )
      const streamReader = await s.open(s.streamUrl({}, server))
      const stream = await s.nextStream()
      await s.hubSize(3)
      await withTimeout(s.hub.close({ event: { event: 'bye', data: 'shutting down' } }), 2000, 'hub.close()')
      for (const reader of readers) {
        expect(await reader.waitForEnd()).toBe('end')
        expect(reader.events.at(-1)).toMatchObject({ event: 'bye', data: 'shutting down' })
        expect(reader.retries).toHaveLength(2) // the hub's as it subscribed, then close()'s
        expect(reader.retries.at(-1)).toBeGreaterThanOrEqual(1000)
        expect(reader.retries.at(-1)).toBeLessThanOrEqual(5000)
      }
      expect(s.hub.size).toBe(0)
      // The per-client stream is still open: close() must not wait on it.
      await withTimeout(server.close(), 2000, 'server close() with a live stream')
      await streamReader.waitForEnd()
      await pollUntil(() => stream.signal.aborted, 2000, 'the live stream to abort when the server closed')
    })

    withEventSource(
      'works with the eventsource client: named events, then a reconnect with Last-Event-ID',
      async () => {
        s.streamOptions = { heartbeat: false }
        const source = await s.openSource(s.streamUrl(), { eventNames: ['greeting'] })
        const stream = await s.nextStream()
        expect(stream.lastEventId).toBeUndefined()
        stream.send({ id: '1', data: 'unnamed' })
        stream.send({ id: '2', event: 'greeting', data: 'named' })
        await source.waitFor(2)
        // The server ends the stream, asking for a quick reconnect.
        stream.send({ retry: 20 })
        stream.close()
        const again = await s.nextStream()
        expect(again.lastEventId).toBe('2')
        expect(source.requests.at(-1)?.['last-event-id']).toBe('2')
        again.send({ id: '3', data: 'resumed' })
        const messages = await source.waitFor(3)
        expect(messages.map(({ type, data, lastEventId }) => [type, data, lastEventId])).toEqual([
          ['message', 'unnamed', '1'],
          ['greeting', 'named', '2'],
          ['message', 'resumed', '3'],
        ])
        expect(source.opens).toBe(2)
      },
    )

    withEventSource(
      'works with the eventsource client on the hub: resumes exactly the missed events',
      async () => {
        const source = await s.openSource(s.hubUrl(['es']), { eventNames: ['named'] })
        await s.hubSize(1)
        await s.hub.publish('es', { data: 'one' })
        await s.hub.publish('es', { event: 'named', data: 'two' })
        await source.waitFor(2)
        const [first] = s.hub.subscribed
        // The server ends the stream; two events are published before the client is back.
        first!.send({ retry: 20 })
        first!.close()
        const missed = [
          s.hub.publish('es', { data: 'three' }),
          s.hub.publish('es', { event: 'named', data: 'four' }),
        ]
        await Promise.all(missed)
        await source.waitForOpens(2)
        await s.hubSize(1)
        await s.hub.publish('es', { data: 'five' })
        const messages = await source.waitFor(5)
        expect(messages.map(({ type, data }) => [type, data])).toEqual([
          ['message', 'one'],
          ['named', 'two'],
          ['message', 'three'],
          ['named', 'four'],
          ['message', 'five'],
        ])
        expect(source.requests[1]?.['last-event-id']).toBe(messages[1]!.lastEventId)
        expect(s.hub.stats.replayed).toBe(2)
      },
    )
  })
}
