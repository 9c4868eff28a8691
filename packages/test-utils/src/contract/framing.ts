/**
 * Contract cases on framing: the head and headers of both routes (HTTP/1.1 and HTTP/2), bytes on
 * the wire before the first event, data that must read back exactly, and field injection.
 */
import { expect, it } from 'vitest'
import { codeOf, rejectionCodeOf } from '../error-code.ts'
import { headerNames } from '../read-events.ts'
import type { ContractCases } from './suite.ts'

/** Payloads and what a spec-conforming client reads back: CRLF and lone CR become LF. */
const TEXT_CASES: ReadonlyArray<readonly [sent: string, read: string]> = [
  ['one\ntwo', 'one\ntwo'],
  ['one\r\ntwo', 'one\ntwo'],
  ['one\rtwo', 'one\ntwo'],
  ['\r\nlead\r\r\nmixed\n\rtrail\r\n', '\nlead\n\nmixed\n\ntrail\n'],
  ['', ''],
  ['\n', '\n'],
  [' leading space', ' leading space'],
  ['data: not a field\n\nevent: nor this\nid: 1', 'data: not a field\n\nevent: nor this\nid: 1'],
  ['emoji 😀 👍🏽 👨‍👩‍👧 🇺🇦', 'emoji 😀 👍🏽 👨‍👩‍👧 🇺🇦'],
  ['中文 日本語 한국어', '中文 日本語 한국어'],
  ['עברית العربية \u200f rtl', 'עברית العربية \u200f rtl'],
  ['nul\u0000inside', 'nul\u0000inside'],
  ['\u2028line separators are data\u2029', '\u2028line separators are data\u2029'],
  // Large, multi-byte throughout: chunk boundaries fall inside lines and inside characters.
  [`${'😀中é\r\n'.repeat(20_000)}end`, `${'😀中é\n'.repeat(20_000)}end`],
]

export function framingCases({ s, http2 }: ContractCases): void {
  it('answers 200 with the SSE headers on both routes', async () => {
    for (const url of [s.streamUrl(), s.hubUrl(['headers'])]) {
      const reader = await s.open(url)
      expect(reader.status, url).toBe(200)
      expect(reader.headers['content-type'], url).toBe('text/event-stream; charset=utf-8')
      expect(reader.headers['cache-control'], url).toContain('no-cache')
      expect(reader.headers['x-accel-buffering'], url).toBe('no')
      expect(reader.headers['x-content-type-options'], url).toBe('nosniff')
      // Each once: a framework default and the adapter's value must not both go out.
      const names = headerNames(reader)
      for (const single of [
        'content-type',
        'cache-control',
        'x-accel-buffering',
        'x-content-type-options',
        'connection',
      ]) {
        expect(
          names.filter((name) => name === single).length,
          `${single} headers (${url})`,
        ).toBeLessThanOrEqual(1)
      }
      if (http2) {
        expect(reader.httpVersion).toBe('2.0')
        // Connection-specific headers are illegal on HTTP/2 (RFC 9113 §8.2.2).
        for (const banned of [
          'connection',
          'keep-alive',
          'transfer-encoding',
          'proxy-connection',
          'upgrade',
        ]) {
          expect(reader.headers[banned], `${banned} on HTTP/2 (${url})`).toBeUndefined()
        }
      } else {
        expect(reader.httpVersion).toBe('1.1')
        expect(String(reader.headers.connection).toLowerCase(), url).toBe('keep-alive')
      }
    }
  })

  it('delivers the head and a first comment before any event is sent', async () => {
    s.streamOptions = { heartbeat: false }
    // The server sends nothing until the client holds the 200 and the first bytes: if the
    // head or the first comment were buffered, these waits would pass their deadlines.
    const reader = await s.open(s.streamUrl())
    const stream = await s.nextStream()
    expect(reader.status).toBe(200)
    await reader.waitForComments(1)
    expect(reader.eventCount).toBe(0)
    stream.send({ data: 'first' })
    expect((await reader.next()).data).toBe('first')

    const hubReader = await s.open(s.hubUrl(['prompt']))
    await hubReader.waitForComments(1)
    expect(hubReader.eventCount).toBe(0)
    await s.hubSize(1)
    await s.hub.publish('prompt', { data: 'first on the hub' })
    expect((await hubReader.next()).data).toBe('first on the hub')
  })

  it('reads back multi-line and unicode data exactly (CR and CRLF read as LF)', async () => {
    s.streamOptions = { heartbeat: false }
    const reader = await s.open(s.streamUrl())
    const stream = await s.nextStream()
    for (const [sent] of TEXT_CASES) stream.send({ data: sent })
    const events = await reader.waitFor(TEXT_CASES.length)
    expect(events.map((event) => event.data)).toEqual(TEXT_CASES.map(([, read]) => read))

    const hubReader = await s.open(s.hubUrl(['text']))
    await s.hubSize(1)
    for (const [sent] of TEXT_CASES) await s.hub.publish('text', { event: 'text', data: sent })
    const hubEvents = await hubReader.waitFor(TEXT_CASES.length)
    expect(hubEvents.map((event) => event.data)).toEqual(TEXT_CASES.map(([, read]) => read))
    expect(new Set(hubEvents.map((event) => event.event))).toEqual(new Set(['text']))
  })

  it('rejects field injection through event names and ids, and nothing of it reaches the client', async () => {
    s.streamOptions = { heartbeat: false }
    const reader = await s.open(s.streamUrl())
    const stream = await s.nextStream()
    expect(codeOf(() => stream.send({ event: 'a\nb', data: 'x' }))).toBe('SSE_INVALID_EVENT_NAME')
    expect(codeOf(() => stream.send({ event: 'a\rdata: injected', data: 'x' }))).toBe(
      'SSE_INVALID_EVENT_NAME',
    )
    expect(codeOf(() => stream.send({ id: '1\n2', data: 'x' }))).toBe('SSE_INVALID_ID')
    expect(codeOf(() => stream.send({ id: '1\r\nevent: evil', data: 'x' }))).toBe('SSE_INVALID_ID')
    expect(codeOf(() => stream.send({ id: 'nul\u0000', data: 'x' }))).toBe('SSE_INVALID_ID')
    // Ids the client could not send back as Last-Event-ID (Node would answer its reconnect with 400).
    expect(codeOf(() => stream.send({ id: 'esc\u001b', data: 'x' }))).toBe('SSE_INVALID_ID')
    expect(codeOf(() => stream.send({ id: 'x'.repeat(257), data: 'x' }))).toBe('SSE_INVALID_ID')
    expect(codeOf(() => stream.send({ retry: -1 }))).toBe('SSE_INVALID_RETRY')
    stream.send({ event: 'valid', id: 'v1', data: 'intact' })
    stream.send({ data: 'sentinel' })
    const events = await reader.waitFor(2)
    expect(events).toEqual([{ event: 'valid', id: 'v1', data: 'intact' }, { data: 'sentinel' }])
    expect(reader.retries).toEqual([])
    expect(reader.comments).toEqual([''])
    expect(stream.closed).toBe(false)

    const hubReader = await s.open(s.hubUrl(['inject']))
    await s.hubSize(1)
    expect(await rejectionCodeOf(s.hub.publish('inject', { event: 'a\nb', data: 'x' }))).toBe(
      'SSE_INVALID_EVENT_NAME',
    )
    const id = await s.hub.publish('inject', { event: 'valid', data: 'intact' })
    expect(await hubReader.next()).toEqual({ event: 'valid', id, data: 'intact' })
    expect(s.hub.stats.published).toBe(1)
  })
}
