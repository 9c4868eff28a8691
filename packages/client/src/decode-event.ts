/**
 * From a parsed event to what the app receives: a reset notice for `onReset`, a message with its
 * data decoded from JSON where the `json` option asks, or the `SSE_CLIENT_INVALID_JSON` error of
 * an event whose data does not parse (skipped; the stream goes on). Pure.
 */

import { MAX_ERROR_BODY } from './check-response.ts'
import type { ResetNotice, SseMessage } from './client-events.ts'
import type { ClientConfig } from './connect-options.ts'
import { describeCause, SseClientError } from './errors.ts'
import type { ParsedEvent } from './event-stream-parser.ts'

export type Delivery =
  | { readonly kind: 'message'; readonly message: SseMessage<string, unknown> }
  | { readonly kind: 'reset'; readonly notice: ResetNotice }
  | { readonly kind: 'invalid'; readonly error: SseClientError }

/**
 * The data of `@sse/core`'s reset notice, `{ reason, lastEventId }`; whatever does not match is
 * `'unknown'` and `''`, so a foreign or broken notice still tells the app to refetch.
 */
function resetNotice(data: string): ResetNotice {
  let parsed: unknown
  try {
    parsed = JSON.parse(data)
  } catch {
    parsed = undefined
  }
  const fields = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>
  return {
    reason: typeof fields.reason === 'string' ? fields.reason : 'unknown',
    lastEventId: typeof fields.lastEventId === 'string' ? fields.lastEventId : '',
  }
}

/**
 * @example
 * decodeEvent({ type: 'price', data: '{"p":1}', lastEventId: '7' }, { json: new Set(['price']), resetEvent: 'sse-reset' })
 * // { kind: 'message', message: { type: 'price', data: { p: 1 }, lastEventId: '7' } }
 */
export function decodeEvent(event: ParsedEvent, rules: Pick<ClientConfig, 'json' | 'resetEvent'>): Delivery {
  const { type, data, lastEventId } = event
  if (type === rules.resetEvent) return { kind: 'reset', notice: resetNotice(data) }
  if (rules.json !== true && !rules.json.has(type)) {
    return { kind: 'message', message: { type, data, lastEventId } }
  }
  try {
    return { kind: 'message', message: { type, data: JSON.parse(data), lastEventId } }
  } catch (cause) {
    const error = new SseClientError(
      'SSE_CLIENT_INVALID_JSON',
      `the data of a ${JSON.stringify(type)} event is not JSON (${describeCause(cause)}); the event was skipped`,
      { cause, body: data.slice(0, MAX_ERROR_BODY) },
    )
    return { kind: 'invalid', error }
  }
}
