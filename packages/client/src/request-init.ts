/**
 * The request of one attempt, as the spec's EventSource makes it (`Accept: text/event-stream`,
 * `cache: 'no-store'`, `Last-Event-ID` once there is one) plus what the browser's cannot send:
 * the app's headers, method and body, made afresh before every attempt.
 * https://html.spec.whatwg.org/multipage/server-sent-events.html#dom-eventsource
 */
import type { ClientConfig, RequestContext } from './connect-options.ts'

/**
 * A header value must be a byte string; the spec sends the last event ID as UTF-8. So each UTF-8
 * byte becomes one char (`é` → `\xC3\xA9`), and the server reads the bytes it expects.
 *
 * @example
 * utf8ByteString('€-1') // '\xE2\x82\xAC-1'
 */
export function utf8ByteString(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range is the point
  if (/^[\x00-\x7f]*$/.test(text)) return text
  let out = ''
  for (const byte of new TextEncoder().encode(text)) out += String.fromCharCode(byte)
  return out
}

/**
 * The `RequestInit` of one attempt. Calls the `headers` and `body` functions, so it may throw
 * what they throw (the client stops with `SSE_CLIENT_REQUEST_INIT`).
 *
 * @example
 * const init = await createRequestInit(config, { attempt: 0, lastEventId: '' }, controller.signal)
 * const response = await fetch(config.url, init)
 */
export async function createRequestInit(
  config: Pick<ClientConfig, 'method' | 'headers' | 'body' | 'credentials'>,
  context: RequestContext,
  signal: AbortSignal,
): Promise<RequestInit> {
  const source = typeof config.headers === 'function' ? await config.headers(context) : config.headers
  const headers = new Headers(source)
  if (!headers.has('accept')) headers.set('accept', 'text/event-stream')
  if (context.lastEventId !== '') headers.set('last-event-id', utf8ByteString(context.lastEventId))
  // `no-store`, as the spec's EventSource request. Node's fetch accepts it; its types lack `cache`.
  // `redirect: 'manual'`: fetch's own following would take the headers, `Last-Event-ID` and (on
  // 307/308) the body to any origin the server names, dropping only `Authorization`; the client
  // follows redirects itself, within the origin (`redirect.ts`).
  const init = {
    method: config.method,
    headers,
    signal,
    cache: 'no-store',
    redirect: 'manual',
  } as RequestInit
  const body = typeof config.body === 'function' ? await config.body(context) : config.body
  if (body !== undefined) {
    init.body = body
    // A stream body needs `duplex: 'half'` (Node's fetch throws without it); it can only be sent once.
    if (typeof ReadableStream !== 'undefined' && body instanceof ReadableStream) {
      ;(init as RequestInit & { duplex?: string }).duplex = 'half'
    }
  }
  if (config.credentials !== undefined) init.credentials = config.credentials
  return init
}
