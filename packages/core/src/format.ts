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
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
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

/**
 * The default largest event, framed, in UTF-8: 1 MiB, the default `maxBufferedBytes` of a stream.
 * A larger event could not even be queued for a reader that is a moment behind (it would close
 * it as `'overflow'`), and an event that size is a payload to fetch by reference rather than to
 * push: a frame is written whole, to every subscriber, and a hub keeps it in its history.
 */
export const DEFAULT_MAX_EVENT_BYTES: number = 1024 * 1024

/** @internal Validates `maxEventBytes` (of a stream or a hub): a positive safe integer. */
export function maxEventBytesOption(value: number | undefined): number {
  const max = value ?? DEFAULT_MAX_EVENT_BYTES
  if (!Number.isSafeInteger(max) || max < 1) {
    throw new SseError('SSE_INVALID_OPTION', `maxEventBytes must be a positive integer, got ${String(max)}`)
  }
  return max
}

/** @internal The error for an event over `maxEventBytes`; `bytes` is its size, or (`atLeast`) a lower bound of it. */
export function eventTooLarge(bytes: number, max: number, atLeast: boolean, what: string): SseError {
  return new SseError(
    'SSE_EVENT_TOO_LARGE',
    `the event is ${atLeast ? 'at least ' : ''}${bytes} bytes framed, over maxEventBytes (${max}), and was not ${what}. Send a reference to the payload (a URL, an id) instead, split it, or raise maxEventBytes`,
  )
}

/**
 * @internal Throws `SSE_EVENT_TOO_LARGE` when the frame of `{ id, event, data: text }` would pass
 * `max` bytes with any valid id (a hub checks before its broker assigns the id). Costs O(1) for
 * data too short to pass it; only longer data is counted.
 */
export function assertEventFits(text: string, event: string | undefined, max: number): void {
  if (framedEventBytesBound(text, event) <= max) return
  // At least a byte per UTF-16 unit: data longer than the limit cannot fit, and is not counted.
  if (text.length > max) throw eventTooLarge(text.length, max, true, 'published')
  const bytes = framedEventBytes(text, event)
  if (bytes > max) throw eventTooLarge(bytes, max, false, 'published')
}

/** The longest `id:` line a frame can hold: `id: `, `MAX_ID_BYTES` of id, LF. */
const MAX_ID_LINE_BYTES = 4 + MAX_ID_BYTES + 1

/** Scratch space of `utf8Bytes`, made on first use. */
let scratch: Uint8Array | undefined

/** @internal The length of `text` in UTF-8 (a lone surrogate as U+FFFD, as `TextEncoder` writes it), without keeping the bytes. */
export function utf8Bytes(text: string): number {
  scratch ??= new Uint8Array(16 * 1024)
  let bytes = 0
  let rest = text
  // encodeInto never splits a surrogate pair, so each slice starts on a character.
  while (rest.length > 0) {
    const { read, written } = encoder.encodeInto(rest, scratch)
    bytes += written
    rest = rest.slice(read)
  }
  return bytes
}

/**
 * @internal The UTF-8 size of `formatDataLines(text)`, counted without building it: the data's
 * bytes, with each line break (CRLF, CR or LF) replaced by the end of one line and `data: ` (or
 * `data:` before an empty line). O(n), at the speed of `TextEncoder`: for large data only.
 */
export function dataLinesBytes(text: string): number {
  let bytes = utf8Bytes(text)
  let lineStart = 0
  let lf = text.indexOf('\n')
  let cr = text.indexOf('\r')
  while (lf !== -1 || cr !== -1) {
    const atCr = cr !== -1 && (lf === -1 || cr < lf)
    const at = atCr ? cr : lf
    const width = atCr && lf === cr + 1 ? 2 : 1
    // `data: ` + line + LF, or `data:` + LF for an empty line, in place of the break.
    bytes += (at === lineStart ? 6 : 7) - width
    lineStart = at + width
    if (lf !== -1 && lf < lineStart) lf = text.indexOf('\n', lineStart)
    if (cr !== -1 && cr < lineStart) cr = text.indexOf('\r', lineStart)
  }
  return bytes + (lineStart === text.length ? 6 : 7)
}

/**
 * @internal An upper bound, in O(1), of the UTF-8 size of the frame `{ id, event, data: text }`
 * with any valid id: a UTF-16 unit takes at most 3 bytes, a line break at most a line of 7. When it
 * is within a limit, the frame is too, and `framedEventBytes` need not scan the data.
 */
export function framedEventBytesBound(text: string, event: string | undefined): number {
  const eventLine = event ? 8 + 3 * event.length : 0
  return MAX_ID_LINE_BYTES + eventLine + 7 * (text.length + 1) + 1
}

/**
 * @internal The UTF-8 size of the frame `{ id, event, data: text }`, the id counted at its longest
 * (`MAX_ID_BYTES`), for a limit checked before the id is assigned. O(n) in the data.
 */
export function framedEventBytes(text: string, event: string | undefined): number {
  const eventLine = event ? 8 + utf8Bytes(event) : 0
  return MAX_ID_LINE_BYTES + eventLine + dataLinesBytes(text) + 1
}

/** UTF-8 bytes of a frame. Event streams are always UTF-8, whatever a header claims. */
export function encodeFrame(frame: string): Uint8Array {
  return encoder.encode(frame)
}
