/**
 * The spec's line ends and last event ID over a real socket: a `node:http` server on port 0
 * writes raw bytes (no formatter in between), and `connect` must see what a browser sees. The
 * parser's own cases, in every chunking, are in `src/event-stream-parser.test.ts`.
 * https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 */
import type { ServerResponse } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { connect } from '../src/index.ts'
import { closeOpened, createManualTimers, record, server, track } from './helpers.ts'

afterEach(closeOpened)

/** Starts an event stream by hand and writes `bytes` as they are. */
function writeRaw(res: ServerResponse, bytes: string): void {
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' })
  res.write(bytes)
}

describe('line ends over a real socket', () => {
  it('dispatches data:a CR CR at once while the server holds the connection, sending nothing more', async () => {
    let requests = 0
    const { url } = await server((_req, res) => {
      requests++
      writeRaw(res, 'data:a\r\r') // and then silence: the response stays open
    })
    const source = track(connect(url))
    const seen = record(source)
    await seen.until(() => seen.messages.length === 1, 'the event ended by CR CR')
    expect(seen.messages).toEqual([{ type: 'message', data: 'a', lastEventId: '' }])
    expect(source.readyState).toBe('open')
    expect(requests).toBe(1)
  })

  it('dispatches data:a CR CR when the server closes right after it', async () => {
    const { url } = await server((_req, res) => {
      writeRaw(res, 'data:a\r\r')
      res.end()
    })
    const source = track(connect(url, { reconnect: false }))
    const seen = record(source)
    await seen.until(() => seen.closes.length === 1, 'the end of the stream')
    expect(seen.closes).toEqual([{ reason: 'ended', error: undefined }])
    expect(seen.messages).toEqual([{ type: 'message', data: 'a', lastEventId: '' }])
  })

  it('takes an LF in the next packet as the end of the CR before it, not as a blank line', async () => {
    const { url } = await server((_req, res) => {
      writeRaw(res, 'data:a\r')
      setTimeout(() => res.end('\ndata:b\r\n\r\n'), 50)
    })
    const source = track(connect(url, { reconnect: false }))
    const seen = record(source)
    await seen.until(() => seen.closes.length === 1, 'the end of the stream')
    expect(seen.messages.map(({ data }) => data)).toEqual(['a\nb'])
  })
})

describe('the last event ID over a real socket', () => {
  it('an id: without data: sets the next event lastEventId and the next Last-Event-ID', async () => {
    const { url, requests } = await server((_req, res, index) => {
      if (index === 0) {
        writeRaw(res, 'id:1\ndata:a\n\nid:7\n\n')
        res.end() // the server ends the stream: the client reconnects
      } else {
        writeRaw(res, 'data:b\n\n') // held open
      }
    })
    const manual = createManualTimers()
    const source = track(connect(url, { timers: manual.timers, reconnect: { random: () => 0 } }))
    const seen = record(source)
    await seen.until(() => seen.reconnecting.length === 1, 'the reconnection')
    expect(source.lastEventId).toBe('7')
    manual.fire(await manual.next('the backoff'))
    await seen.until(() => seen.messages.length === 2, 'the event of the second stream')
    expect(seen.messages).toEqual([
      { type: 'message', data: 'a', lastEventId: '1' },
      { type: 'message', data: 'b', lastEventId: '7' },
    ])
    expect(requests.map(({ headers }) => headers['last-event-id'])).toEqual([undefined, '7'])
  })

  it('an id: containing NUL is ignored, and an id of a block cut off by the end is not taken', async () => {
    const { url, requests } = await server((_req, res, index) => {
      if (index === 0) {
        writeRaw(res, 'id:1\n\nid:2\0\ndata:a\n\nid:3\ndata:cut')
        res.end()
      } else {
        writeRaw(res, '')
      }
    })
    const manual = createManualTimers()
    const source = track(connect(url, { timers: manual.timers, reconnect: { random: () => 0 } }))
    const seen = record(source)
    await seen.until(() => seen.reconnecting.length === 1, 'the reconnection')
    manual.fire(await manual.next('the backoff'))
    await seen.until(() => seen.opens.length === 2, 'the second stream')
    expect(seen.messages).toEqual([{ type: 'message', data: 'a', lastEventId: '1' }])
    expect(requests.map(({ headers }) => headers['last-event-id'])).toEqual([undefined, '1'])
  })
})
