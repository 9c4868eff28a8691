import { createParser, type EventSourceMessage } from 'eventsource-parser'
import { describe, expect, it } from 'vitest'
import { createEventStream } from './event-stream.ts'
import { createHub } from './hub.ts'
import { SSE_HEADERS } from './sink.ts'
import { createSseResponse, createWebSink } from './web.ts'

async function readAll(body: ReadableStream<Uint8Array>): Promise<EventSourceMessage[]> {
  const events: EventSourceMessage[] = []
  const parser = createParser({ onEvent: (event) => events.push(event) })
  const decoder = new TextDecoder()
  const reader = body.getReader()
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    parser.feed(decoder.decode(value, { stream: true }))
  }
  return events
}

describe('createWebSink', () => {
  it('streams framed bytes through a ReadableStream and ends on close', async () => {
    const sink = createWebSink()
    const stream = createEventStream(sink, { heartbeat: false })
    expect(sink.head).toEqual({ status: 200, headers: SSE_HEADERS })
    stream.send({ event: 'a', data: 'line 1\nline 2' })
    stream.close()
    expect(await readAll(sink.readable)).toEqual([{ event: 'a', data: 'line 1\nline 2', id: undefined }])
  })

  it('reports full at the high-water mark and drains as the reader catches up', async () => {
    const sink = createWebSink({ highWaterMark: 64 })
    const stream = createEventStream(sink, { heartbeat: false, maxBufferedBytes: 10_000 })
    for (let i = 0; i < 20; i++) stream.send({ data: 'x'.repeat(30) })
    expect(stream.bufferedBytes).toBeGreaterThan(0)
    const reader = sink.readable.getReader()
    let received = ''
    const decoder = new TextDecoder()
    while (!received.includes(`${'data: '.concat('x'.repeat(30))}\n\n`.repeat(20))) {
      const { value } = await reader.read()
      received += decoder.decode(value, { stream: true })
    }
    expect(stream.bufferedBytes).toBe(0)
    stream.close()
  })

  it('never enqueues more than the queue cap plus the high-water mark for a reader that stops', () => {
    const sink = createWebSink({ highWaterMark: 1024 })
    const stream = createEventStream(sink, { heartbeat: false, maxBufferedBytes: 4096, onOverflow: 'drop' })
    for (let i = 0; i < 1000; i++) stream.send({ data: 'y'.repeat(100) })
    expect(stream.bufferedBytes).toBeLessThanOrEqual(4096)
    expect(stream.droppedEvents).toBeGreaterThan(900)
    stream.close()
  })

  it('aborts when the reader cancels', async () => {
    const sink = createWebSink()
    const stream = createEventStream(sink, { heartbeat: false })
    await sink.readable.cancel()
    expect(sink.signal.aborted).toBe(true)
    expect(stream.closed).toBe(true)
    expect(stream.send({ data: 'late' })).toBe(false)
  })

  it('aborts when the request’s signal aborts (runtimes that never cancel the body)', () => {
    const request = new AbortController()
    const sink = createWebSink({ signal: request.signal })
    const stream = createEventStream(sink, { heartbeat: false })
    request.abort()
    expect(stream.closed).toBe(true)
  })

  it('starts aborted for an already aborted request', () => {
    const request = new AbortController()
    request.abort()
    expect(createWebSink({ signal: request.signal }).signal.aborted).toBe(true)
  })

  it('lets a hub write the same bytes to many web streams without detaching them', async () => {
    const hub = createHub({ heartbeat: false })
    const sinks = [createWebSink(), createWebSink()]
    for (const sink of sinks) hub.subscribe(createEventStream(sink, { heartbeat: false }), { topics: ['t'] })
    await hub.publish('t', { data: 'shared' })
    await new Promise((resolve) => setImmediate(resolve))
    await hub.close({ retry: false })
    const [a, b] = await Promise.all(sinks.map((sink) => readAll(sink.readable)))
    expect(a?.map((event) => event.data)).toEqual(['shared'])
    expect(b?.map((event) => event.data)).toEqual(['shared'])
  })
})

describe('createSseResponse', () => {
  it('returns a Response with the SSE headers and the stream body', async () => {
    const { stream, response } = createSseResponse({ heartbeat: false, lastEventId: 'abc' })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    expect(response.headers.get('connection')).toBeNull()
    expect(stream.lastEventId).toBe('abc')
    stream.send({ data: 'hi' })
    stream.close()
    expect((await readAll(response.body!)).map((event) => event.data)).toEqual(['hi'])
  })
})
