import { createParser, type EventSourceMessage } from 'eventsource-parser'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SseError } from './errors.ts'
import {
  assertEventFits,
  dataLinesBytes,
  encodeFrame,
  formatComment,
  formatDataLines,
  formatEvent,
  framedEventBytes,
  framedEventBytesBound,
  type SseEvent,
} from './format.ts'

function parse(text: string): { events: EventSourceMessage[]; retries: number[]; comments: string[] } {
  const events: EventSourceMessage[] = []
  const retries: number[] = []
  const comments: string[] = []
  const parser = createParser({
    onEvent: (event) => events.push(event),
    onRetry: (retry) => retries.push(retry),
    onComment: (comment) => comments.push(comment),
  })
  parser.feed(text)
  return { events, retries, comments }
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(SseError)
    return (error as SseError).code
  }
  return undefined
}

describe('formatEvent: exact bytes', () => {
  it('writes data with one space after the colon and ends with a blank line', () => {
    expect(formatEvent({ data: 'x' })).toBe('data: x\n\n')
  })

  it('orders id, event, retry, then data', () => {
    expect(formatEvent({ data: 'd', event: 'e', id: '1', retry: 3000 })).toBe(
      'id: 1\nevent: e\nretry: 3000\ndata: d\n\n',
    )
  })

  it('splits data on CRLF, lone CR and LF into one data line each', () => {
    expect(formatEvent({ data: 'a\r\nb\rc\nd' })).toBe('data: a\ndata: b\ndata: c\ndata: d\n\n')
  })

  it('keeps empty lines, including leading and trailing ones', () => {
    expect(formatEvent({ data: '\na\n' })).toBe('data:\ndata: a\ndata:\n\n')
  })

  it('sends empty data as a bare data line, which still dispatches an empty message', () => {
    expect(formatEvent({ data: '' })).toBe('data:\n\n')
    expect(parse(formatEvent({ data: '' })).events).toEqual([{ data: '', event: undefined, id: undefined }])
  })

  it('keeps a leading space in data (the parser strips exactly one)', () => {
    expect(formatEvent({ data: ' x' })).toBe('data:  x\n\n')
    expect(parse(formatEvent({ data: ' x' })).events[0]?.data).toBe(' x')
  })

  it('writes data starting with a colon behind the field name, never as a comment', () => {
    expect(formatEvent({ data: ':not a comment' })).toBe('data: :not a comment\n\n')
  })

  it('serializes non-string data as JSON by default', () => {
    expect(formatEvent({ data: { a: 1, b: [true, null] } })).toBe('data: {"a":1,"b":[true,null]}\n\n')
    expect(formatEvent({ data: 42 })).toBe('data: 42\n\n')
    expect(formatEvent({ data: null })).toBe('data: null\n\n')
  })

  it('uses a custom serializer, and splits what it returns', () => {
    const serialize = (value: unknown) => `<${String(value)}>\n!`
    expect(formatEvent({ data: 7 }, serialize)).toBe('data: <7>\ndata: !\n\n')
  })

  it('accepts every id a client can send back: tabs and spaces inside, non-ASCII, up to 256 UTF-8 bytes', () => {
    for (const id of ['a\tb', 'a b', '…', '中文-😀', 'x'.repeat(256), 'é'.repeat(128), '']) {
      expect(codeOf(() => formatEvent({ id, data: 'x' }))).toBe(undefined)
    }
  })

  it('writes an empty id as a bare id line, which resets the client’s last event id', () => {
    expect(formatEvent({ id: '' })).toBe('id\n\n')
    expect(formatEvent({ id: '', data: 'x' })).toBe('id\ndata: x\n\n')
  })

  it('allows an id-only or retry-only block (it updates client state without an event)', () => {
    expect(formatEvent({ id: '9' })).toBe('id: 9\n\n')
    expect(formatEvent({ retry: 0 })).toBe('retry: 0\n\n')
  })

  it('omits an empty event name, which means "message" anyway', () => {
    expect(formatEvent({ event: '', data: 'x' })).toBe('data: x\n\n')
  })

  it('passes unicode through untouched, and encodes it as UTF-8', () => {
    const text = 'héllo 😀 中文 עברית \u0000'
    expect(formatEvent({ data: text })).toBe(`data: ${text}\n\n`)
    expect(encodeFrame('😀')).toEqual(new Uint8Array([0xf0, 0x9f, 0x98, 0x80]))
  })
})

describe('formatEvent: rejects what would corrupt the stream', () => {
  it.each(['a\nb', 'a\rb', 'a\r\nb', '\n', 'x\r'])('event name %j → SSE_INVALID_EVENT_NAME', (event) => {
    expect(codeOf(() => formatEvent({ event, data: 'x' }))).toBe('SSE_INVALID_EVENT_NAME')
  })

  it.each([
    '1\n2',
    '1\r',
    '\r\n',
    'a\u0000b',
    '\u0000',
    // Ids the client could not send back as Last-Event-ID (Node answers 400, HTTP trims, no UTF-8 form):
    'a\u0001b',
    'bell\u0007',
    'esc\u001b[0m',
    'del\u007f',
    ' leading',
    'trailing ',
    '\tx',
    'lone \ud800 surrogate',
    'x'.repeat(257),
    'é'.repeat(129),
  ])('id %j → SSE_INVALID_ID', (id) => {
    expect(codeOf(() => formatEvent({ id, data: 'x' }))).toBe('SSE_INVALID_ID')
  })

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '100' as unknown as number])(
    'retry %s → SSE_INVALID_RETRY',
    (retry) => {
      expect(codeOf(() => formatEvent({ retry, data: 'x' }))).toBe('SSE_INVALID_RETRY')
    },
  )

  it('rejects data the serializer cannot represent, or a serializer that throws', () => {
    expect(codeOf(() => formatEvent({ data: () => 1 }))).toBe('SSE_INVALID_DATA')
    expect(codeOf(() => formatEvent({ data: 10n }))).toBe('SSE_INVALID_DATA')
    expect(codeOf(() => formatEvent({ data: 1 }, () => 5 as unknown as string))).toBe('SSE_INVALID_DATA')
  })

  it('rejects an event a client would never act on', () => {
    expect(codeOf(() => formatEvent({}))).toBe('SSE_EMPTY_EVENT')
    expect(codeOf(() => formatEvent({ event: 'only-a-name' }))).toBe('SSE_EMPTY_EVENT')
  })

  it('names the fix in its message', () => {
    expect(() => formatEvent({ event: 'a\nb', data: 1 })).toThrow(/without CR or LF/)
  })
})

describe('formatComment', () => {
  it('writes a bare colon for an empty comment, and one line per input line', () => {
    expect(formatComment()).toBe(':\n\n')
    expect(formatComment('ping')).toBe(': ping\n\n')
    expect(formatComment('a\r\nb\rc\nd')).toBe(': a\n: b\n: c\n: d\n\n')
  })

  it('cannot inject a field or an event', () => {
    const { events, comments } = parse(formatComment('x\ndata: injected\n\nevent: evil'))
    expect(events).toEqual([])
    expect(comments).toEqual(['x', 'data: injected', '', 'event: evil'])
  })
})

describe('round trip through a real parser (eventsource-parser)', () => {
  // Strings of any Unicode scalar values (no lone surrogates: those cannot be encoded as UTF-8).
  const text = fc.string({ unit: 'binary', maxLength: 40 })
  const withBreaks = fc
    .array(fc.oneof(text, fc.constantFrom('\n', '\r', '\r\n', '\r\r', '\n\n', ' ', ':')), { maxLength: 8 })
    .map((parts) => parts.join(''))
  const noBreak = text.map((value) => value.replace(/[\r\n]/g, ''))

  it('reads back exactly the data, event and id it was given', () => {
    fc.assert(
      fc.property(
        withBreaks,
        fc.option(noBreak, { nil: undefined }),
        fc.option(
          // Ids a client can send back (see assertEventId): no controls, no whitespace at the ends.
          // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point.
          noBreak.map((value) => value.replace(/[\u0000-\u0008\u000a-\u001f\u007f]/g, '').trim()),
          { nil: undefined },
        ),
        (data, event, id) => {
          const frame = formatEvent({ data, event, id })
          const decoded = new TextDecoder().decode(encodeFrame(frame))
          const { events } = parse(`${decoded}`)
          expect(events).toHaveLength(1)
          const [message] = events
          expect(message?.data).toBe(data.replace(/\r\n|\r/g, '\n'))
          expect(message?.event).toBe(event === '' ? undefined : event)
          expect(message?.id).toBe(id)
        },
      ),
      { numRuns: 2000 },
    )
  })

  it('keeps events apart: a sequence of frames parses to the same sequence of events', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ data: withBreaks, event: noBreak }), { maxLength: 10 }), (list) => {
        const frames = list.map((event: SseEvent) => formatEvent(event)).join('')
        const { events } = parse(frames)
        expect(events.map((event) => event.data)).toEqual(
          list.map((event) => event.data.replace(/\r\n|\r/g, '\n')),
        )
      }),
      { numRuns: 500 },
    )
  })

  it('writes retry so the parser reports it', () => {
    fc.assert(
      fc.property(fc.nat(), (retry) => {
        expect(parse(formatEvent({ retry })).retries).toEqual([retry])
      }),
    )
  })
})

describe('the size of a frame, counted without building it (maxEventBytes)', () => {
  // Any UTF-16: lone surrogates too (TextEncoder writes each as U+FFFD, 3 bytes).
  const anyText = fc
    .array(
      fc.oneof(
        fc.string({ unit: 'binary' }),
        fc.string({ unit: 'grapheme' }),
        fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)) }),
        fc.constantFrom('\n', '\r', '\r\n', '\r\r', '\n\n', ''),
      ),
      { maxLength: 8 },
    )
    .map((parts) => parts.join(''))
  const longestId = 'i'.repeat(256)

  it('counts exactly the UTF-8 bytes of the data lines', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        expect(dataLinesBytes(text)).toBe(encodeFrame(formatDataLines(text)).length)
      }),
      { numRuns: 2000 },
    )
    // Past the 16 KiB counted at a time: pairs and lone surrogates across every boundary offset.
    const large = ['a', 'ab', 'abc'].flatMap((lead) => [
      lead + '😀'.repeat(10_000),
      lead + '\ud83d中'.repeat(10_000),
      `${lead}${'é\r\n'.repeat(8000)}\r`,
    ])
    for (const text of ['', '\n', '\r\n', 'a\r', '\ud83d', '\ude00x', '😀中é\r\n'.repeat(3), ...large]) {
      expect(dataLinesBytes(text)).toBe(encodeFrame(formatDataLines(text)).length)
    }
  })

  it('counts the frame with the longest id, and bounds it from above in O(1)', () => {
    const name = fc.string({ unit: 'binary', maxLength: 20 }).map((value) => value.replace(/[\r\n]/g, ''))
    fc.assert(
      fc.property(anyText, fc.option(name, { nil: undefined }), (data, event) => {
        const exact = encodeFrame(formatEvent({ id: longestId, event, data })).length
        expect(framedEventBytes(data, event)).toBe(exact)
        expect(framedEventBytesBound(data, event)).toBeGreaterThanOrEqual(exact)
        // A shorter id only makes the frame smaller: the limit holds whatever id the broker assigns.
        expect(encodeFrame(formatEvent({ id: 'e-1', event, data })).length).toBeLessThanOrEqual(exact)
      }),
      { numRuns: 2000 },
    )
  })

  it('assertEventFits throws SSE_EVENT_TOO_LARGE past the limit, counting UTF-8 and the data: lines', () => {
    const fits = (data: string, event?: string) => codeOf(() => assertEventFits(data, event, 1000))
    expect(fits('x'.repeat(600))).toBeUndefined()
    expect(fits('x'.repeat(800))).toBe('SSE_EVENT_TOO_LARGE')
    // 300 characters, but 900 bytes of UTF-8, plus the id and data: lines.
    expect(fits('中'.repeat(300))).toBe('SSE_EVENT_TOO_LARGE')
    expect(fits('中'.repeat(200))).toBeUndefined()
    // 150 characters, but 151 lines of `data:`.
    expect(fits('\n'.repeat(150))).toBe('SSE_EVENT_TOO_LARGE')
    expect(fits('x'.repeat(600), 'e'.repeat(200))).toBe('SSE_EVENT_TOO_LARGE')
    expect(() => assertEventFits('x'.repeat(800), undefined, 1000)).toThrow(/over maxEventBytes \(1000\)/)
  })
})
