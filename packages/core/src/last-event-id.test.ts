import { describe, expect, it } from 'vitest'
import {
  createEpoch,
  formatLogId,
  MAX_LAST_EVENT_ID_BYTES,
  parseLogId,
  readLastEventId,
} from './last-event-id.ts'

/** What Node hands us for header bytes: one char per byte (latin1). */
const asHeader = (text: string) => String.fromCharCode(...new TextEncoder().encode(text))

describe('readLastEventId', () => {
  it('re-decodes the UTF-8 bytes Node presents as latin1', () => {
    expect(readLastEventId(asHeader('…'))).toBe('…')
    expect(readLastEventId(asHeader('id-😀-中文'))).toBe('id-😀-中文')
    expect(readLastEventId('plain-ascii-42')).toBe('plain-ascii-42')
  })

  it('accepts an already decoded string', () => {
    expect(readLastEventId('中文')).toBe('中文')
  })

  it.each([
    ['absent', undefined],
    ['null', null],
    ['empty', ''],
    ['repeated header', ['1', '2']],
    ['invalid UTF-8', '\xff\xfe\xfd'],
    ['truncated UTF-8', asHeader('…').slice(0, 2)],
    ['too long', 'a'.repeat(MAX_LAST_EVENT_ID_BYTES + 1)],
    ['too long once encoded', '中'.repeat(100)],
    ['NUL', 'a\0b'],
    ['LF', 'a\nb'],
    ['lone surrogate', 'a\uD800'],
  ])('treats %s as absent', (_label, value) => {
    expect(readLastEventId(value as string)).toBeUndefined()
  })

  it('accepts exactly the maximum length', () => {
    expect(readLastEventId('a'.repeat(MAX_LAST_EVENT_ID_BYTES))).toHaveLength(MAX_LAST_EVENT_ID_BYTES)
  })
})

describe('log ids', () => {
  it('round-trips a position', () => {
    const position = { epoch: createEpoch(), seq: 123_456 }
    expect(parseLogId(formatLogId(position))).toEqual(position)
  })

  it('makes distinct 12-character epochs', () => {
    const epochs = new Set(Array.from({ length: 1000 }, createEpoch))
    expect(epochs.size).toBe(1000)
    for (const epoch of epochs) expect(epoch).toMatch(/^[0-9a-z]{12}$/)
  })

  it.each([
    '',
    '42',
    'abc',
    'abc-',
    '-1',
    'ABC-1',
    'abc-01',
    'abc-1.5',
    'abc--1',
    'abc-99999999999999999',
    `${'a'.repeat(33)}-1`,
  ])('rejects %j', (id) => {
    expect(parseLogId(id)).toBeUndefined()
  })
})
