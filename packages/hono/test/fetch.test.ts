/**
 * The adapter as Bun, Deno and Workers run it: no Node server at all, only `app.request()` /
 * `app.fetch(new Request(…))` and the `Response` body read as a Web stream with
 * `eventsource-parser`. Headers, events, replay, the reset event, heartbeats, bounded
 * backpressure for a reader that reads nothing, and both ways a client leaves: the body's
 * cancel and the request's `AbortSignal` (alone, with the body never read nor cancelled).
 */
import { type CloseReason, type EventStream, type Hub, parseLogId, RESET_EVENT } from '@sse/core'
import { pollUntil, readResponse, useTestScope, withTimeout } from '@sse/test-utils'
import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { type SseHubOptions, type SseOptions, sse, sseHub } from '../src/index.ts'

const { defer, hub: testHub } = useTestScope()

/** The streams a route opened, with why each closed, closed after the test. */
interface Opened {
  readonly streams: EventStream[]
  readonly reasons: Map<EventStream, CloseReason>
}

/** An app with `/stream` (`sse`, streams handed to the test) and `/hub` (`sseHub`, topics from `?topics=`). */
function buildApp(
  hub: Hub,
  streamOptions: SseOptions = { heartbeat: false },
  hubOptions: Partial<SseHubOptions> = {},
): { app: Hono; opened: Opened } {
  const opened: Opened = { streams: [], reasons: new Map() }
  const app = new Hono()
  app.get('/stream', (c) =>
    sse(
      c,
      (stream) => {
        opened.streams.push(stream)
        stream.onClose((reason) => opened.reasons.set(stream, reason))
        defer(() => stream.close())
      },
      streamOptions,
    ),
  )
  app.get(
    '/hub',
    sseHub({ hub, topics: (c) => (c.req.query('topics') ?? '').split(',').filter(Boolean), ...hubOptions }),
  )
  return { app, opened }
}

async function request(app: Hono, path: string, init?: RequestInit): Promise<Response> {
  return withTimeout(Promise.resolve(app.request(path, init)), 5000, `the response to ${path}`)
}

/** Hub unsubscribe reasons, in order. */
function unsubscribeReasons(hub: Hub): string[] {
  const reasons: string[] = []
  hub.on('unsubscribe', ({ reason }) => reasons.push(reason))
  return reasons
}

describe('the response', () => {
  it('carries the SSE headers and no hop-by-hop or length header, on both routes', async () => {
    const hub = testHub()
    const { app } = buildApp(hub)
    for (const path of ['/stream', '/hub?topics=a']) {
      const response = await request(app, path)
      expect(response.status, path).toBe(200)
      expect(response.headers.get('content-type'), path).toBe('text/event-stream; charset=utf-8')
      expect(response.headers.get('cache-control'), path).toBe('no-cache, no-transform')
      expect(response.headers.get('x-accel-buffering'), path).toBe('no')
      for (const name of ['connection', 'keep-alive', 'transfer-encoding', 'content-length'])
        expect(response.headers.has(name), `${path}: ${name}`).toBe(false)
      // The body starts at once with a comment, before any event.
      await readResponse(response).waitForComments(1)
    }
  })

  it('sends the headers option with the SSE headers, one value per name', async () => {
    const hub = testHub()
    const { app } = buildApp(hub, {
      heartbeat: false,
      headers: { 'cache-control': 'no-store', 'X-Extra': '1' },
    })
    const response = await request(app, '/stream')
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(response.headers.get('x-extra')).toBe('1')
    await readResponse(response).waitForComments(1)
  })
})

describe('HEAD', () => {
  it('answers with the headers of the stream, and opens no stream and no subscription', async () => {
    const hub = testHub()
    const subscribed: unknown[] = []
    hub.on('subscribe', (info) => subscribed.push(info))
    const { app, opened } = buildApp(hub, { heartbeat: false, headers: { 'X-Extra': '1' } })
    for (const path of ['/stream', '/hub?topics=a']) {
      // Hono runs the GET route and drops its body without cancelling it: a stream would leak.
      const response = await request(app, path, { method: 'HEAD' })
      expect(response.status, path).toBe(200)
      expect(response.headers.get('content-type'), path).toBe('text/event-stream; charset=utf-8')
      expect(response.body, path).toBeNull()
    }
    expect(opened.streams).toEqual([])
    expect(hub.size).toBe(0)
    expect(subscribed).toEqual([])
  })

  it('runs authorize, so HEAD tells the same refusal as GET', async () => {
    const hub = testHub()
    const { app } = buildApp(hub, undefined, { authorize: () => ({ status: 401 }) })
    expect((await request(app, '/hub?topics=a', { method: 'HEAD' })).status).toBe(401)
  })
})

describe('events', () => {
  it('streams per-client events as they are sent, and ends the body on close()', async () => {
    const hub = testHub()
    const { app, opened } = buildApp(hub)
    const reader = readResponse(await request(app, '/stream'))
    const [stream] = opened.streams
    stream!.send({ event: 'tick', id: '1', data: 'one' })
    expect(await reader.waitFor(1)).toEqual([{ event: 'tick', id: '1', data: 'one' }])
    stream!.send({ data: { n: 2 } })
    expect((await reader.waitFor(2))[1]).toEqual({ event: undefined, id: undefined, data: '{"n":2}' })
    stream!.close()
    expect(await reader.waitForEnd()).toBe('end')
    expect(opened.reasons.get(stream!)).toBe('server')
  })

  it('subscribes the hub route to its topics through app.fetch(new Request(…))', async () => {
    const hub = testHub()
    const { app } = buildApp(hub)
    const reader = readResponse(await app.fetch(new Request('http://localhost/hub?topics=a,b')))
    await pollUntil(() => hub.size === 1, 5000, 'the hub to subscribe the request')
    const a = await hub.publish('a', { event: 'note', data: 'A' })
    await hub.publish('c', { data: 'C' })
    const b = await hub.publish('b', { data: 'B' })
    expect(await reader.waitFor(2)).toEqual([
      { event: 'note', id: a, data: 'A' },
      { event: undefined, id: b, data: 'B' },
    ])
  })

  it('replays exactly the missed events for a Last-Event-ID, then goes live', async () => {
    const hub = testHub()
    const { app } = buildApp(hub)
    const ids: string[] = []
    for (let i = 1; i <= 5; i++) ids.push(await hub.publish('r', { data: `e${i}` }))
    const reader = readResponse(
      await request(app, '/hub?topics=r', { headers: { 'Last-Event-ID': ids[1]! } }),
    )
    await reader.waitFor(3)
    ids.push(await hub.publish('r', { data: 'e6' }))
    const events = await reader.waitFor(4)
    expect(events.map((event) => [event.id, event.data])).toEqual(
      ['e3', 'e4', 'e5', 'e6'].map((data, i) => [ids[i + 2], data]),
    )
    expect(hub.stats.replayed).toBe(3)
  })

  it('answers an id it cannot resume from with the sse-reset event, then goes live', async () => {
    const hub = testHub()
    const { app } = buildApp(hub)
    const { epoch } = parseLogId(await hub.publish('r', { data: 'before' }))!
    const lastEventId = `${epoch}-999`
    const reader = readResponse(
      await request(app, '/hub?topics=r', { headers: { 'Last-Event-ID': lastEventId } }),
    )
    const [notice] = await reader.waitFor(1)
    expect(notice!.event).toBe(RESET_EVENT)
    expect(JSON.parse(notice!.data)).toEqual({ reason: 'unknown', lastEventId })
    await hub.publish('r', { data: 'live' })
    expect((await reader.waitFor(2))[1]).toMatchObject({ data: 'live' })
  })

  it('gives the per-client stream the decoded Last-Event-ID', async () => {
    const hub = testHub()
    const { app, opened } = buildApp(hub)
    readResponse(await request(app, '/stream', { headers: { 'Last-Event-ID': 'abc-42' } }))
    expect(opened.streams[0]!.lastEventId).toBe('abc-42')
  })
})

describe('heartbeats', () => {
  it('sends comments to an idle per-client stream', async () => {
    const hub = testHub()
    const { app } = buildApp(hub, { heartbeat: 50 })
    const reader = readResponse(await request(app, '/stream'))
    // The first comment opens the stream; the next two are heartbeats.
    await reader.waitForComments(3)
    expect(reader.events).toEqual([])
  })

  it("sends the hub's comments to an idle hub stream", async () => {
    const hub = testHub({ heartbeat: 50 })
    const { app } = buildApp(hub)
    const reader = readResponse(await request(app, '/hub?topics=beat'))
    await reader.waitForComments(3)
    expect(reader.events).toEqual([])
  })
})

describe('a reader that reads nothing', () => {
  const maxBufferedBytes = 64 * 1024
  const highWaterMark = 16 * 1024
  const payload = 'x'.repeat(16 * 1024)
  /** The largest frame sent: `id: 999\ndata: <payload>\n\n`. */
  const frameBytes = `id: 999\ndata: ${payload}\n\n`.length

  /** A per-client stream under `onOverflow`, bounded by `maxBufferedBytes` over a body of `highWaterMark`, that nobody reads yet. */
  async function unread(onOverflow: 'close' | 'drop') {
    const { app, opened } = buildApp(testHub(), {
      heartbeat: false,
      maxBufferedBytes,
      highWaterMark,
      onOverflow,
    })
    const response = await request(app, '/stream')
    return { response, stream: opened.streams[0]!, opened }
  }

  it("keeps memory bounded and closes the stream under 'close'; the body holds a prefix", async () => {
    const { response, stream, opened } = await unread('close')
    let sent = 0
    let maxBuffered = 0
    while (!stream!.closed && sent < 1000) {
      stream!.send({ id: String(sent++), data: payload })
      maxBuffered = Math.max(maxBuffered, stream!.bufferedBytes)
    }
    expect(stream!.closed).toBe(true)
    expect(opened.reasons.get(stream!)).toBe('overflow')
    expect(maxBuffered).toBeGreaterThan(0) // the body's queue filled and core's queue took over
    expect(maxBuffered).toBeLessThanOrEqual(maxBufferedBytes)
    // What the body's own queue held: at most its high-water mark and the frame that passed it.
    const reader = readResponse(response)
    expect(await reader.waitForEnd()).toBe('end')
    expect(reader.bytesReceived).toBeLessThanOrEqual(highWaterMark + frameBytes + 3)
    expect(reader.events.length).toBeGreaterThan(0)
    expect(reader.events.every((event, i) => event.id === String(i))).toBe(true)
  })

  it("keeps memory bounded and drops events under 'drop'; nothing lost but the dropped", async () => {
    const { response, stream } = await unread('drop')
    let maxBuffered = 0
    const sent = 1000
    for (let i = 0; i < sent; i++) {
      stream!.send({ id: String(i), data: payload })
      maxBuffered = Math.max(maxBuffered, stream!.bufferedBytes)
    }
    expect(stream!.closed).toBe(false)
    expect(maxBuffered).toBeGreaterThan(0)
    expect(maxBuffered).toBeLessThanOrEqual(maxBufferedBytes)
    expect(stream!.droppedEvents).toBeGreaterThan(900)

    const reader = readResponse(response)
    await pollUntil(() => stream!.bufferedBytes === 0, 5000, 'the queue to drain once the body is read')
    stream!.send({ id: 'last', data: 'after the drops' })
    await pollUntil(() => reader.events.at(-1)?.id === 'last', 5000, 'the event after the drops')
    const received = reader.events.slice(0, -1)
    expect(received.length + stream!.droppedEvents).toBe(sent)
    const seqs = received.map((event) => Number(event.id))
    expect(seqs.every((seq, i) => i === 0 || seq > seqs[i - 1]!)).toBe(true)
  })

  it('closes a hub stream that overflows and the hub forgets it', async () => {
    const hub = testHub()
    const reasons = unsubscribeReasons(hub)
    const { app } = buildApp(hub, undefined, { maxBufferedBytes, highWaterMark })
    const response = await request(app, '/hub?topics=flood')
    await pollUntil(() => hub.size === 1, 5000, 'the hub to subscribe the request')
    const ids: string[] = []
    while (hub.stats.overflowCloses === 0 && ids.length < 1000)
      ids.push(await hub.publish('flood', { data: payload }))
    expect(hub.stats.overflowCloses).toBe(1)
    expect(hub.size).toBe(0)
    expect(reasons).toEqual(['overflow'])
    const reader = readResponse(response)
    expect(await reader.waitForEnd()).toBe('end')
    expect(reader.bytesReceived).toBeLessThanOrEqual(highWaterMark + 2 * frameBytes)
    expect(reader.events.map((event) => event.id)).toEqual(ids.slice(0, reader.events.length))
  })
})

describe('the client leaving', () => {
  it('response.body.cancel() closes the per-client stream', async () => {
    const hub = testHub()
    const { app, opened } = buildApp(hub)
    const reader = readResponse(await request(app, '/stream'))
    await reader.waitForComments(1)
    await withTimeout(reader.cancel(), 5000, 'cancelling the body')
    const [stream] = opened.streams
    expect(stream!.closed).toBe(true)
    expect(stream!.signal.aborted).toBe(true)
    expect(opened.reasons.get(stream!)).toBe('client')
    expect(stream!.send({ data: 'late' })).toBe(false)
  })

  it('response.body.cancel() frees the hub', async () => {
    const hub = testHub()
    const reasons = unsubscribeReasons(hub)
    const { app } = buildApp(hub)
    const readers = await Promise.all(
      [1, 2, 3].map(async () => readResponse(await request(app, '/hub?topics=a,b'))),
    )
    await pollUntil(() => hub.size === 3, 5000, 'three subscriptions')
    await Promise.all(readers.map((reader) => withTimeout(reader.cancel(), 5000, 'cancelling a body')))
    expect(hub.size).toBe(0)
    expect(hub.topics().size).toBe(0)
    expect(reasons).toEqual(['client', 'client', 'client'])
  })

  it("the request's AbortSignal closes the per-client stream, the body never read nor cancelled", async () => {
    const hub = testHub()
    const { app, opened } = buildApp(hub)
    const client = new AbortController()
    await request(app, '/stream', { signal: client.signal })
    const [stream] = opened.streams
    expect(stream!.closed).toBe(false)
    client.abort()
    await pollUntil(() => stream!.closed, 1000, 'the stream to close on abort')
    expect(opened.reasons.get(stream!)).toBe('client')
  })

  it("the request's AbortSignal frees the hub, the body never read nor cancelled", async () => {
    const hub = testHub()
    const reasons = unsubscribeReasons(hub)
    const { app } = buildApp(hub)
    const client = new AbortController()
    await app.fetch(new Request('http://localhost/hub?topics=a', { signal: client.signal }))
    await pollUntil(() => hub.size === 1, 5000, 'the hub to subscribe the request')
    client.abort()
    await pollUntil(
      () => hub.size === 0,
      1000,
      () => `hub.size to drop, is ${hub.size}`,
    )
    expect(reasons).toEqual(['client'])
  })

  it('knows no client address without a Node server: no per-key limit unless key is given', async () => {
    const hub = testHub({ heartbeat: false, maxStreamsPerKey: 1 })
    const unkeyed = buildApp(hub)
    const readers = await Promise.all(
      [1, 2].map(async () => readResponse(await request(unkeyed.app, '/hub?topics=a'))),
    )
    await pollUntil(() => hub.size === 2, 5000, 'two streams without a key')
    // With a key of its own (a user, a session), the limit applies on any runtime.
    const keyed = buildApp(hub, undefined, { key: (c) => c.req.header('x-user') })
    const ann = readResponse(await request(keyed.app, '/hub?topics=a', { headers: { 'x-user': 'ann' } }))
    await pollUntil(() => hub.keySize('ann') === 1, 5000, "ann's stream")
    const again = await request(keyed.app, '/hub?topics=a', { headers: { 'x-user': 'ann' } })
    expect(again.status).toBe(429)
    expect(again.headers.get('retry-after')).toBe('5')
    await Promise.all(
      [...readers, ann].map((reader) => withTimeout(reader.cancel(), 5000, 'cancelling a body')),
    )
    expect(hub.size).toBe(0)
  })

  it('a client that left while authorize ran is never subscribed', async () => {
    const hub = testHub()
    const subscribed: unknown[] = []
    hub.on('subscribe', (info) => subscribed.push(info))
    let allow: ((verdict: boolean) => void) | undefined
    const { app } = buildApp(hub, undefined, {
      authorize: () =>
        new Promise<boolean>((resolve) => {
          allow = resolve
        }),
    })
    const client = new AbortController()
    const responding = request(app, '/hub?topics=a', { signal: client.signal })
    await pollUntil(() => allow !== undefined, 5000, 'authorize to run')
    client.abort()
    allow!(true)
    const reader = readResponse(await responding)
    expect(await reader.waitForEnd()).toBe('end')
    expect(hub.size).toBe(0)
    expect(subscribed).toEqual([])
  })
})
