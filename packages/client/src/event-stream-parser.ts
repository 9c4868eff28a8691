/**
 * The event stream parser: bytes in, events out, as the spec's "interpreting an event stream"
 * says, to the letter: https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 *
 * Our own rather than `eventsource-parser`, because the 3.x line (the last one that runs on Node
 * 20) holds back a CR that ends a chunk until the next chunk arrives, so `data:a\r\r` is dispatched
 * late, or never when the stream ends there; and it reports no `id:` of a block without `data:`.
 * Its 4.x line fixes both (4.0.0 and 4.1.0's `onId`) but needs Node 22.12, above our engines.
 *
 * Streaming, in linear time: each chunk is decoded once (UTF-8, across chunk boundaries, the
 * first BOM stripped), each character is searched for CR and LF at most once, and an unfinished
 * line is kept as a list of fragments joined once, when it ends; nothing is re-scanned.
 */

/** One dispatched event. */
export interface ParsedEvent {
  /** The `event:` field, or `'message'`. */
  readonly type: string
  /** The `data:` lines joined by LF. */
  readonly data: string
  /** The last event ID string when the event was dispatched. */
  readonly lastEventId: string
}

/** What the parser reports, synchronously, while it is fed. */
export interface EventStreamHandlers {
  /** A block with data ended. */
  onEvent(event: ParsedEvent): void
  /**
   * A block ended (with or without data) and set the last event ID string to a new value. Called
   * before that block's `onEvent`: the spec's dispatch step 1 comes before the empty-data check.
   */
  onLastEventId?(id: string): void
  /** A `retry:` of ASCII digits only: the new reconnection time, in ms. */
  onRetry?(ms: number): void
  /** The event being read grew past `maxEventSize`. Called once; the parser ignores the rest. */
  onOverflow?(): void
}

export interface EventStreamParserOptions {
  /**
   * The last event ID string the stream starts with: the one the client already has, as browsers
   * keep it across reconnections. Default `''`.
   */
  readonly lastEventId?: string | undefined
  /**
   * The most characters of data one event may hold; a line may hold as many besides its field
   * name (`data: `). Past either, `onOverflow`. Default unlimited.
   */
  readonly maxEventSize?: number | undefined
}

export interface EventStreamParser {
  /** Parses the next bytes of the stream; any complete event is dispatched before it returns. */
  feed(chunk: Uint8Array): void
  /** The end of the stream: an unfinished block is discarded (a finished one was already dispatched). */
  end(): void
}

const LF = 0x0a
const SPACE = 0x20
const DIGITS = /^[0-9]+$/
/** What a line may hold beyond `maxEventSize`: the field name, colon and space of `data: `. */
const FIELD_ALLOWANCE = 'data: '.length

/**
 * @example
 * const parser = createEventStreamParser({ onEvent: ({ type, data }) => console.log(type, data) })
 * parser.feed(new TextEncoder().encode('event: tick\ndata: 1\r\r')) // logs "tick 1" at once
 * parser.end()
 */
export function createEventStreamParser(
  handlers: EventStreamHandlers,
  options: EventStreamParserOptions = {},
): EventStreamParser {
  const maxEventSize = options.maxEventSize ?? Number.POSITIVE_INFINITY
  const maxLine = maxEventSize + FIELD_ALLOWANCE
  // The spec's UTF-8 decode: replacement characters for bad bytes, one leading BOM removed.
  const decoder = new TextDecoder('utf-8')
  /** The unfinished line, in pieces. */
  const fragments: string[] = []
  let fragmentsLength = 0
  /** The last line ended at a CR that ended a chunk: an LF starting the next one belongs to it. */
  let skipLf = false
  let data = ''
  let hasData = false
  let eventType = ''
  let idBuffer = options.lastEventId ?? ''
  let lastEventId = idBuffer
  let stopped = false

  function overflow(): void {
    stopped = true
    fragments.length = 0
    handlers.onOverflow?.()
  }

  function dispatch(): void {
    if (idBuffer !== lastEventId) {
      lastEventId = idBuffer
      handlers.onLastEventId?.(lastEventId)
    }
    if (!hasData) {
      eventType = ''
      return
    }
    const event: ParsedEvent = { type: eventType === '' ? 'message' : eventType, data, lastEventId }
    data = ''
    hasData = false
    eventType = ''
    handlers.onEvent(event)
  }

  function processLine(line: string): void {
    if (line === '') {
      dispatch()
      return
    }
    const colon = line.indexOf(':')
    if (colon === 0) return // a comment
    let field = line
    let value = ''
    if (colon > 0) {
      field = line.slice(0, colon)
      value = line.slice(line.charCodeAt(colon + 1) === SPACE ? colon + 2 : colon + 1)
    }
    switch (field) {
      case 'event':
        eventType = value
        return
      case 'data':
        data = hasData ? `${data}\n${value}` : value
        hasData = true
        if (data.length > maxEventSize) overflow()
        return
      case 'id':
        if (!value.includes('\0')) idBuffer = value
        return
      case 'retry':
        if (DIGITS.test(value)) handlers.onRetry?.(Number(value))
        return
      default:
      // Any other field is ignored.
    }
  }

  function processText(text: string): void {
    const length = text.length
    if (length === 0) return
    let start = 0
    if (skipLf) {
      skipLf = false
      if (text.charCodeAt(0) === LF) start = 1
    }
    // The next CR and LF at or after `start`, searched again only once `start` passes them, so
    // no character is searched twice for the same one; -1 stays -1.
    let cr = text.indexOf('\r', start)
    let lf = text.indexOf('\n', start)
    for (;;) {
      if (cr !== -1 && cr < start) cr = text.indexOf('\r', start)
      if (lf !== -1 && lf < start) lf = text.indexOf('\n', start)
      const end = cr === -1 ? lf : lf === -1 || cr < lf ? cr : lf
      if (end === -1) break
      let line = text.slice(start, end)
      if (fragments.length > 0) {
        fragments.push(line)
        line = fragments.join('')
        fragments.length = 0
        fragmentsLength = 0
      }
      if (line.length > maxLine) {
        overflow()
        return
      }
      processLine(line)
      if (stopped) return
      start = end + 1
      if (end === cr) {
        // CRLF is one line end. A CR that ends the chunk has ended its line already; an LF that
        // starts the next chunk is its CRLF's, not another line end.
        if (start === length) skipLf = true
        else if (text.charCodeAt(start) === LF) start++
      }
    }
    if (start < length) {
      fragments.push(start === 0 ? text : text.slice(start))
      fragmentsLength += length - start
      if (fragmentsLength > maxLine) overflow()
    }
  }

  return {
    feed(chunk) {
      if (stopped) return
      processText(decoder.decode(chunk, { stream: true }))
    },
    end() {
      if (stopped) return
      stopped = true
      // What the decoder still holds cannot end a line: it is part of the discarded rest.
      decoder.decode()
      fragments.length = 0
      data = ''
    },
  }
}
