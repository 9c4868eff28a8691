/**
 * What an adapter's test sees of the contract suite: the fixture its two routes are wired to, the
 * `start` it passes, and the `Hub` behind `fixture.hub` (one object per file that forwards to a
 * fresh hub per test and remembers the streams the hub route subscribed).
 */
import {
  type AuthorizeContext,
  type AuthorizeResult,
  createHub,
  type EventStream,
  type EventStreamOptions,
  type Hub,
  type SubscribeOptions,
} from '@sse/core'
import type { TestServer } from '../server.ts'

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
  /**
   * The hub route's options wired as above, for a framework whose request gives its path and
   * query through `urlOf`: `sseHub(fixture.hubOptions((req) => req.originalUrl))`.
   */
  hubOptions<Req>(urlOf: (req: Req) => string): ContractHubOptions<Req>
}

/** What `fixture.hubOptions` hands to the adapter's hub handler. */
export interface ContractHubOptions<Req> {
  readonly hub: Hub
  topics(req: Req): string[]
  authorize(req: Req, context: AuthorizeContext): AuthorizeResult | Promise<AuthorizeResult>
  key(req: Req): string | undefined
}

/** What `start` returns: the base URL (no trailing slash) and a `close` that always completes. */
export type StartContractServer = (fixture: AdapterFixture) => Promise<TestServer>

export interface AdapterContractOptions {
  /** The server speaks h2c (HTTP/2 without TLS): read with a `node:http2` client; the `eventsource` cases are left out (undici does not speak h2c). */
  http2?: boolean | undefined
}

export const STREAM_PATH = '/stream'
export const HUB_PATH = '/hub'
/** Query parameter naming the test that opened a request, so a late request of a finished test is refused. */
export const TEST_PARAM = 'contract-test'

/**
 * The `Hub` behind `fixture.hub`: every member is the current test's hub's (so it follows `Hub`
 * as core's interface grows), except `subscribe`, which also remembers the streams the hub route
 * subscribed and runs `afterSubscribe` right after a subscription started (its replay may still
 * be in flight).
 */
export interface SuiteHub extends Hub {
  /** The current test's hub. */
  current: Hub
  /** Streams the hub route subscribed during the current test. */
  subscribed: EventStream[]
  afterSubscribe: ((stream: EventStream) => void) | undefined
}

export function createSuiteHub(): SuiteHub {
  const state: Pick<SuiteHub, 'current' | 'subscribed' | 'afterSubscribe'> = {
    current: createHub({ heartbeat: false }),
    subscribed: [],
    afterSubscribe: undefined,
  }
  const subscribe = (stream: EventStream, options: SubscribeOptions): Promise<void> => {
    state.subscribed.push(stream)
    const subscribing = state.current.subscribe(stream, options)
    state.afterSubscribe?.(stream)
    return subscribing
  }
  return new Proxy(state, {
    get(target, key) {
      if (key === 'subscribe') return subscribe
      if (key in target) return Reflect.get(target, key)
      const value: unknown = Reflect.get(target.current, key, target.current)
      return typeof value === 'function' ? value.bind(target.current) : value
    },
    set(target, key, value) {
      if (!(key in target)) return false
      return Reflect.set(target, key, value)
    },
  }) as SuiteHub
}
