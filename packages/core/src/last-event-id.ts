/**
 * `Last-Event-ID` is untrusted input, and it is the key to replay. This file reads it safely
 * and encodes/decodes the ids the hub assigns.
 *
 * https://html.spec.whatwg.org/multipage/server-sent-events.html#the-last-event-id-header
 * Browsers send the id UTF-8 encoded; Node (and Fetch `Headers`) hand header values over as
 * latin1, one char per byte, so "…" arrives as "â\x80¦". We re-decode. A value that is too long,
 * not valid UTF-8, repeated, or contains CR/LF/NUL is treated as absent: never an error and never
 * a 4xx, because any non-200 answer stops a browser's EventSource for good.
 */

/** Longest `Last-Event-ID` we accept, in UTF-8 bytes. Hub ids are ~20 bytes; UUIDs are 36. */
export const MAX_LAST_EVENT_ID_BYTES = 256

const utf8 = new TextDecoder('utf-8', { fatal: true })
const encoder = new TextEncoder()
const LONE_SURROGATE = /\p{Cs}/u

/**
 * The `Last-Event-ID` a client sent, decoded, or `undefined` when absent or unusable.
 *
 * @example
 * readLastEventId(req.headers['last-event-id'])      // Node
 * readLastEventId(request.headers.get('last-event-id')) // Fetch
 */
export function readLastEventId(value: string | readonly string[] | null | undefined): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined
  if (value.length > MAX_LAST_EVENT_ID_BYTES * 4) return undefined
  let text = value
  let isByteString = true
  for (let i = 0; i < value.length; i++) {
    if (value.charCodeAt(i) > 0xff) {
      isByteString = false
      break
    }
  }
  if (isByteString) {
    const bytes = new Uint8Array(value.length)
    for (let i = 0; i < value.length; i++) bytes[i] = value.charCodeAt(i)
    if (bytes.length > MAX_LAST_EVENT_ID_BYTES) return undefined
    try {
      text = utf8.decode(bytes)
    } catch {
      return undefined
    }
  } else if (encoder.encode(value).length > MAX_LAST_EVENT_ID_BYTES || LONE_SURROGATE.test(value)) {
    return undefined
  }
  if (/[\0\r\n]/.test(text)) return undefined
  return text
}

/** A position in a hub's log: the log's epoch and the event's sequence number in it. */
export interface LogPosition {
  /** Identifies one life of the log; a new epoch means earlier history is gone. */
  readonly epoch: string
  /** Position in the log; strictly increasing across all topics of the hub. */
  readonly seq: number
}

const HUB_ID = /^([0-9a-z]{1,32})-(0|[1-9][0-9]{0,15})$/

/** The wire id of a hub event: `<epoch>-<seq>`, e.g. `k3j9x2ab-42`. */
export function formatLogId(position: LogPosition): string {
  return `${position.epoch}-${position.seq}`
}

/** Parses a hub event id; `undefined` when `id` is not one. */
export function parseLogId(id: string): LogPosition | undefined {
  const match = HUB_ID.exec(id)
  if (!match) return undefined
  const seq = Number(match[2])
  if (!Number.isSafeInteger(seq)) return undefined
  return { epoch: match[1]!, seq }
}

/** A fresh random epoch: 12 base-36 characters. */
export function createEpoch(): string {
  const bytes = new Uint8Array(8)
  crypto.getRandomValues(bytes)
  let n = 0n
  for (const byte of bytes) n = (n << 8n) | BigInt(byte)
  return n.toString(36).padStart(12, '0').slice(-12)
}
