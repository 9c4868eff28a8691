/**
 * Counting complete server-sent events on a byte stream, without decoding it to strings.
 *
 * An event is dispatched, as the spec's parser does it, at a blank line that ends a block holding
 * at least one `data` field; comment lines (`:` …) and blocks without data (a bare `retry:`,
 * say) dispatch nothing. Lines end in LF or CRLF (every variant here writes LF). Chunk
 * boundaries may fall anywhere, including inside `data:` or between the two LFs, so state is
 * carried from one chunk to the next. `eventsource-parser` does the same with full decoding; the
 * client can use it instead (`--parser=eventsource-parser`) to cross-check the counts.
 *
 * With `order: true` a counter also checks that events arrive in order, none missing and none
 * twice: the id of every event must end in the number after the previous one's (the raw
 * baselines send `id: 1`, `id: 2`, …; a hub sends `<epoch>-<seq>`, seq counting from 1 for the
 * hub's first event, so a reader that subscribes later starts further on). With the count, that
 * says the reader got exactly the events published since it connected. It also sums the bytes of
 * the `data` values (`dataBytes`).
 */
import { createParser } from 'eventsource-parser'

/** @typedef {{ count: number, outOfOrder: number, dataBytes: number, feed(chunk: Buffer): void }} Counter */

const LF = 10
const CR = 13
/** `data` as bytes: a line that is exactly `data`, or starts with `data:`, is a data field. */
const DATA = [100, 97, 116, 97]
const COLON = 58
const SPACE = 32
/** `id:` as bytes. */
const ID = [105, 100, 58]
const DASH = 45
const ZERO = 48
const NINE = 57

/** The number an id ends in: its digits after the last `-` (or all of them). */
export function idSeq(/** @type {string | undefined} */ id) {
  return Number(id?.slice(id.lastIndexOf('-') + 1))
}

export class EventCounter {
  /** Complete events seen so far. */
  count = 0
  /** With `order`: events whose id did not follow the previous event's (or had none). */
  outOfOrder = 0
  /** With `order`: bytes of the data values seen (each `data:` line less its name, colon and space). */
  dataBytes = 0
  #order
  /** Bytes of the current line seen so far. */
  #lineLength = 0
  /** How many leading bytes of the current line match `data:`; -1 once it cannot be a data field. */
  #matched = 0
  /** The current line's last byte was CR (so a lone CR before LF is not content). */
  #lastCr = false
  /** The block read so far has a data field. */
  #hasData = false
  /** With `order`: how many bytes of `id:` the current line starts with; -1 once it cannot be an id. */
  #idMatched = 0
  /** The number the current id line ends in, so far. */
  #idValue = 0
  /** The id of the current block, and of the last event (-1: none yet). */
  #blockId = -1
  #lastId = -1
  /** With `order`: the current line is `data:` and the byte after the colon was looked at. */
  #dataSpace = 0

  /** @param {{ order?: boolean }} [options] */
  constructor({ order = false } = {}) {
    this.#order = order
  }

  /** @param {Uint8Array} chunk */
  feed(chunk) {
    const n = chunk.length
    let pos = 0
    while (pos < n) {
      const nl = chunk.indexOf(LF, pos)
      const end = nl === -1 ? n : nl
      if (end > pos) {
        let matched = this.#matched
        for (let i = pos; matched >= 0 && matched < 5 && i < end; i++) {
          const byte = chunk[i]
          if (matched < 4 ? byte === DATA[matched] : byte === COLON) matched++
          else if (matched !== 4 || byte !== CR) matched = -1
        }
        this.#matched = matched
        if (this.#order) this.#scan(chunk, pos, end)
        this.#lineLength += end - pos
        this.#lastCr = chunk[end - 1] === CR
      }
      if (nl === -1) return
      this.#endLine()
      pos = nl + 1
    }
  }

  /**
   * Reads an `id:` line's number and whether a `data:` value starts with the optional space; the
   * first byte of any other line rules it out, so data lines cost one comparison or two.
   * @param {Uint8Array} chunk
   * @param {number} pos
   * @param {number} end
   */
  #scan(chunk, pos, end) {
    if (this.#matched === 5 && this.#dataSpace === 0) {
      // The byte after `data:`, which may be in this chunk or a later one.
      const at = pos + 5 - this.#lineLength
      if (at >= pos && at < end) this.#dataSpace = chunk[at] === SPACE ? 2 : 1
    }
    let matched = this.#idMatched
    let value = this.#idValue
    for (let i = pos; matched >= 0 && i < end; i++) {
      const byte = /** @type {number} */ (chunk[i])
      if (matched < 3) matched = byte === ID[matched] ? matched + 1 : -1
      else if (byte >= ZERO && byte <= NINE) value = value * 10 + byte - ZERO
      else if (byte === DASH) value = 0
    }
    this.#idMatched = matched
    this.#idValue = value
  }

  #endLine() {
    const length = this.#lastCr ? this.#lineLength - 1 : this.#lineLength
    if (length === 0) {
      if (this.#hasData) {
        this.count++
        if (this.#order) {
          if (this.#blockId < 0 || (this.#lastId >= 0 && this.#blockId !== this.#lastId + 1))
            this.outOfOrder++
          this.#lastId = this.#blockId
        }
      }
      this.#hasData = false
      this.#blockId = -1
    } else if (this.#matched === 5 || (this.#matched === 4 && length === 4)) {
      this.#hasData = true
      if (this.#order && length > 5) this.dataBytes += length - (this.#dataSpace === 2 ? 6 : 5)
    } else if (this.#idMatched === 3) {
      this.#blockId = this.#idValue
    }
    this.#lineLength = 0
    this.#matched = 0
    this.#lastCr = false
    this.#idMatched = 0
    this.#idValue = 0
    this.#dataSpace = 0
  }
}

/**
 * The same counts with `eventsource-parser` (full decoding), to cross-check `EventCounter`.
 * @param {{ order?: boolean }} [options]
 * @returns {Counter}
 */
export function parserCounter({ order = false } = {}) {
  const decoder = new TextDecoder()
  let lastId = -1
  const counter = {
    count: 0,
    outOfOrder: 0,
    dataBytes: 0,
    /** @param {Buffer} chunk */
    feed(chunk) {
      parser.feed(decoder.decode(chunk, { stream: true }))
    },
  }
  const parser = createParser({
    onEvent: (event) => {
      counter.count++
      if (!order) return
      const id = idSeq(event.id)
      if (!(id >= 0) || (lastId >= 0 && id !== lastId + 1)) counter.outOfOrder++
      lastId = id
      counter.dataBytes += Buffer.byteLength(event.data)
    },
  })
  return counter
}

/**
 * A counter of either kind: `count` (`EventCounter`) or `eventsource-parser`.
 * @param {'count' | 'eventsource-parser'} parser
 * @param {{ order?: boolean }} [options]
 * @returns {Counter}
 */
export function createCounter(parser, options) {
  return parser === 'eventsource-parser' ? parserCounter(options) : new EventCounter(options)
}
