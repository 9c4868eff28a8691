// Parse speed of @sse/client's event stream parser (packages/client/src/event-stream-parser.ts),
// beside eventsource-parser 3.1.1 behind a TextDecoder (what the client used before). A stream of
// mixed events (short, 1 KiB, and 1 MiB single-line ones, with LF, CRLF and CR line ends) is fed
// in odd-sized chunks, at 12.5, 25 and 50 MiB: linear time shows as the same MiB/s at every size.
// One more case is a single 16 MiB line in 61-byte chunks, where re-scanning a growing buffer
// would be quadratic.
//
//   node bench/client-parse.mjs            (no build needed: the parser's TypeScript is transpiled here)
import { readFileSync } from 'node:fs'
import { createParser } from 'eventsource-parser'
import ts from 'typescript'

const MiB = 1024 * 1024
const source = readFileSync(new URL('../packages/client/src/event-stream-parser.ts', import.meta.url), 'utf8')
const { outputText } = ts.transpileModule(source, {
  compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
})
/** @type {{ createEventStreamParser: typeof import('../packages/client/src/event-stream-parser.ts').createEventStreamParser }} */
const { createEventStreamParser } = await import(
  `data:text/javascript;base64,${Buffer.from(outputText).toString('base64')}`
)

/**
 * About `size` bytes of events: mostly short, some of 1 KiB, one 1 MiB line every ~8 MiB.
 * @param {number} size
 */
function makeStream(size) {
  const parts = []
  let length = 0
  const ends = ['\n', '\r\n', '\r']
  for (let n = 0; length < size; n++) {
    const end = ends[n % 3]
    let data
    if (n % 20_000 === 19_999) data = 'x'.repeat(MiB)
    else if (n % 10 === 0) data = `{"n":${n},"pad":"${'p'.repeat(1000)}"}`
    else data = `{"n":${n}}`
    const block = `id: ${n}${end}event: tick${end}data: ${data}${end}${end}`
    parts.push(block)
    length += block.length
  }
  return Buffer.from(parts.join(''))
}

/** @typedef {(bytes: Uint8Array, chunk: number) => number} Run Parses `bytes` in chunks of `chunk` bytes; returns the events. */

/** @type {Run} */
function ours(bytes, chunk) {
  let events = 0
  const parser = createEventStreamParser({ onEvent: () => events++ })
  for (let i = 0; i < bytes.length; i += chunk) parser.feed(bytes.subarray(i, i + chunk))
  parser.end()
  return events
}

/** @type {Run} */
function eventsourceParser3(bytes, chunk) {
  let events = 0
  const decoder = new TextDecoder()
  const parser = createParser({ onEvent: () => events++ })
  for (let i = 0; i < bytes.length; i += chunk)
    parser.feed(decoder.decode(bytes.subarray(i, i + chunk), { stream: true }))
  parser.feed(decoder.decode())
  return events
}

/**
 * @param {Run} fn
 * @param {Uint8Array} bytes
 * @param {number} chunk
 */
function time(fn, bytes, chunk) {
  const start = process.hrtime.bigint()
  const events = fn(bytes, chunk)
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  return { ms, events }
}

/** @param {Array<string | number>} cells */
const row = (cells) => console.log(cells.map((cell, i) => String(cell).padStart(i === 0 ? 34 : 14)).join(''))
const full = makeStream(50 * MiB)
time(ours, full.subarray(0, 4 * MiB), 61) // warm up both
time(eventsourceParser3, full.subarray(0, 4 * MiB), 61)

console.log(`node ${process.version}; MiB/s (ms), higher is better`)
row(['stream / chunk bytes', '@sse/client', 'e-s-parser 3', 'events'])
for (const chunk of [7, 61, 1021, 16381, 65521]) {
  for (const size of [12.5, 25, 50]) {
    const bytes = full.subarray(0, Math.floor(size * MiB))
    const a = time(ours, bytes, chunk)
    const b = time(eventsourceParser3, bytes, chunk)
    /** @param {{ ms: number }} r */
    const speed = (r) => `${(bytes.length / MiB / (r.ms / 1000)).toFixed(0)} (${r.ms.toFixed(0)})`
    row([
      `${size} MiB / ${chunk}`,
      speed(a),
      speed(b),
      a.events === b.events ? a.events : `${a.events}≠${b.events}`,
    ])
  }
}
for (const size of [4, 8, 16]) {
  const line = Buffer.from(`data: ${'y'.repeat(size * MiB)}\n\n`)
  const a = time(ours, line, 61)
  const b = time(eventsourceParser3, line, 61)
  /** @param {{ ms: number }} r */
  const speed = (r) => `${(line.length / MiB / (r.ms / 1000)).toFixed(0)} (${r.ms.toFixed(0)})`
  row([`one ${size} MiB line / 61`, speed(a), speed(b), a.events])
}
