/**
 * `connect(url, options)`: an EventSource over `fetch`, so it can send headers, any method and a
 * body, and reconnect on a policy instead of a fixed delay. This file is the entry: it checks the
 * URL and the options, and hands them to the client (`client.ts`). The stream is parsed as the
 * spec says (`event-stream-parser.ts`); the connection follows the spec where it can
 * (https://html.spec.whatwg.org/multipage/server-sent-events.html#sse-processing-model) and
 * adds what the browser's lacks: backoff with jitter, `Retry-After`, a status policy, an idle
 * watchdog fed by heartbeat comments, typed events and async iteration.
 */

import { Client } from './client.ts'
import type { DefaultEventMap } from './client-events.ts'
import { type ConnectArgs, resolveConnectOptions } from './connect-options.ts'
import { SseClientError } from './errors.ts'
import type { SseClient } from './sse-client.ts'

/**
 * Opens an event stream and keeps it open: reconnects with `Last-Event-ID` after the stream ends
 * or the network fails, with exponential backoff and full jitter; stops on 204, on a refused
 * status (4xx other than 408/429), on a wrong Content-Type and on a redirect to another origin.
 *
 * @example
 * const source = connect<{ tick: string; price: { symbol: string; price: number } }>('/events', {
 *   headers: async () => ({ Authorization: `Bearer ${await getToken()}` }),
 *   json: { price: true },
 * })
 * source.on('price', ({ data }) => render(data.symbol, data.price))
 * source.onError((error) => console.error(error.code, error.status, error.body))
 */
export function connect<M extends object = DefaultEventMap>(
  url: string | URL,
  ...args: ConnectArgs<M>
): SseClient<M> {
  return new Client<M>(resolveConnectOptions(resolveUrl(url), args[0] ?? {}))
}

/**
 * The absolute URL, resolved against the page in a browser. Checked here, because `fetch` rejects
 * a bad URL with the same `TypeError` as a network failure, which would be retried forever.
 */
function resolveUrl(url: string | URL): string {
  const base = (globalThis as { location?: { href?: string } }).location?.href
  try {
    return new URL(url, base).href
  } catch (cause) {
    const hint = base === undefined ? ' (outside a browser the URL must be absolute: http://host/path)' : ''
    throw new SseClientError(
      'SSE_CLIENT_INVALID_OPTION',
      `not a URL: ${JSON.stringify(String(url))}${hint}`,
      {
        cause,
      },
    )
  }
}
