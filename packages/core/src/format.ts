/**
 * Framing: turns an event into the exact bytes of the `text/event-stream` format.
 * https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 *
 * Pure functions. Every field a client parses is validated here, so nothing can inject a field
 * or a second event: `event` and `id` with CR or LF, `id` with NUL, and a `retry` that is not a
 * non-negative integer are rejected with an `SseError` and never written.
 */
import { SseError } from './errors.ts'

/** One server-sent event. `data` that is not a string goes through the serializer (JSON by default). */
export interface SseEvent<Data = unknown> {
  /** The payload. Strings are sent as-is (line breaks become several `data:` lines). */
  data?: Data
  /** The event type a client listens for (`addEventListener(event, …)`); omitted means `message`. */
  event?: string
  /** The client's last event id once dispatched; sent back as `Last-Event-ID` on reconnect. `''` resets it. */
  id?: string
  /** The client's reconnection delay in milliseconds. */
  retry?: number
}

/** Turns non-string `data` into a string. Must return a string; throwing rejects the event. */
export type Serializer = (data: unknown) => string

/** The default serializer: `JSON.stringify`, refusing values JSON cannot represent (`undefined`, functions). */
export const jsonSerializer: Serializer = (data) => JSON.stringify(data)

const LINE_BREAK = /\r\n|\r|\n/

function hasLineBreak(value: string): boolean {
  return value.includes('\n') || value.includes('\r')
}

/** Throws `SSE_INVALID_EVENT_NAME` unless `name` is a string without CR or LF. */
export function assertEventName(name: string): void {
  if (typeof name !== 'string' || hasLineBreak(name)) {
    throw new SseError(
      'SSE_INVALID_EVENT_NAME',
      `event name must be a string without CR or LF (it would inject a field): ${JSON.stringify(name)}`,
    )
  }
}

/**
 * What a client could not send back as `Last-Event-ID`: C0 controls but HTAB, and DEL (Node's
 * HTTP parser answers 400 to a header that holds one, and a 4xx stops a browser's EventSource for
 * good); whitespace at either end (HTTP trims it, so a different id would come back); a lone
 * surrogate (it has no UTF-8 form: the browser would send U+FFFD instead).
 */
const UNSENDABLE_ID = /[\u0000-\u0008\u000a-\u001f\u007f]|^[ \t]|[ \t]$|\p{Cs}/u
const idEncoder = new TextEncoder()

/**
 * Throws `SSE_INVALID_ID` unless `id` is a string the client can send back unchanged as its
 * `Last-Event-ID`: no CR, LF or NUL (field injection), no other control character, no
 * whitespace at either end, no lone surrogate, and at most `MAX_LAST_EVENT_ID_BYTES` (256) bytes
 * of UTF-8, the longest `Last-Event-ID` the server side accepts.
 */
export function assertEventId(id: string): void {
  if (typeof id !== 'string' || hasLineBreak(id) || id.includes('\0')) {
    throw new SseError(
      'SSE_INVALID_ID',
      `event id must be a string without CR, LF or NUL (clients ignore or mis-parse it): ${JSON.stringify(id)}`,
    )
  }
  if (UNSENDABLE_ID.test(id)) {
    throw new SseError(
      'SSE_INVALID_ID',
      `event id must not hold control characters, lone surrogates or whitespace at either end (the client could not send it back as Last-Event-ID): ${JSON.stringify(id)}`,
    )
  }
  if (id.length > MAX_ID_BYTES / 3 && idEncoder.encode(id).length > MAX_ID_BYTES) {
    throw new SseError(
      'SSE_INVALID_ID',
      `event id must be at most ${MAX_ID_BYTES} bytes of UTF-8, the longest Last-Event-ID accepted back: ${JSON.stringify(id.slice(0, 40))}… (${idEncoder.encode(id).length} bytes)`,
    )
  }
}

/** `MAX_LAST_EVENT_ID_BYTES`, repeated here so that framing does not depend on the header reader. */
const MAX_ID_BYTES = 256

/** Throws `SSE_INVALID_RETRY` unless `retry` is a non-negative safe integer (milliseconds). */
export function assertRetry(retry: number): void {
  if (!Number.isSafeInteger(retry) || retry < 0) {
    throw new SseError(
      'SSE_INVALID_RETRY',
      `retry must be a non-negative integer number of milliseconds, got ${String(retry)}`,
    )
  }
}

/** Serializes `data` to the string that goes on the `data:` lines. */
export function serializeData(data: unknown, serialize: Serializer = jsonSerializer): string {
  if (typeof data === 'string') return data
  let text: unknown
  try {
    text = serialize(data)
  } catch (cause) {
    throw new SseError('SSE_INVALID_DATA', `event data could not be serialized: ${String(cause)}`, { cause })
  }
  if (typeof text !== 'string') {
    throw new SseError(
      'SSE_INVALID_DATA',
      `the serializer returned ${typeof text} instead of a string; pass a string, or data JSON can represent`,
    )
  }
  return text
}

/** The `data:` lines for an already serialized payload: one line per CRLF, CR or LF. */
export function formatDataLines(text: string): string {
  if (!hasLineBreak(text)) return text === '' ? 'data:\n' : `data: ${text}\n`
  let out = ''
  for (const line of text.split(LINE_BREAK)) out += line === '' ? 'data:\n' : `data: ${line}\n`
  return out
}

/**
 * Frames one event, spec-exact.
 *
 * @example
 * formatEvent({ event: 'tick', id: '7', data: 'a\nb' })
 * // 'id: 7\nevent: tick\ndata: a\ndata: b\n\n'
 * formatEvent({ data: { ok: true } }) // 'data: {"ok":true}\n\n'
 * formatEvent({ id: '' })             // 'id\n\n' (resets the client's last event id)
 */
export function formatEvent(event: SseEvent, serialize?: Serializer): string {
  const { data, event: name, id, retry } = event
  let out = ''
  if (id !== undefined) {
    assertEventId(id)
    out += id === '' ? 'id\n' : `id: ${id}\n`
  }
  if (name !== undefined && name !== '') {
    assertEventName(name)
    out += `event: ${name}\n`
  }
  if (retry !== undefined) {
    assertRetry(retry)
    out += `retry: ${retry}\n`
  }
  if (data !== undefined) {
    out += formatDataLines(serializeData(data, serialize))
  } else if (out === '' || (id === undefined && retry === undefined)) {
    throw new SseError(
      'SSE_EMPTY_EVENT',
      'an event needs data, an id or a retry; without them a client dispatches nothing (use comment() for keep-alives)',
    )
  }
  return `${out}\n`
}

/**
 * Frames a comment: clients ignore it, proxies see traffic. Multi-line text becomes several
 * comment lines, so it can never end the comment early and inject a field.
 *
 * @example
 * formatComment()        // ':\n\n'
 * formatComment('ping')  // ': ping\n\n'
 */
export function formatComment(text = ''): string {
  let out = ''
  for (const line of text.split(LINE_BREAK)) out += line === '' ? ':\n' : `: ${line}\n`
  return `${out}\n`
}

const encoder = new TextEncoder()

/** UTF-8 bytes of a frame. Event streams are always UTF-8, whatever a header claims. */
export function encodeFrame(frame: string): Uint8Array {
  return encoder.encode(frame)
}
