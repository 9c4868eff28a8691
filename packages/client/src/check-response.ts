/**
 * What a response (after redirects) means for the client, as the spec's EventSource decides and
 * further: 204 and 205 stop for good without an error; a status the policy retries is retried
 * after at least its `Retry-After`; any other non-2xx, and a 2xx that is not
 * `text/event-stream`, stops with an error carrying the status and the start of the body.
 * https://html.spec.whatwg.org/multipage/server-sent-events.html#sse-processing-model
 */
import type { Attempt } from './attempt.ts'
import { SseClientError } from './errors.ts'
import { parseRetryAfter, type ReconnectPolicy } from './reconnect-policy.ts'
import type { ClientTimerHandle, ClientTimers } from './timers.ts'

/** Longest excerpt of a refused response's body kept on the error. */
export const MAX_ERROR_BODY: number = 64 * 1024
/** How long a refused response's body may take to arrive before the error is reported without it. */
const ERROR_BODY_TIMEOUT_MS = 5000

/** `true` for `text/event-stream`, with any parameters and in any case (MIME essence). */
function isEventStream(contentType: string | null): boolean {
  return contentType?.split(';', 1)[0]?.trim().toLowerCase() === 'text/event-stream'
}

/**
 * Releases a response whose body will not be read (a 204, a retried status, a redirect).
 *
 * @example
 * if (response.status === 204) cancelBody(response)
 */
export function cancelBody(response: Response): void {
  response.body?.cancel().catch(() => {})
}

/** Reads at most `MAX_ERROR_BODY` bytes of a refused response, then cancels it. Never throws. */
async function readExcerpt(response: Response, timers: ClientTimers): Promise<string | undefined> {
  const body = response.body
  if (!body) return undefined
  const reader = body.getReader()
  const decoder = new TextDecoder()
  let text = ''
  let timer: ClientTimerHandle | undefined
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = timers.setTimeout(() => resolve('timeout'), ERROR_BODY_TIMEOUT_MS)
  })
  try {
    while (text.length < MAX_ERROR_BODY) {
      const chunk = await Promise.race([reader.read(), timeout])
      if (chunk === 'timeout' || chunk.done) break
      text += decoder.decode(chunk.value, { stream: true })
    }
    text += decoder.decode()
    return text.slice(0, MAX_ERROR_BODY)
  } catch {
    return text === '' ? undefined : text
  } finally {
    timers.clearTimeout(timer)
    reader.cancel().catch(() => {})
  }
}

/**
 * `undefined` when `response` opened an event stream, else the outcome of the attempt (its body
 * cancelled or read for the error). `target` names the URL in messages; `closed` is asked after
 * each wait, so a client closed meanwhile reports nothing.
 *
 * @example
 * const outcome = await checkResponse(response, url, config.policy, config.timers, () => closed)
 * if (outcome === undefined) readTheStream(response.body)
 */
export async function checkResponse(
  response: Response,
  target: string,
  policy: ReconnectPolicy | undefined,
  timers: ClientTimers,
  closed: () => boolean,
): Promise<Attempt | undefined> {
  const { status } = response
  if (status === 204 || status === 205) {
    cancelBody(response)
    return { kind: 'stop', reason: 'no-content' }
  }
  if (status < 200 || status > 299) {
    if (policy?.retryStatus(status) ?? false) {
      cancelBody(response)
      const retryAfter = parseRetryAfter(response.headers.get('retry-after'), timers.now())
      const error = new SseClientError('SSE_CLIENT_HTTP_STATUS', `${target} answered ${status}`, {
        status,
      })
      return { kind: 'retry', error, retryAfter }
    }
    const body = await readExcerpt(response, timers)
    if (closed()) return { kind: 'closed' }
    const retried = policy === undefined && (status === 408 || status === 429 || status >= 500)
    const hint = retried
      ? 'reconnect is false, so it is not retried'
      : 'not retried: fix the request (a 401 or 403 usually means refresh the credentials), or accept the status in reconnect.retryStatus'
    const error = new SseClientError('SSE_CLIENT_HTTP_STATUS', `${target} answered ${status}; ${hint}`, {
      status,
      body,
    })
    return { kind: 'stop', reason: 'error', error }
  }
  const contentType = response.headers.get('content-type')
  if (!isEventStream(contentType)) {
    const body = await readExcerpt(response, timers)
    if (closed()) return { kind: 'closed' }
    const error = new SseClientError(
      'SSE_CLIENT_CONTENT_TYPE',
      `${target} answered ${status} with Content-Type ${JSON.stringify(contentType ?? '')}, not text/event-stream: is this the event stream's URL?`,
      { status, body },
    )
    return { kind: 'stop', reason: 'error', error }
  }
  return undefined
}
