/**
 * Counting complete server-sent events on a byte stream, without decoding it to strings.
 *
 * An event is dispatched, as the spec's parser does it, at a blank line that ends a block holding
 * at least one `data` field; comment lines (`:` …) and blocks without data (a bare `retry:`,
 * say) dispatch nothing. Lines end in LF or CRLF (every variant here writes LF). Chunk
 * boundaries may fall anywhere, including inside `data:` or between the two LFs, so state is
 * carried from one chunk to the next. `eventsource-parser` does the same with full decoding; the
 * client can use it instead (`--parser=eventsource-parser`) to cross-check the counts.
 */

const LF = 10
const CR = 13
/** `data` as bytes: a line that is exactly `data`, or starts with `data:`, is a data field. */
const DATA = [100, 97, 116, 97]
const COLON = 58

export class EventCounter {
  /** Complete events seen so far. */
  count = 0
  /** Bytes of the current line seen so far. */
  #lineLength = 0
  /** How many leading bytes of the current line match `data:`; -1 once it cannot be a data field. */
  #matched = 0
  /** The current line's last byte was CR (so a lone CR before LF is not content). */
  #lastCr = false
  /** The block read so far has a data field. */
  #hasData = false

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
        this.#lineLength += end - pos
        this.#lastCr = chunk[end - 1] === CR
      }
      if (nl === -1) return
      this.#endLine()
      pos = nl + 1
    }
  }

  #endLine() {
    const length = this.#lastCr ? this.#lineLength - 1 : this.#lineLength
    if (length === 0) {
      if (this.#hasData) this.count++
      this.#hasData = false
    } else if (this.#matched === 5 || (this.#matched === 4 && length === 4)) {
      this.#hasData = true
    }
    this.#lineLength = 0
    this.#matched = 0
    this.#lastCr = false
  }
}
