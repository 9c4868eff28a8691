/**
 * The framework-neutral part of every adapter's hub handler: decide, from a request, whether
 * to subscribe it and to which topics, or how to refuse it. Adapters call `decideHubRoute` and
 * then either open a stream and subscribe it, or send the refusal in their framework's idiom
 * (so the framework's own hooks, logging and error handling see it).
 *
 * Refusals are real HTTP answers, not streams. A browser's EventSource stops for good on any
 * non-200: use 401/403 for auth failures and 204 to tell a client to stop reconnecting. A
 * missing or bad `Last-Event-ID` is never a reason to refuse.
 */
import type { DefaultEventMap } from './event-map.ts'
import type { EventStreamOptions } from './event-stream.ts'
import { describeInvalidTopic, type Hub, type HubEntry } from './hub.ts'

/** How to refuse a request: status, optional body (a string is sent as text, anything else as JSON), headers. */
export interface Refusal {
  readonly status: number
  readonly body?: unknown
  readonly headers?: Readonly<Record<string, string>> | undefined
}

/**
 * What `authorize` returns: `true` or nothing to allow; `false` for 403; a `Refusal` for any
 * other answer (`{ status: 401, body: { error: 'login required' } }`, `{ status: 204 }`).
 */
// biome-ignore lint/suspicious/noConfusingVoidType: an `authorize` that returns nothing must type-check as "allow".
export type AuthorizeResult = boolean | Refusal | undefined | void

export interface HubRouteOptions<Req, M extends object = DefaultEventMap>
  extends Omit<EventStreamOptions, 'lastEventId'> {
  /** The hub to subscribe to. */
  hub: Hub<M>
  /** Topics for this request, e.g. `(req) => [\`user:${req.user.id}\`, 'news']`. */
  topics: (request: Req) => readonly string[] | Promise<readonly string[]>
  /** Runs first; may refuse the request (see `AuthorizeResult`). Throwing goes to the framework's error handling. */
  authorize?: ((request: Req) => AuthorizeResult | Promise<AuthorizeResult>) | undefined
  /** A per-stream filter for this request's events. */
  filter?: ((request: Req) => ((entry: HubEntry) => boolean) | undefined) | undefined
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
    }
  | { readonly kind: 'refuse'; readonly response: RefusalResponse }

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
 * Decides what to do with a request to a hub route: `authorize`, then `topics`.
 * Invalid topics (empty, too long, not strings) refuse with 400 and a message that names them.
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
  if (options.authorize) {
    const verdict = await options.authorize(request)
    if (verdict === false) {
      return { kind: 'refuse', response: toRefusalResponse({ status: 403, body: { error: 'forbidden' } }) }
    }
    if (verdict !== true && verdict !== undefined && verdict !== null) {
      return { kind: 'refuse', response: toRefusalResponse(verdict) }
    }
  }
  const topics = await options.topics(request)
  const problem = topicProblem(topics)
  if (problem)
    return { kind: 'refuse', response: toRefusalResponse({ status: 400, body: { error: problem } }) }
  return { kind: 'subscribe', topics, filter: options.filter?.(request) }
}

function topicProblem(topics: readonly string[]): string | undefined {
  if (!Array.isArray(topics) || topics.length === 0) return 'no topics to subscribe to'
  for (const topic of topics) {
    const problem = describeInvalidTopic(topic)
    if (problem) return problem
  }
  return undefined
}
