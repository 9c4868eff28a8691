import { describe, expect, it } from 'vitest'
import {
  MAX_TEXT_LENGTH,
  parseJsonBody,
  parseNotification,
  parseTopics,
  requestedTopics,
} from '../src/index.ts'

describe('parseNotification', () => {
  it('keeps the text exactly as sent', () => {
    const text = '  two\nlines 👋 שלום  '
    expect(parseNotification({ topic: 'alerts', text })).toEqual({
      ok: true,
      value: { topic: 'alerts', text },
    })
  })

  it.each([
    [null, /JSON object/],
    ['news', /JSON object/],
    [[], /JSON object/],
    [{ text: 'hi' }, /topic must be one of news, alerts; got undefined/],
    [{ topic: 'sport', text: 'hi' }, /got "sport"/],
    [{ topic: 'news', text: '' }, /text must be/],
    [{ topic: 'news', text: '\n \t' }, /text must be/],
    [{ topic: 'news', text: 'x'.repeat(MAX_TEXT_LENGTH + 1) }, /2001 characters long; at most 2000/],
    [{ topic: 'news', text: 'hi', extra: 1 }, /unknown field "extra"/],
  ])('refuses %j', (body, error) => {
    const parsed = parseNotification(body)
    expect(parsed.ok).toBe(false)
    if (!parsed.ok) expect(parsed.error).toMatch(error)
  })
})

describe('parseTopics', () => {
  it('defaults to every topic, splits on commas, drops blanks and repeats', () => {
    expect(parseTopics(undefined)).toEqual({ ok: true, value: ['news', 'alerts'] })
    expect(parseTopics('alerts, news,,alerts')).toEqual({ ok: true, value: ['alerts', 'news'] })
    expect(parseTopics(['news', 'alerts'])).toEqual({ ok: true, value: ['news', 'alerts'] })
  })

  it('names an unknown topic, and refuses none at all', () => {
    expect(parseTopics('news,sport')).toMatchObject({ ok: false, error: expect.stringContaining('"sport"') })
    expect(parseTopics(' , ')).toMatchObject({ ok: false, error: expect.stringContaining('no topics') })
  })
})

describe('requestedTopics', () => {
  it('reads the names asked for, unchecked: every topic when absent, blanks dropped', () => {
    expect(requestedTopics(undefined)).toEqual(['news', 'alerts'])
    expect(requestedTopics(' news, sport,,')).toEqual(['news', 'sport'])
    expect(requestedTopics(['news', 'alerts,news'])).toEqual(['news', 'alerts', 'news'])
    expect(requestedTopics(' , ')).toEqual([])
  })
})

describe('parseJsonBody', () => {
  it('parses JSON sent as JSON', () => {
    expect(parseJsonBody('application/json; charset=utf-8', '{"a":1}')).toEqual({ ok: true, value: { a: 1 } })
  })

  it('refuses another content type, bad JSON, and too large a body (413)', () => {
    expect(parseJsonBody('text/plain', '{}')).toMatchObject({
      ok: false,
      error: /Content-Type: application\/json/,
    })
    expect(parseJsonBody(undefined, '{}')).toMatchObject({ ok: false })
    expect(parseJsonBody('application/json', '{"a":')).toMatchObject({ ok: false, error: /not valid JSON/ })
    expect(parseJsonBody('application/json', `"${'x'.repeat(20_000)}"`)).toMatchObject({
      ok: false,
      status: 413,
    })
  })
})
