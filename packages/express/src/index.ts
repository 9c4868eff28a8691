/**
 * `@sse/express`: Server-Sent Events for Express 4 and 5, on `@sse/core`.
 * - `sse(req, res)` turns one request into an `EventStream` (a clock, a job's progress, an LLM answer).
 * - `sseHub({ hub, topics, authorize })` is middleware that subscribes the request to hub topics.
 * `compression` keeps working: the SSE headers say `no-transform`, and `res.flush()` is called
 * after every write when compression is in the stack.
 */

import type { DefaultEventMap, EventStream, EventStreamOptions, HubRouteOptions } from '@sse/core'
import { decideHubRoute } from '@sse/core'
import { createNodeEventStream } from '@sse/core/node'
import type { NextFunction, Request, RequestHandler, Response } from 'express'

/** Options of a stream; `Last-Event-ID` is read from the request. */
export type SseOptions = Omit<EventStreamOptions, 'lastEventId'>

/** Options of `sseHub`: the hub, `topics(req)`, optional `authorize(req, { topics })`, `key(req)` and `filter(req)`, and stream options. */
export type SseHubOptions<M extends object = DefaultEventMap> = HubRouteOptions<Request, M>

/**
 * Opens an event stream on this request. It closes, and cleans up, when the client leaves.
 *
 * @example
 * app.get('/clock', (req, res) => {
 *   const stream = sse(req, res)
 *   const timer = setInterval(() => stream.send({ event: 'tick', data: new Date().toISOString() }), 1000)
 *   stream.onClose(() => clearInterval(timer))
 * })
 */
export function sse<M extends object = DefaultEventMap>(
  req: Request,
  res: Response,
  options?: SseOptions,
): EventStream<M> {
  return createNodeEventStream<M>(req, res, options)
}

/** The default `key` of `sseHub`: the client's address (`req.ip`, which follows Express's `trust proxy`). */
const clientAddress = (req: Request): string | undefined => req.ip ?? req.socket.remoteAddress

/**
 * Middleware subscribing each request to hub topics chosen from it, after `authorize` (only
 * `true` allows) and within the hub's limits (`key` defaults to `req.ip`). A refusal is a plain
 * response (403 for `false`, or the `Refusal` `authorize` returned). What `topics` or `authorize`
 * throw is a 500 with a generic body, reported on `hub.on('error')`, not to the error middleware.
 *
 * @example
 * app.get('/events', sseHub({ hub, topics: (req) => String(req.query.topics ?? 'news').split(',') }))
 */
export function sseHub<M extends object = DefaultEventMap>(options: SseHubOptions<M>): RequestHandler {
  const { hub, topics, authorize, filter, ...streamOptions } = options
  return (req: Request, res: Response, next: NextFunction) => {
    decideHubRoute(req, { ...options, key: options.key ?? clientAddress })
      .then((decision) => {
        if (decision.kind === 'subscribe') return hub.subscribe(sse<M>(req, res, streamOptions), decision)
        const { status, headers, body } = decision.response
        res.status(status).set(headers)
        if (body === undefined) res.end()
        else res.send(body)
        return undefined
      })
      .catch(next)
  }
}
