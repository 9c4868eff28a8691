/**
 * The framework-neutral part of every adapter's hub handler: decide, from a request, whether
 * to subscribe it and to which topics, or how to refuse it. Adapters call `decideHubRoute` and
 * then either open a stream and subscribe it, or send the refusal in their framework's idiom
 * (so the framework's own hooks, logging and error handling see it).
 *
 * Refusals are real HTTP answers, not streams. A browser's EventSource stops for good on any
 * non-200: use 401/403 for auth failures and 204 to tell a client to stop reconnecting. A
 * missing or bad `Last-Event-ID` is never a reason to refuse. Everything that decides access
 * fails closed: only an explicit `true` from `authorize` lets a request through.
 */
import { SseError } from './errors.ts'
import type { DefaultEventMap } from './event-map.ts'
import type { EventStreamOptions } from './event-stream.ts'
import { describeInvalidPrincipalAndTags, describeInvalidTopic, type Hub, type HubEntry } from './hub.ts'

/** How to refuse a request: status, optional body (a string is sent as text, anything else as JSON), headers. */
export interface Refusal {
  readonly status: number
  readonly body?: unknown
  readonly headers?: Readonly<Record<string, string>> | undefined
}

/**
 * An allow that says who the reader is: the stream carries its `principal` and `tags`, for
 * `hub.revoke()` and `hub.presence()`. Only `allow: true` allows.
 */
export interface Grant {
  readonly allow: true
  readonly principal?: string | undefined
  readonly tags?: readonly string[] | undefined
}

/**
 * What `authorize` returns: `true` or a `Grant` (`{ allow: true, principal: user.id }`) to
 * allow, `false` for 403, or a `Refusal` for any other answer (`{ status: 401, body: { error:
 * 'login required' } }`, `{ status: 204 }`). It fails closed: anything else (`undefined` from a
 * forgotten `return`, `null`, `user?.canRead` with no user, a number, a string, `{}`) is a 500
 * with a generic body, and the hub's `error` event gets the detail.
 */
export type AuthorizeResult = boolean | Refusal | Grant

/** What `authorize` is told besides the request. */
export interface AuthorizeContext {
  /** The topics the request asks for, validated: decide whether this caller may read them. */
  readonly topics: readonly string[]
}

export interface HubRouteOptions<Req, M extends object = DefaultEventMap>
  extends Omit<EventStreamOptions, 'lastEventId'> {
  /** The hub to subscribe to. */
  hub: Hub<M>
  /** Topics for this request, e.g. `(req) => [\`user:${req.user.id}\`, 'news']`. Runs first. */
  topics: (request: Req) => readonly string[] | Promise<readonly string[]>
  /**
   * Runs once the topics are known and valid; only `true` lets the request through (see
   * `AuthorizeResult`). A throw is a 500 with a generic body; the error goes to the hub's
   * `error` event, never to the client.
   */
  authorize?:
    | ((request: Req, context: AuthorizeContext) => AuthorizeResult | Promise<AuthorizeResult>)
    | undefined
  /** A per-stream filter for this request's events. */
  filter?: ((request: Req) => ((entry: HubEntry) => boolean) | undefined) | undefined
  /**
   * Whose stream this is, for the hub's `maxStreamsPerKey` (429 past it): a user id, a session.
   * Adapters default it to the client's address; return `undefined` for no per-key limit.
   */
  key?: ((request: Req) => string | undefined) | undefined
}

/** A refusal, ready to send. */
export interface RefusalResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  /** `undefined` for 204/205/304 and for refusals without a body. */
  readonly body: string | undefined
}

export type HubRouteDecision =
  | {
      readonly kind: 'subscribe'
      readonly topics: readonly string[]
      readonly filter: ((entry: HubEntry) => boolean) | undefined
      readonly key: string | undefined
      /** From a `Grant`: who reads the stream, and its tags. */
      readonly principal: string | undefined
      readonly tags: readonly string[] | undefined
    }
  | { readonly kind: 'refuse'; readonly response: RefusalResponse }

/** Seconds a client is told to wait (`Retry-After`) when a hub is at one of its limits. */
const LIMIT_RETRY_AFTER_S = 5

/** Turns a refusal into status, headers and body. */
export function toRefusalResponse(refusal: Refusal): RefusalResponse {
  const headers: Record<string, string> = { ...refusal.headers }
  const noBody = refusal.status === 204 || refusal.status === 205 || refusal.status === 304
  if (noBody || refusal.body === undefined) return { status: refusal.status, headers, body: undefined }
  const isText = typeof refusal.body === 'string'
  headers['Content-Type'] ??= isText ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8'
  return {
    status: refusal.status,
    headers,
    body: isText ? (refusal.body as string) : JSON.stringify(refusal.body),
  }
}

/**
 * Decides what to do with a request to a hub route, before any byte of the response: `topics`
 * (400 naming the problem when invalid or too many), then `authorize` with those topics (fails
 * closed), then the hub's limits (503 when the hub is full, 429 when this key has too many
 * streams, both with `Retry-After`). What `topics` or `authorize` throw, or an `authorize` that
 * returns neither a boolean nor a `Refusal`, is a 500 with a generic body; the detail goes to
 * the hub's `error` event, never to the client. An `authorize` that throws an error carrying a
 * 4xx `status` (or `statusCode`), as `ctx.throw(401)` or `new HTTPException(403)` do, is refused
 * with that status and a generic body.
 *
 * @example
 * const decision = await decideHubRoute(req, options)
 * if (decision.kind === 'refuse') return send(decision.response)
 * await options.hub.subscribe(openStream(), decision)
 */
export async function decideHubRoute<Req, M extends object = DefaultEventMap>(
  request: Req,
  options: HubRouteOptions<Req, M>,
): Promise<HubRouteDecision> {
  const { hub } = options
  let grant: Grant | undefined
  let topics: readonly string[]
  try {
    topics = await options.topics(request)
  } catch (error) {
    return internalError(hub, error)
  }
  const problem = topicProblem(topics, hub.limits.maxTopicsPerStream)
  if (problem) return refuse({ status: 400, body: { error: problem } })
  if (options.authorize) {
    let verdict: unknown
    try {
      verdict = await options.authorize(request, { topics })
    } catch (error) {
      // A framework's own way to refuse (`ctx.throw(401)`, Hono's `HTTPException(403)`,
      // `httpErrors.unauthorized()`): an error that carries a 4xx status is that refusal. Its
      // message stays out of the body all the same; anything else is a 500.
      const status = clientErrorStatus(error)
      if (status !== undefined) return refuse({ status, body: { error: REFUSAL_TEXT[status] ?? 'refused' } })
      return internalError(hub, error)
    }
    if (verdict === false) return refuse({ status: 403, body: { error: 'forbidden' } })
    if (isGrant(verdict)) {
      grant = verdict
      const problem = describeInvalidPrincipalAndTags(verdict.principal, verdict.tags)
      if (problem)
        return internalError(
          hub,
          new SseError(
            'SSE_INVALID_OPTION',
            `authorize returned a Grant whose ${problem}; the request was refused with 500`,
          ),
        )
    } else if (verdict !== true) {
      if (isRefusal(verdict)) return refuse(verdict)
      return internalError(
        hub,
        new SseError(
          'SSE_INVALID_OPTION',
          `authorize returned ${describe(verdict)}: return true to allow, false or a Refusal ({ status }) to refuse; the request was refused with 500`,
        ),
      )
    }
  }
  let key: string | undefined
  try {
    key = options.key?.(request)
  } catch (error) {
    return internalError(hub, error)
  }
  if (hub.size >= hub.limits.maxStreams) {
    return refuse({
      status: 503,
      body: { error: 'too many streams on this server; retry later' },
      headers: { 'Retry-After': String(LIMIT_RETRY_AFTER_S) },
    })
  }
  if (key !== undefined && hub.keySize(key) >= hub.limits.maxStreamsPerKey) {
    return refuse({
      status: 429,
      body: { error: 'too many streams open from this client; close some, or retry later' },
      headers: { 'Retry-After': String(LIMIT_RETRY_AFTER_S) },
    })
  }
  return {
    kind: 'subscribe',
    topics,
    filter: options.filter?.(request),
    key,
    principal: grant?.principal,
    tags: grant?.tags,
  }
}

/** Bodies of the refusals an `authorize` throws, by status: the error's own message is never sent. */
const REFUSAL_TEXT: Readonly<Record<number, string>> = {
  400: 'bad request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not found',
  429: 'too many requests',
}

/** The 4xx status an error carries as `status` or `statusCode` (the Node frameworks' convention), if any. */
function clientErrorStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const { status, statusCode } = error as { status?: unknown; statusCode?: unknown }
  const value = Number.isInteger(status) ? status : statusCode
  return Number.isInteger(value) && (value as number) >= 400 && (value as number) <= 499
    ? (value as number)
    : undefined
}

function refuse(refusal: Refusal): HubRouteDecision {
  return { kind: 'refuse', response: toRefusalResponse(refusal) }
}

/** A 500 that says nothing of the cause; the cause goes to the hub's `error` listeners. */
function internalError(hub: Pick<Hub, 'reportError'>, error: unknown): HubRouteDecision {
  hub.reportError(error)
  return refuse({ status: 500, body: { error: 'internal error' } })
}

function isGrant(value: unknown): value is Grant {
  return typeof value === 'object' && value !== null && (value as { allow?: unknown }).allow === true
}

function isRefusal(value: unknown): value is Refusal {
  if (typeof value !== 'object' || value === null) return false
  const status = (value as { status?: unknown }).status
  return Number.isInteger(status) && (status as number) >= 200 && (status as number) <= 599
}

function describe(value: unknown): string {
  if (value === null || value === undefined || typeof value !== 'object')
    return String(JSON.stringify(value) ?? value)
  return 'an object without a valid status'
}

function topicProblem(topics: readonly string[], maxTopics: number): string | undefined {
  if (!Array.isArray(topics) || topics.length === 0) return 'no topics to subscribe to'
  for (const topic of topics) {
    const problem = describeInvalidTopic(topic)
    if (problem) return problem
  }
  if (new Set(topics).size > maxTopics)
    return `at most ${maxTopics} topics per stream, got ${new Set(topics).size}`
  return undefined
}
