/**
 * Redirects, followed by the client itself and only within the origin of the URL it was given.
 * `fetch` would follow them to any origin and take the app's headers (it drops only
 * `Authorization`), `Last-Event-ID` and, on 307 and 308, the body along; so every request goes
 * out with `redirect: 'manual'` and each response passes through `followRedirect`.
 * https://fetch.spec.whatwg.org/#http-redirect-fetch
 */
import { SseClientError } from './errors.ts'

/** Redirects followed in one attempt before giving up: fetch's own limit (https://fetch.spec.whatwg.org/#http-redirect-fetch). */
const MAX_REDIRECTS = 20
/** The statuses fetch follows; any other 3xx (300, 304, …) is a response like any other. */
const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308])
/** Headers that describe a body, dropped with it when a redirect turns the request into a GET. */
const BODY_HEADERS = ['content-encoding', 'content-language', 'content-location', 'content-type'] as const

/** The request a same-origin redirect leads to. */
export interface Hop {
  readonly url: string
  readonly init: RequestInit
}

/**
 * What to do with a response to a request to `from`: `undefined` when it is no redirect to
 * follow (its status is handled as any other), the next request for a redirect within the
 * origin (as fetch would make it), or the error that stops the client. A redirect to another
 * origin is never followed: the app's headers, `Last-Event-ID` and body are meant for the origin
 * it named. Nor is it followed without them: the stream most likely needs them (a token, the
 * resume point), and a silent move to another server would hide a misconfiguration, or an
 * attack, that the app should see. `hops` counts the redirects followed so far in this attempt;
 * `start` is the URL given to `connect`, whose origin is the only one followed.
 *
 * @example
 * const next = followRedirect(response, target, init, hops, config.url)
 * if (next instanceof SseClientError) stop(next)
 * else if (next) ({ url: target, init } = next) // and fetch again
 */
export function followRedirect(
  response: Response,
  from: string,
  init: RequestInit,
  hops: number,
  start: string,
): Hop | SseClientError | undefined {
  if (response.type === 'opaqueredirect') {
    // A browser answers `redirect: 'manual'` with no status and no Location: the target, same
    // origin or not, is hidden from scripts, so no redirect can be followed safely.
    return new SseClientError(
      'SSE_CLIENT_REDIRECT',
      `${from} answered a redirect, and a browser does not let a script see where it leads; connect to the final URL instead`,
    )
  }
  const { status } = response
  const location = response.headers.get('location')
  if (!REDIRECT_STATUSES.has(status) || location === null) return undefined
  let to: URL
  try {
    to = new URL(location, from)
  } catch (cause) {
    return new SseClientError(
      'SSE_CLIENT_REDIRECT',
      `${from} answered ${status} with a Location that is not a URL: ${JSON.stringify(location)}`,
      { cause, status },
    )
  }
  const origin = new URL(start).origin
  if (to.origin !== origin) {
    return new SseClientError(
      'SSE_CLIENT_REDIRECT',
      `${from} answered ${status}, a redirect to another origin (${to.href}); not followed, so the headers, Last-Event-ID and body stay with ${origin}: connect to ${to.href} if it is the stream's URL`,
      { status },
    )
  }
  if (hops >= MAX_REDIRECTS) {
    return new SseClientError(
      'SSE_CLIENT_REDIRECT',
      `more than ${MAX_REDIRECTS} redirects from ${start} (the last one to ${to.href}): a redirect loop?`,
      { status },
    )
  }
  const method = (init.method ?? 'GET').toUpperCase()
  if (
    ((status === 301 || status === 302) && method === 'POST') ||
    (status === 303 && method !== 'GET' && method !== 'HEAD')
  ) {
    // fetch's rule: the request becomes a GET without its body.
    const headers = new Headers(init.headers)
    for (const name of BODY_HEADERS) headers.delete(name)
    const { body: _body, duplex: _duplex, ...rest } = init as RequestInit & { duplex?: string }
    return { url: to.href, init: { ...rest, method: 'GET', headers } }
  }
  if (typeof ReadableStream !== 'undefined' && init.body instanceof ReadableStream) {
    return new SseClientError(
      'SSE_CLIENT_REDIRECT',
      `${from} answered ${status}, a redirect that sends the body again, and a stream body can only be sent once: connect to ${to.href}, or send a string, Blob or buffer`,
      { status },
    )
  }
  return { url: to.href, init }
}
