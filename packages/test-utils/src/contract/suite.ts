/**
 * The state of one `describeAdapterContract` block, shared by every file of cases: the fixture the
 * adapter wires its routes to, the server, and everything a case opens (readers, sources, streams,
 * extra servers), closed after each case. A case reads and writes it as `s`.
 */
import { createHub, type EventStream, type Hub, type HubOptions } from '@sse/core'
import { expect } from 'vitest'
import { type PlainAnswer, readAnswer } from '../read-answer.ts'
import { type EventStreamReader, type OpenEventStreamOptions, openEventStream } from '../read-events.ts'
import {
  type EventSourceReader,
  type ReadWithEventSourceOptions,
  readWithEventSource,
} from '../read-with-event-source.ts'
import type { TestServer } from '../server.ts'
import { DEFAULT_TIMEOUT_MS, pollUntil, withTimeout } from '../with-timeout.ts'
import {
  type AdapterFixture,
  type ContractAuthorize,
  type ContractHubOptions,
  type ContractKey,
  type ContractStreamOptions,
  createSuiteHub,
  HUB_PATH,
  STREAM_PATH,
  type StartContractServer,
  TEST_PARAM,
} from './fixture.ts'

interface HandedStream {
  readonly stream: EventStream
  readonly url: string
}

const allowEveryone: ContractAuthorize = () => true
const noKey: ContractKey = () => undefined

/** State shared by the cases of one `describeAdapterContract` block. */
export class ContractSuite implements AdapterFixture {
  readonly paths = { stream: STREAM_PATH, hub: HUB_PATH } as const
  readonly hub = createSuiteHub()
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

  hubOptions<Req>(urlOf: (req: Req) => string): ContractHubOptions<Req> {
    return {
      hub: this.hub,
      topics: (req) => this.topicsOf(urlOf(req)),
      authorize: (req, context) => this.authorize(urlOf(req), context),
      key: (req) => this.key(urlOf(req)),
    }
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

/** What a file of cases registers its cases with. */
export interface ContractCases {
  /** The suite's state: fixture, server, and what the cases opened. */
  readonly s: ContractSuite
  /** The server speaks h2c. */
  readonly http2: boolean
  /**
   * Registers a case read with the `eventsource` client. Only over HTTP/1.1: undici does not speak
   * h2c, so over HTTP/2 such a case is not registered at all (rather than shown as skipped).
   */
  readonly withEventSource: (name: string, test: () => Promise<void>) => void
}
