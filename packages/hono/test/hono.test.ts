/**
 * What only Hono has, on real sockets through `@hono/node-server`: HTTP/2 over TLS, Hono's own
 * middleware in front of a stream (`compress()`, `cors()`, `etag()`, headers set before and
 * after `next()`), `authorize` refusals and failures (a generic 500 that `app.onError` never sees),
 * the client's address as the default key of the hub's per-key limit, a stream callback
 * that throws or rejects, client aborts and a graceful shutdown with many streams open.
 */
import type { EventStream, Hub } from '@sse/core'
import {
  type Certificate,
  expectGracefulShutdown,
  expectKeyedByAddress,
  fetchText,
  pollUntil,
  readResponse,
  selfSignedCertificate,
  useTestScope,
  withTimeout,
} from '@sse/test-utils'
import { Hono } from 'hono'
import { compress } from 'hono/compress'
import { cors } from 'hono/cors'
import { etag } from 'hono/etag'
import { HTTPException } from 'hono/http-exception'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { type SseHubOptions, sse, sseHub } from '../src/index.ts'
import { type Protocol, type ServedApp, serveApp } from './serve.ts'

afterEach(() => {
  vi.restoreAllMocks()
})
const { defer, open, hub: testHub, serve: served } = useTestScope()

function serve(app: Hono, protocol: Protocol = 'http1', certificate?: Certificate): Promise<ServedApp> {
  return served(serveApp(app, protocol, certificate))
}

/** A plain request (refusals are not streams), with a deadline on the head and the body. */
async function request(url: string, init: RequestInit = {}): Promise<{ response: Response; text: string }> {
  const { response, body } = await fetchText(url, init)
  return { response, text: body }
}

/** `/stream` hands its streams to the test; `/hub` subscribes to `?topics=`. */
function routes(app: Hono, hub: Hub, hubOptions: Partial<SseHubOptions> = {}): EventStream[] {
  const streams: EventStream[] = []
  app.get('/stream', (c) =>
    sse(
      c,
      (stream) => {
        streams.push(stream)
        defer(() => stream.close())
      },
      { heartbeat: false },
    ),
  )
  app.get(
    '/hub',
    sseHub({ hub, topics: (c) => (c.req.query('topics') ?? '').split(',').filter(Boolean), ...hubOptions }),
  )
  return streams
}

/** A Hono app with the two routes of `routes` on a hub of its own (options as `testHub`'s). */
function routedApp(options?: Parameters<typeof testHub>[0]): { app: Hono; hub: Hub; streams: EventStream[] } {
  const app = new Hono()
  const hub = testHub(options)
  return { app, hub, streams: routes(app, hub) }
}

const HOP_BY_HOP = ['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade']

describe('HTTP/2 over TLS (@hono/node-server with http2.createSecureServer)', () => {
  let certificate: Certificate | undefined
  beforeAll(() => {
    certificate = selfSignedCertificate()
    if (!certificate)
      console.info('[@sse/hono] openssl not found: the HTTP/2 cases run over h2c instead of TLS')
  })

  /** Opens over TLS trusting the test certificate, or over h2c when there is none. */
  function openHttp2(url: string) {
    return open(url, { http2: true, ca: certificate?.cert })
  }

  async function serveHttp2(app: Hono): Promise<ServedApp> {
    return certificate ? serve(app, 'h2', certificate) : serve(app, 'h2c')
  }

  it('sends no connection-specific or length header, and streams events one by one', async () => {
    const { app, hub, streams } = routedApp()
    const server = await serveHttp2(app)

    const reader = await openHttp2(`${server.url}/stream`)
    expect(reader.status).toBe(200)
    expect(reader.headers['content-type']).toBe('text/event-stream; charset=utf-8')
    expect(reader.headers['cache-control']).toBe('no-cache, no-transform')
    for (const name of HOP_BY_HOP) expect(Object.keys(reader.headers)).not.toContain(name)
    await pollUntil(() => streams.length === 1, 5000, 'the route to open its stream')
    // Each event is awaited before the next is sent: if anything buffered, a wait would time out.
    for (let i = 1; i <= 3; i++) {
      streams[0]!.send({ id: String(i), data: `event ${i}` })
      expect((await reader.waitFor(i))[i - 1]).toEqual({
        event: undefined,
        id: String(i),
        data: `event ${i}`,
      })
    }

    const hubReader = await openHttp2(`${server.url}/hub?topics=h2`)
    for (const name of HOP_BY_HOP) expect(Object.keys(hubReader.headers)).not.toContain(name)
    await pollUntil(() => hub.size === 1, 5000, 'the hub to subscribe')
    for (let i = 1; i <= 3; i++) {
      await hub.publish('h2', { data: `published ${i}` })
      expect((await hubReader.waitFor(i))[i - 1]?.data).toBe(`published ${i}`)
    }
  })

  it('frees the hub within 1 s of the client resetting its stream', async () => {
    const { app, hub } = routedApp()
    const server = await serveHttp2(app)
    const readers = await Promise.all([1, 2, 3].map(() => openHttp2(`${server.url}/hub?topics=a,b`)))
    await pollUntil(() => hub.size === 3, 5000, 'three subscriptions')
    await Promise.all(readers.map((reader) => reader.close()))
    await pollUntil(
      () => hub.size === 0,
      1000,
      () => `hub.size to drop to 0, is ${hub.size}`,
    )
    expect(hub.topics().size).toBe(0)
  })
})

describe('compress()', () => {
  it('leaves the stream alone: no Content-Encoding, and events arrive one by one', async () => {
    const app = new Hono()
    app.use(compress())
    const hub = testHub()
    const streams = routes(app, hub)
    app.get('/json', (c) => c.json({ text: 'y'.repeat(4000) }))
    const server = await serve(app)
    const reader = await open(`${server.url}/stream`, { headers: { 'accept-encoding': 'gzip, deflate' } })
    expect(reader.headers['content-encoding']).toBeUndefined()
    await pollUntil(() => streams.length === 1, 5000, 'the route to open its stream')
    for (let i = 1; i <= 3; i++) {
      streams[0]!.send({ data: 'x'.repeat(2000) + i }) // above compress()'s 1 KiB threshold
      expect((await reader.waitFor(i))[i - 1]?.data.endsWith(String(i))).toBe(true)
    }
    // A plain JSON route behind the same middleware is compressed: compress() is active.
    const json = await fetch(`${server.url}/json`, { signal: AbortSignal.timeout(5000) })
    expect(json.headers.get('content-encoding')).toBe('gzip')
    await json.body?.cancel()
  })

  it('is kept out by Cache-Control: no-transform even when its filter accepts event streams', async () => {
    const app = new Hono()
    app.use(compress({ contentTypeFilter: () => true, threshold: 0 }))
    const hub = testHub()
    routes(app, hub)
    const server = await serve(app)
    const reader = await open(`${server.url}/hub?topics=z`, { headers: { 'accept-encoding': 'gzip' } })
    expect(reader.headers['content-encoding']).toBeUndefined()
    await pollUntil(() => hub.size === 1, 5000, 'the hub to subscribe')
    await hub.publish('z', { data: 'through' })
    expect((await reader.next()).data).toBe('through')
  })

  it('compresses a stream whose Cache-Control override drops no-transform (gzip then holds events back)', async () => {
    // Why the README says to keep `no-transform` when overriding Cache-Control: Node's
    // CompressionStream emits nothing until its input ends (or a block fills), so events would stall.
    const app = new Hono()
    app.use(compress({ contentTypeFilter: () => true }))
    app.get('/stream', (c) =>
      sse(c, (stream) => defer(() => stream.close()), {
        heartbeat: false,
        headers: { 'Cache-Control': 'no-cache' },
      }),
    )
    const server = await serve(app)
    const reader = await open(`${server.url}/stream`, { headers: { 'accept-encoding': 'gzip' } })
    expect(reader.headers['content-encoding']).toBe('gzip')
  })
})

describe('other middleware', () => {
  it('cors(): its headers reach the stream and the hub route, and preflights are answered', async () => {
    const app = new Hono()
    app.use(cors({ origin: 'https://app.example', credentials: true }))
    const hub = testHub()
    routes(app, hub)
    const server = await serve(app)
    for (const path of ['/stream', '/hub?topics=c']) {
      const reader = await open(`${server.url}${path}`, { headers: { origin: 'https://app.example' } })
      expect(reader.status).toBe(200)
      expect(reader.headers['access-control-allow-origin'], path).toBe('https://app.example')
      expect(reader.headers['access-control-allow-credentials'], path).toBe('true')
      expect(reader.headers['content-type'], path).toBe('text/event-stream; charset=utf-8')
      await reader.waitForComments(1)
    }
    const { response } = await request(`${server.url}/hub?topics=c`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'last-event-id',
      },
    })
    expect(response.status).toBe(204)
    expect(response.headers.get('access-control-allow-headers')).toContain('last-event-id')
  })

  it('headers set before and after next() go out with the stream; middleware sees the 200', async () => {
    const app = new Hono()
    const seen: Array<[number, string | null]> = []
    app.use(async (c, next) => {
      c.header('X-Request-Id', 'req-1')
      await next()
      seen.push([c.res.status, c.res.headers.get('content-type')])
      c.header('X-After', 'set after next()')
    })
    const hub = testHub()
    routes(app, hub)
    const server = await serve(app)
    const reader = await open(`${server.url}/hub?topics=m`)
    expect(reader.headers['x-request-id']).toBe('req-1')
    expect(reader.headers['x-after']).toBe('set after next()')
    expect(seen).toEqual([[200, 'text/event-stream; charset=utf-8']])
    await pollUntil(() => hub.size === 1, 5000, 'the hub to subscribe')
    await hub.publish('m', { data: 'after middleware' })
    expect((await reader.next()).data).toBe('after middleware')
  })

  it('etag() withholds the response until the stream ends, buffering it past the bound: keep it off event-stream routes', async () => {
    // etag() digests a clone of the body before answering: it reads the clone to its end, so
    // nothing reaches the client while the stream is open, and the other branch of the tee holds
    // everything sent meanwhile, past core's bounded queue ('drop' here, so the stream stays open).
    const maxBufferedBytes = 16 * 1024
    const highWaterMark = 1024
    const app = new Hono()
    app.use(etag())
    let stream: EventStream | undefined
    app.get('/stream', (c) =>
      sse(
        c,
        (opened) => {
          stream = opened
        },
        { heartbeat: false, maxBufferedBytes, highWaterMark, onOverflow: 'drop' },
      ),
    )
    let answered = false
    const responding = Promise.resolve(app.request('/stream')).then((response) => {
      answered = true
      return response
    })
    await pollUntil(() => stream !== undefined, 5000, 'the route to open its stream')
    const sent = 200
    for (let i = 0; i < sent; i++) {
      stream!.send({ id: String(i), data: 'z'.repeat(4096) })
      await new Promise((resolve) => setImmediate(resolve))
    }
    expect(answered).toBe(false)
    // etag()'s reader keeps pulling, so core's queue drains; then nothing is left behind on close.
    await pollUntil(() => stream!.bufferedBytes === 0, 5000, "the queue to drain into etag()'s tee")
    expect(answered).toBe(false)
    stream!.close()
    const response = await withTimeout(responding, 5000, 'the etag() response once the stream ended')
    expect(response.headers.get('etag')).toMatch(/^"/)
    const reader = readResponse(response)
    await reader.waitForEnd()
    expect(reader.events.length + stream!.droppedEvents).toBe(sent)
    // Held outside the stream's bound (its queue cap plus the body's high-water mark):
    expect(reader.bytesReceived).toBeGreaterThan(4 * (maxBufferedBytes + highWaterMark))
  })
})

describe('authorize', () => {
  async function serveAuthorized(authorize: SseHubOptions['authorize'], onError = true) {
    const app = new Hono()
    const handled: unknown[] = []
    if (onError) {
      app.onError((error, c) => {
        handled.push(error)
        return c.json({ handled: error instanceof Error ? error.message : String(error) }, 500)
      })
    }
    const hub = testHub()
    const hubErrors: unknown[] = []
    hub.on('error', (error) => hubErrors.push(error))
    routes(app, hub, { authorize })
    return { server: await serve(app), hub, hubErrors, handled }
  }

  it('refuses with 401 and a JSON body and headers, 403 on false, 204 with no body', async () => {
    const { server, hub } = await serveAuthorized((c) => {
      const who = c.req.header('authorization')
      if (who === undefined)
        return { status: 401, body: { error: 'log in' }, headers: { 'WWW-Authenticate': 'Bearer' } }
      if (who === 'Bearer stopped') return { status: 204 }
      return who === 'Bearer ok'
    })
    const url = `${server.url}/hub?topics=private`

    const unauthorized = await request(url)
    expect(unauthorized.response.status).toBe(401)
    expect(unauthorized.response.headers.get('content-type')).toBe('application/json; charset=utf-8')
    expect(unauthorized.response.headers.get('www-authenticate')).toBe('Bearer')
    expect(JSON.parse(unauthorized.text)).toEqual({ error: 'log in' })

    const forbidden = await request(url, { headers: { authorization: 'Bearer other' } })
    expect(forbidden.response.status).toBe(403)
    expect(JSON.parse(forbidden.text)).toEqual({ error: 'forbidden' })

    const stopped = await request(url, { headers: { authorization: 'Bearer stopped' } })
    expect(stopped.response.status).toBe(204)
    expect(stopped.text).toBe('')
    expect(stopped.response.headers.get('content-type')).toBeNull()

    const allowed = await open(url, { headers: { authorization: 'Bearer ok' } })
    expect(allowed.status).toBe(200)
    await pollUntil(() => hub.size === 1, 5000, 'the allowed request to subscribe')
    expect(hub.stats.streams).toBe(1)
  })

  it('refuses invalid topics with 400, naming the problem', async () => {
    const { server, hub } = await serveAuthorized(undefined)
    const { response, text } = await request(`${server.url}/hub`)
    expect(response.status).toBe(400)
    expect(JSON.parse(text)).toEqual({ error: 'no topics to subscribe to' })
    expect(hub.size).toBe(0)
  })

  it('a throwing or rejecting authorize is a generic 500 that app.onError never sees; the error goes to hub.on("error")', async () => {
    const down = new Error('auth backend down at 10.0.0.3')
    const later = new HTTPException(503, { message: 'try later' })
    const { server, hub, hubErrors, handled } = await serveAuthorized(async (c) => {
      if (c.req.query('how') === 'throw') throw down
      throw later
    })
    const thrown = await request(`${server.url}/hub?topics=a&how=throw`)
    expect(thrown.response.status).toBe(500)
    expect(thrown.response.headers.get('content-type')).toBe('application/json; charset=utf-8')
    expect(JSON.parse(thrown.text)).toEqual({ error: 'internal error' })
    // An HTTPException is a failure of authorize too, not a way to answer: return a Refusal for that.
    const rejected = await request(`${server.url}/hub?topics=a`)
    expect(rejected.response.status).toBe(500)
    expect(JSON.parse(rejected.text)).toEqual({ error: 'internal error' })
    expect(hubErrors).toEqual([down, later])
    expect(handled).toEqual([])
    expect(hub.size).toBe(0)
  })

  it('fails closed: an authorize that returns nothing is a generic 500, without app.onError too', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {})
    // A forgotten `return`, as plain JavaScript (or a cast) can still hand back.
    const { server, hub, hubErrors } = await serveAuthorized(() => undefined as unknown as boolean, false)
    const { response, text } = await request(`${server.url}/hub?topics=a`)
    expect(response.status).toBe(500)
    expect(JSON.parse(text)).toEqual({ error: 'internal error' })
    expect(hubErrors).toEqual([
      expect.objectContaining({
        code: 'SSE_INVALID_OPTION',
        message: expect.stringMatching(/^authorize returned undefined/),
      }),
    ])
    // Hono's default error handler (which logs) was not involved either.
    expect(logged).not.toHaveBeenCalled()
    expect(hub.size).toBe(0)
  })
})

describe('limits', () => {
  it.each([
    { protocol: 'http1', http2: false },
    { protocol: 'h2c', http2: true },
  ] as const)(
    "keys streams by the client's address under @hono/node-server: past maxStreamsPerKey, 429 with Retry-After ($protocol)",
    async ({ protocol, http2 }) => {
      const { app, hub } = routedApp({ heartbeat: false, maxStreamsPerKey: 2 })
      app.get('/unkeyed', sseHub({ hub, topics: () => ['a'], key: () => undefined }))
      const server = await serve(app, protocol)
      await expectKeyedByAddress({
        hub,
        open,
        keyed: `${server.url}/hub?topics=a`,
        unkeyed: `${server.url}/unkeyed`,
        http2,
      })
    },
  )

  it('answers 503 with Retry-After once the hub holds maxStreams', async () => {
    const { app, hub } = routedApp({ heartbeat: false, maxStreams: 1 })
    const server = await serve(app)
    expect((await open(`${server.url}/hub?topics=a`)).status).toBe(200)
    await pollUntil(() => hub.size === 1, 5000, 'the first stream')
    const full = await request(`${server.url}/hub?topics=b`)
    expect(full.response.status).toBe(503)
    expect(full.response.headers.get('retry-after')).toBe('5')
    expect(hub.size).toBe(1)
  })
})

describe('a client that stops reading, on @hono/node-server', () => {
  it('is closed as slow and its connection is released, not left open behind the queued body', async () => {
    // Before, the Web sink's close() only ended the body after its queued chunks were read, and
    // node-server reads the next chunk only once the socket drained: a stalled client kept its
    // connection for good (found by bench/flow.mjs: 105 connections left open, 100 elsewhere).
    const app = new Hono()
    const streams: EventStream[] = []
    app.get('/flood', (c) =>
      sse(c, (stream) => void streams.push(stream), { heartbeat: false, slowAfterMs: 300 }),
    )
    const { url, server } = await serve(app)
    let connections = 0
    server.on('connection', (socket: { once(event: 'close', listener: () => void): void }) => {
      connections++
      socket.once('close', () => connections--)
    })
    const reader = await open(`${url}/flood`)
    await reader.waitForComments(1)
    reader.pause()
    await pollUntil(() => streams.length === 1, 5000, 'the stream')
    const [stream] = streams
    const payload = 'x'.repeat(16 * 1024)
    while (!stream!.closed) {
      if (await stream!.ready()) stream!.send({ data: payload })
    }
    expect(stream!.closeReason).toBe('slow')
    // The server releases the connection by itself, while the client is still stalled.
    expect(connections).toBe(1)
    await pollUntil(() => connections === 0, 10_000, 'the server to release the stalled connection')
  })
})

describe('the sse() callback', () => {
  it('a synchronous throw goes to app.onError (500), and the stream it got is closed', async () => {
    const app = new Hono()
    const errors: unknown[] = []
    app.onError((error, c) => {
      errors.push(error)
      return c.text('handled', 500)
    })
    let opened: EventStream | undefined
    app.get('/stream', (c) =>
      sse(c, (stream) => {
        opened = stream
        throw new Error('bad setup')
      }),
    )
    const server = await serve(app)
    const { response, text } = await request(`${server.url}/stream`)
    expect(response.status).toBe(500)
    expect(text).toBe('handled')
    expect(errors).toEqual([new Error('bad setup')])
    expect(opened?.closed).toBe(true)
  })

  it('a rejection closes the stream (the 200 is already out) and is logged', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {})
    const app = new Hono()
    const onError = vi.fn()
    app.onError((error, c) => {
      onError(error)
      return c.text('unexpected', 500)
    })
    let fail: ((error: Error) => void) | undefined
    app.get('/stream', (c) =>
      sse(
        c,
        async (stream) => {
          stream.send({ data: 'before the failure' })
          await new Promise<void>((_, reject) => {
            fail = reject
          })
        },
        { heartbeat: false },
      ),
    )
    const server = await serve(app)
    const reader = await open(`${server.url}/stream`)
    expect(reader.status).toBe(200)
    expect((await reader.next()).data).toBe('before the failure')
    fail!(new Error('lost the upstream'))
    expect(await reader.waitForEnd()).toBe('end')
    expect(onError).not.toHaveBeenCalled()
    expect(logged).toHaveBeenCalledWith(
      expect.stringContaining('[@sse/hono]'),
      new Error('lost the upstream'),
    )
  })
})

describe('HEAD over a real socket', () => {
  it('answers with the SSE headers and leaves nothing open behind', async () => {
    const { app, hub, streams } = routedApp()
    const server = await serve(app)
    for (const path of ['/stream', '/hub?topics=head']) {
      const { response, text } = await request(`${server.url}${path}`, { method: 'HEAD' })
      expect(response.status, path).toBe(200)
      expect(response.headers.get('content-type'), path).toBe('text/event-stream; charset=utf-8')
      expect(text, path).toBe('')
    }
    // Both handlers run to completion before their response goes out: nothing was opened.
    expect(streams).toEqual([])
    expect(hub.size).toBe(0)
  })
})

describe('shutdown', () => {
  it('hub.close() ends 100 open streams with a retry, then server.close() completes within 2 s', async () => {
    const { app, hub } = routedApp()
    const { url, server } = await serve(app)
    await expectGracefulShutdown({
      hub,
      open,
      server,
      url: (i) => `${url}/hub?topics=all,t${i % 10}`,
      // As the README does: one turn for @hono/node-server to end the responses, then the server's
      // own close, without destroying anything. No stream holds it open.
      afterHubClose: () => new Promise((resolve) => setImmediate(resolve)),
    })
  })

  it('a client abort over a real socket frees the stream and the hub within 1 s', async () => {
    const { app, hub, streams } = routedApp()
    const server = await serve(app)
    const reader = await open(`${server.url}/stream`)
    const hubReader = await open(`${server.url}/hub?topics=gone`)
    await pollUntil(() => streams.length === 1 && hub.size === 1, 5000, 'both routes to open')
    await Promise.all([reader.close(), hubReader.close()])
    await pollUntil(
      () => streams[0]!.closed && hub.size === 0,
      1000,
      () => `the stream to close (${streams[0]!.closed}) and the hub to drop it (size ${hub.size})`,
    )
  })
})
