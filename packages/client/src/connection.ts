/**
 * One connection: `openConnection` makes the request (following redirects within the origin)
 * and checks the response; `readEventStream` reads the opened body through the parser, under the
 * idle watchdog, pausing while a `for await` loop lags. Each returns an `Attempt` for every
 * expected failure, never a throw; the reconnection loop (`client.ts`) decides what comes next.
 */
import type { Attempt } from './attempt.ts'
import { cancelBody, checkResponse } from './check-response.ts'
import type { ClientConfig, RequestContext } from './connect-options.ts'
import { describeCause, SseClientError } from './errors.ts'
import { createEventStreamParser, type EventStreamHandlers } from './event-stream-parser.ts'
import { watchIdle } from './idle-watchdog.ts'
import { followRedirect } from './redirect.ts'
import { createRequestInit } from './request-init.ts'

/** A response that opened an event stream. */
export interface Opened {
  readonly kind: 'open'
  readonly response: Response
}

/**
 * Requests the stream for one attempt. `controller` aborts the request (the client closing);
 * `closed` is asked after each wait, so a client closed meanwhile gets `{ kind: 'closed' }`.
 *
 * @example
 * const outcome = await openConnection(config, { attempt: 0, lastEventId: '' }, controller, () => closed)
 * if (outcome.kind === 'open') await readEventStream(outcome.response.body, …)
 */
export async function openConnection(
  config: ClientConfig,
  context: RequestContext,
  controller: AbortController,
  closed: () => boolean,
): Promise<Attempt | Opened> {
  let init: RequestInit
  try {
    init = await createRequestInit(config, context, controller.signal)
  } catch (cause) {
    if (closed()) return { kind: 'closed' }
    const error = new SseClientError(
      'SSE_CLIENT_REQUEST_INIT',
      `the headers or body for ${config.url} could not be made: ${describeCause(cause)}`,
      { cause },
    )
    return { kind: 'stop', reason: 'error', error }
  }
  if (closed()) return { kind: 'closed' }

  let response: Response
  let target = config.url
  for (let hops = 0; ; hops++) {
    try {
      response = await (config.fetch ?? fetch)(target, init)
    } catch (cause) {
      if (closed()) return { kind: 'closed' }
      const error = new SseClientError(
        'SSE_CLIENT_NETWORK',
        `fetch ${target} failed: ${describeCause(cause)}`,
        {
          cause,
        },
      )
      return { kind: 'retry', error }
    }
    if (closed()) {
      cancelBody(response)
      return { kind: 'closed' }
    }
    const next = followRedirect(response, target, init, hops, config.url)
    if (next === undefined) break
    cancelBody(response)
    if (next instanceof SseClientError) return { kind: 'stop', reason: 'error', error: next }
    target = next.url
    init = next.init
  }
  return (
    (await checkResponse(response, target, config.policy, config.timers, closed)) ?? {
      kind: 'open',
      response,
    }
  )
}

/** What `readEventStream` needs besides the body. */
export interface StreamReading {
  readonly config: Pick<ClientConfig, 'url' | 'timers' | 'idleTimeout' | 'maxEventSize'>
  /** The connection's: aborted when the reading ends, and by the idle watchdog. */
  readonly controller: AbortController
  /** When the stream opened (`timers.now()`). */
  readonly openedAt: number
  /** The last event ID the stream starts with. */
  readonly lastEventId: string
  /** Where the parser's events, ids and `retry:` go. */
  readonly handlers: Omit<EventStreamHandlers, 'onOverflow'>
  /** Whether the client closed (asked after each wait and each chunk). */
  closed(): boolean
  /** A promise while a `for await` loop lags (reading waits for it), else `undefined`. */
  room(): Promise<void> | undefined
}

/**
 * Reads one open stream to its end: `retry` when the server ends it or the network breaks it,
 * `stop` for an event past `maxEventSize` (reconnecting would fetch it again).
 *
 * @example
 * const attempt = await readEventStream(response.body, { config, controller, openedAt, … })
 */
export async function readEventStream(
  body: ReadableStream<Uint8Array>,
  reading: StreamReading,
): Promise<Attempt> {
  const { config, controller, openedAt } = reading
  const reader = body.getReader()
  let tooLarge: SseClientError | undefined
  const parser = createEventStreamParser(
    {
      ...reading.handlers,
      onOverflow: () => {
        tooLarge = new SseClientError(
          'SSE_CLIENT_EVENT_TOO_LARGE',
          `an event from ${config.url} is longer than maxEventSize (${config.maxEventSize} characters); raise maxEventSize if that is expected`,
        )
      },
    },
    { lastEventId: reading.lastEventId, maxEventSize: config.maxEventSize },
  )
  const idle = watchIdle(config.timers, config.idleTimeout, controller)
  try {
    for (;;) {
      const chunk = await reader.read()
      if (reading.closed()) return { kind: 'closed' }
      idle.touch()
      if (chunk.done) {
        // An event not ended by a blank line is discarded (the spec's "end of the file").
        parser.end()
        return { kind: 'retry', error: undefined, openedAt }
      }
      parser.feed(chunk.value)
      if (reading.closed()) return { kind: 'closed' }
      if (tooLarge) return { kind: 'stop', reason: 'error', error: tooLarge }
      const room = reading.room()
      if (room) await room
    }
  } catch (cause) {
    if (reading.closed()) return { kind: 'closed' }
    if (idle.fired) {
      const error = new SseClientError(
        'SSE_CLIENT_IDLE_TIMEOUT',
        `nothing arrived from ${config.url} for ${config.idleTimeout} ms (idleTimeout); reconnecting`,
      )
      return { kind: 'retry', error, openedAt }
    }
    const error = new SseClientError(
      'SSE_CLIENT_NETWORK',
      `the stream from ${config.url} broke: ${describeCause(cause)}`,
      { cause },
    )
    return { kind: 'retry', error, openedAt }
  } finally {
    controller.abort()
    reader.cancel().catch(() => {})
  }
}
