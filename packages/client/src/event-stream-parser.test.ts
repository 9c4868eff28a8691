/**
 * The parser against the spec's "interpreting an event stream", case by case. Every case is fed
 * whole, byte by byte, in two chunks at every split point and in three chunks at every pair of
 * split points, and must give the same outcome each way. Fed byte by byte, each event must be out
 * as soon as the byte that ends its block has arrived: what a prefix dispatches is exactly what
 * that prefix dispatches as a whole stream.
 * https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 */
import { describe, expect, it } from 'vitest'
import {
  createEventStreamParser,
  type EventStreamParserOptions,
  type ParsedEvent,
} from './event-stream-parser.ts'

interface Outcome {
  events: ParsedEvent[]
  /** Each `onLastEventId` call, in order. */
  ids: string[]
  retries: number[]
  overflows: number
}

function parse(chunks: readonly Uint8Array[], options?: EventStreamParserOptions): Outcome {
  const outcome: Outcome = { events: [], ids: [], retries: [], overflows: 0 }
  const parser = createEventStreamParser(
    {
      onEvent: (event) => outcome.events.push(event),
      onLastEventId: (id) => outcome.ids.push(id),
      onRetry: (ms) => outcome.retries.push(ms),
      onOverflow: () => outcome.overflows++,
    },
    options,
  )
  for (const chunk of chunks) parser.feed(chunk)
  parser.end()
  return outcome
}

const encode = (text: string): Uint8Array => new TextEncoder().encode(text)

/** The chunkings of `bytes`: whole, byte by byte, every split in two, every split in three. */
function* chunkings(bytes: Uint8Array): Generator<Uint8Array[]> {
  yield [bytes]
  yield Array.from(bytes, (_, i) => bytes.subarray(i, i + 1))
  for (let i = 1; i < bytes.length; i++) {
    yield [bytes.subarray(0, i), bytes.subarray(i)]
    for (let j = i + 1; j < bytes.length; j++) {
      yield [bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)]
    }
  }
}

/** Fails naming the chunking that differs from the whole stream's outcome. */
function expectSameInEveryChunking(bytes: Uint8Array, options?: EventStreamParserOptions): Outcome {
  const whole = parse([bytes], options)
  for (const chunks of chunkings(bytes)) {
    const outcome = parse(chunks, options)
    if (JSON.stringify(outcome) !== JSON.stringify(whole)) {
      const shown = chunks.map((chunk) => JSON.stringify(new TextDecoder().decode(chunk)))
      expect(outcome, `fed as ${shown.join(' + ')}`).toEqual(whole)
    }
  }
  return whole
}

/** Byte by byte, after each byte the events out are exactly those of that prefix as a whole stream. */
function expectEventsAsSoonAsComplete(bytes: Uint8Array, options?: EventStreamParserOptions): void {
  const events: ParsedEvent[] = []
  const parser = createEventStreamParser({ onEvent: (event) => events.push(event) }, options)
  for (let i = 1; i <= bytes.length; i++) {
    parser.feed(bytes.subarray(i - 1, i))
    const prefix = bytes.subarray(0, i)
    expect(events, `after ${JSON.stringify(new TextDecoder().decode(prefix))}`).toEqual(
      parse([prefix], options).events,
    )
  }
}

const event = (data: string, type = 'message', lastEventId = ''): ParsedEvent => ({ type, data, lastEventId })

interface Case {
  readonly name: string
  readonly stream: string | readonly number[]
  readonly events: readonly ParsedEvent[]
  readonly ids?: readonly string[]
  readonly retries?: readonly number[]
  readonly options?: EventStreamParserOptions
}

const cases: readonly Case[] = [
  // Line ends.
  { name: 'LF', stream: 'data:a\n\n', events: [event('a')] },
  { name: 'CRLF', stream: 'data:a\r\n\r\n', events: [event('a')] },
  { name: 'CR', stream: 'data:a\r\r', events: [event('a')] },
  { name: 'LF then CR', stream: 'data:a\n\r', events: [event('a')] },
  { name: 'CRLF then LF', stream: 'data:a\r\n\n', events: [event('a')] },
  { name: 'CR then CRLF', stream: 'data:a\r\r\n', events: [event('a')] },
  { name: 'CRLF is one line end, not two', stream: 'data:a\r\ndata:b\r\n\r\n', events: [event('a\nb')] },
  { name: 'LF CR is two line ends', stream: 'data:a\n\rdata:b\n\n', events: [event('a'), event('b')] },
  { name: 'every line end in one event', stream: 'data:a\rdata:b\ndata:c\r\n\n', events: [event('a\nb\nc')] },
  {
    name: 'CR inside a long run of LF lines',
    stream: 'data:a\ndata:b\ndata:c\rdata:d\n\n',
    events: [event('a\nb\nc\nd')],
  },
  {
    name: 'blank lines without data dispatch nothing',
    stream: '\n\r\n\r\n\ndata:a\n\n\n\n',
    events: [event('a')],
  },
  // Fields.
  { name: 'one leading space is removed, only one', stream: 'data:  a \n\n', events: [event(' a ')] },
  { name: 'no space after the colon', stream: 'event:e\ndata:a\n\n', events: [event('a', 'e')] },
  { name: 'a colon inside the value', stream: 'data: a:b\ndata::\n\n', events: [event('a:b\n:')] },
  { name: 'empty data dispatches an empty string', stream: 'data:\n\n', events: [event('')] },
  { name: 'a field without a colon has an empty value', stream: 'data\ndata\n\n', events: [event('\n')] },
  {
    name: 'event without a colon is the default type',
    stream: 'event:e\nevent\ndata:a\n\n',
    events: [event('a')],
  },
  {
    name: 'field names are case-sensitive and whole',
    stream: 'DATA:x\nData:x\ndatax:x\n data:x\ndata:a\n\n',
    events: [event('a')],
  },
  { name: 'unknown fields are ignored', stream: 'foo:bar\nbaz\ndata:a\nqux: 1\n\n', events: [event('a')] },
  { name: 'comments are ignored', stream: ':hi\n: heartbeat\ndata:a\n:\n\n:\n\n', events: [event('a')] },
  {
    name: 'the event type ends with its event',
    stream: 'event:e\ndata:1\n\ndata:2\n\n',
    events: [event('1', 'e'), event('2')],
  },
  {
    name: 'a block without data resets the event type',
    stream: 'event:e\n\ndata:1\n\n',
    events: [event('1')],
  },
  {
    name: 'NUL in data and event type is kept',
    stream: 'event:a\0b\ndata:c\0d\n\n',
    events: [event('c\0d', 'a\0b')],
  },
  // Ids.
  {
    name: 'an id applies to its event',
    stream: 'id:1\ndata:a\n\n',
    events: [event('a', 'message', '1')],
    ids: ['1'],
  },
  {
    name: 'an id after the data still applies to that event',
    stream: 'data:a\nid: 2\n\n',
    events: [event('a', 'message', '2')],
    ids: ['2'],
  },
  {
    name: 'the id persists across events',
    stream: 'id:1\ndata:a\n\ndata:b\n\n',
    events: [event('a', 'message', '1'), event('b', 'message', '1')],
    ids: ['1'],
  },
  {
    name: 'an id without data sets the last event ID',
    stream: 'data:a\n\nid:7\n\ndata:b\n\n',
    events: [event('a'), event('b', 'message', '7')],
    ids: ['7'],
  },
  { name: 'an id without data at the end of the stream', stream: 'id:7\r\r', events: [], ids: ['7'] },
  {
    name: 'an empty id resets the last event ID',
    stream: 'id:1\ndata:a\n\nid\ndata:b\n\n',
    events: [event('a', 'message', '1'), event('b')],
    ids: ['1', ''],
  },
  {
    name: 'an id containing NUL is ignored',
    stream: 'id:1\n\nid:2\0\ndata:a\n\nid:\0\n\n',
    events: [event('a', 'message', '1')],
    ids: ['1'],
  },
  {
    name: 'only the space after the colon is removed from an id',
    stream: 'id:  x \ndata:a\n\n',
    events: [event('a', 'message', ' x ')],
    ids: [' x '],
  },
  {
    name: 'the last event ID given at the start',
    stream: 'data:a\n\nid:5\n\n',
    options: { lastEventId: '5' },
    events: [event('a', 'message', '5')],
    ids: [],
  },
  // retry.
  { name: 'retry of ASCII digits', stream: 'retry:1000\nretry: 0250\n', events: [], retries: [1000, 250] },
  {
    name: 'a bogus retry is ignored',
    stream:
      'retry:1000x\nretry:-1\nretry:1.5\nretry:\nretry: \nretry:  5\nretry:5 \nretry:\u0661\nretry:1e3\nretry\n',
    events: [],
    retries: [],
  },
  {
    name: 'retry alone dispatches nothing',
    stream: 'retry:5\n\ndata:a\n\n',
    events: [event('a')],
    retries: [5],
  },
  // BOM and UTF-8.
  { name: 'a leading BOM is stripped', stream: '\uFEFFdata:a\n\n', events: [event('a')] },
  {
    name: 'only the first BOM is stripped',
    stream: '\uFEFF\uFEFFdata:a\n\ndata:b\n\n',
    events: [event('b')],
  },
  {
    name: 'a BOM later on is text',
    stream: 'data:a\n\n\uFEFFdata:b\n\ndata:\uFEFFc\n\n',
    events: [event('a'), event('\uFEFFc')],
  },
  {
    name: 'multi-byte characters split anywhere',
    stream: 'data:é€😀\n\nid:ü\n\n',
    events: [event('é€😀')],
    ids: ['ü'],
  },
  {
    name: 'invalid UTF-8 becomes U+FFFD',
    stream: [...encode('data:'), 0xff, 0xc3, 0x0a, 0x0a],
    events: [event('\uFFFD\uFFFD')],
  },
  // The end of the stream.
  { name: 'EOF right after a complete block', stream: 'data:a\n\n', events: [event('a')] },
  { name: 'EOF after data:a CR CR', stream: 'event:e\ndata:a\r\r', events: [event('a', 'e')] },
  { name: 'EOF in the middle of a block', stream: 'data:a\n\ndata:b\n', events: [event('a')] },
  { name: 'EOF in the middle of a line', stream: 'data:a\n\ndata:b', events: [event('a')] },
  { name: 'EOF after a lone CR', stream: 'data:a\r', events: [] },
  {
    name: 'the id of a block cut off by EOF is not applied',
    stream: 'data:a\n\nid:9\ndata:b\n',
    events: [event('a')],
    ids: [],
  },
  { name: 'an empty stream', stream: '', events: [] },
]

describe('createEventStreamParser', () => {
  it.each(cases)('$name', ({ stream, events, ids, retries, options }) => {
    const bytes = typeof stream === 'string' ? encode(stream) : Uint8Array.from(stream)
    const outcome = expectSameInEveryChunking(bytes, options)
    expect(outcome.events).toEqual(events)
    if (ids) expect(outcome.ids).toEqual(ids)
    if (retries) expect(outcome.retries).toEqual(retries)
    expect(outcome.overflows).toBe(0)
    expectEventsAsSoonAsComplete(bytes, options)
  })

  it('gives the same events for CR, LF and CRLF in every combination at every line end', () => {
    const lines = ['event:e', 'data:a', 'id:1', 'data:b', '', 'data:c', '']
    const ends = ['\r', '\n', '\r\n']
    const expected = [event('a\nb', 'e', '1'), event('c', 'message', '1')]
    let streams = 0
    for (let combination = 0; combination < ends.length ** lines.length; combination++) {
      const chosen = lines.map((_, i) => ends[Math.floor(combination / ends.length ** i) % ends.length]!)
      // A CR followed by an empty line ended by LF is a CRLF: one line end, a different stream.
      if (chosen.some((end, i) => end === '\r' && lines[i + 1] === '' && chosen[i + 1] === '\n')) continue
      const bytes = encode(lines.map((line, i) => line + chosen[i]).join(''))
      const whole = parse([bytes])
      expect(whole.events, JSON.stringify(new TextDecoder().decode(bytes))).toEqual(expected)
      for (let i = 1; i < bytes.length; i++) {
        expect(parse([bytes.subarray(0, i), bytes.subarray(i)])).toEqual(whole)
      }
      streams++
    }
    expect(streams).toBeGreaterThan(1000)
  })

  it('dispatches data:a CR CR at once, before any further byte or the end', () => {
    const events: ParsedEvent[] = []
    const parser = createEventStreamParser({ onEvent: (e) => events.push(e) })
    parser.feed(encode('data:a\r\r'))
    expect(events).toEqual([event('a')])
    parser.feed(encode('\ndata:b\n\n')) // that LF ends the CR's line: no empty line, no extra event
    expect(events).toEqual([event('a'), event('b')])
  })

  it('an empty chunk between a CR and its LF changes nothing', () => {
    const chunks = ['data:a\r', '', '\ndata:b\r', '', '', '\n\n'].map(encode)
    expect(parse(chunks).events).toEqual([event('a\nb')])
  })

  it('reports the new last event ID before the event it comes with', () => {
    const calls: string[] = []
    const parser = createEventStreamParser({
      onEvent: ({ data, lastEventId }) => calls.push(`event ${data} ${lastEventId}`),
      onLastEventId: (id) => calls.push(`id ${id}`),
    })
    parser.feed(encode('id:1\ndata:a\n\ndata:b\n\nid:2\n\n'))
    expect(calls).toEqual(['id 1', 'event a 1', 'event b 1', 'id 2'])
  })

  describe('maxEventSize', () => {
    it('lets an event of exactly maxEventSize characters of data through', () => {
      const stream = encode('data: abc\ndata: de\n\n') // data "abc\nde": 6 characters
      expect(parse([stream], { maxEventSize: 6 }).events).toEqual([event('abc\nde')])
      expect(parse([stream], { maxEventSize: 5 }).overflows).toBe(1)
    })

    it('overflows once when the data grows past it, and dispatches nothing after', () => {
      const outcome = parse([encode(`data:${'x'.repeat(20)}\n\ndata:small\n\n`)], { maxEventSize: 10 })
      expect(outcome).toMatchObject({ events: [], overflows: 1 })
    })

    it('overflows on a line that never ends, before the end of the stream', () => {
      let overflowed = false
      const parser = createEventStreamParser(
        { onEvent: () => {}, onOverflow: () => (overflowed = true) },
        { maxEventSize: 50 },
      )
      for (let i = 0; i < 10 && !overflowed; i++) parser.feed(encode('x'.repeat(10)))
      expect(overflowed).toBe(true)
    })

    it('counts the data across lines and chunks', () => {
      const chunks = ['data:aaaa\n', 'data:bbbb\n', 'data:cc', 'cc\n\n'].map(encode)
      expect(parse(chunks, { maxEventSize: 12 }).overflows).toBe(1)
      expect(parse(chunks, { maxEventSize: 30 }).events).toEqual([event('aaaa\nbbbb\ncccc')])
    })
  })
})
