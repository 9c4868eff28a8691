/**
 * What only Koa has: `@koa/router` (with prefixes and nesting), error middleware that a failing
 * `authorize` never reaches, `ctx.ip` (and `app.proxy`) as the default key of the hub's per-key
 * limit, headers set upstream with `ctx.set`, middleware that runs after `await next()`,
 * `app.on('error')` when clients leave, shutdown, and replay through the `eventsource` client.
 * Every case runs a real Koa 3 app on a real socket (port 0), read with a real parser or client.
 */
import type { Server as HttpServer } from 'node:http'
import type { Http2Server } from 'node:http2'
import net, { type Socket } from 'node:net'
import { PassThrough } from 'node:stream'
import { setImmediate as nextTurn } from 'node:timers/promises'
import Router from '@koa/router'
import type { EventStream, Hub } from '@sse/core'
import {
  expectGracefulShutdown,
  expectKeyedByAddress,
  expectKeyedByForwardedFor,
  fetchText,
  heldAuthorize,
  type OpenEventStreamOptions,
  openEventStream,
  pollUntil,
  type StartedServer,
  startHttp2Server,
  startHttpServer,
  useTestScope,
  withTimeout,
} from '@sse/test-utils'
import { EventSource } from 'eventsource'
import Koa from 'koa'
import { describe, expect, it } from 'vitest'
import { type SseHubOptions, sse, sseHub } from '../src/index.ts'

type Server = StartedServer<HttpServer | Http2Server>

/** Everything a test opened, closed in reverse order after it, whatever happened. */
const { defer, open, openSource, hub: testHub, serve: served } = useTestScope()

/** A Koa app whose `app.on('error')` records every error (this also silences Koa's default logger). */
function createApp(): { app: Koa; appErrors: unknown[] } {
  const app = new Koa()
  const appErrors: unknown[] = []
  app.on('error', (error: unknown) => appErrors.push(error))
  return { app, appErrors }
}

/** Serves a Koa app (typed loosely: `app.use(router.routes())` widens its context type). */
function serve(app: Pick<Koa, 'callback'>, { http2 = false } = {}): Promise<Server> {
  return served<Server>(http2 ? startHttp2Server(app.callback()) : startHttpServer(app.callback()))
}

/** A plain request (for refusals, which are not streams), with a deadline on the head and on the body. */
async function request(url: string, init: RequestInit = {}): Promise<{ response: Response; text: string }> {
  const { response, body } = await fetchText(url, init)
  return { response, text: body }
}

/** Wraps a hub so a test can reach the streams `sseHub` subscribes (to close them from the server). */
function recording(hub: Hub): { hub: Hub; streams: EventStream[] } {
  const streams: EventStream[] = []
  const proxy = new Proxy(hub, {
    get(target, key) {
      if (key === 'subscribe') {
        return (stream: EventStream, options: Parameters<Hub['subscribe']>[1]) => {
          streams.push(stream)
          return target.subscribe(stream, options)
        }
      }
      const value: unknown = Reflect.get(target, key, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  return { hub: proxy, streams }
}

/** The cases run over both protocols: HTTP/1.1, and HTTP/2 (h2c) through Node's compatibility API. */
const PROTOCOLS = [
  { protocol: 'HTTP/1.1', http2: false },
  { protocol: 'HTTP/2', http2: true },
]

const topicsFromQuery: SseHubOptions['topics'] = (ctx) =>
  String(ctx.query.topics ?? '')
    .split(',')
    .filter(Boolean)

/** A Koa app with `/hub` (`sseHub`, topics from `?topics=`) on a hub of its own, served. */
async function serveHubRoute() {
  const { app, appErrors } = createApp()
  const hub = testHub()
  const router = new Router()
  router.get('/hub', sseHub({ hub, topics: topicsFromQuery }))
  return { appErrors, hub, server: await serve(app.use(router.routes())) }
}

describe('@koa/router', () => {
  it('streams from routes of a plain router, a prefixed router and a nested one', async () => {
    const { app, appErrors } = createApp()
    const hub = testHub()
    const root = new Router()
    root.get('/clock', (ctx) => {
      const stream = sse(ctx, { heartbeat: false })
      stream.send({ event: 'tick', data: 'root' })
    })
    const api = new Router({ prefix: '/api' })
    api.get('/clock/:zone', (ctx) => {
      const stream = sse(ctx, { heartbeat: false })
      stream.send({ event: 'tick', data: `zone ${ctx.params.zone}` })
    })
    api.get('/feed', sseHub({ hub, topics: topicsFromQuery }))
    const v1 = new Router()
    v1.get('/clock', (ctx) => {
      sse(ctx, { heartbeat: false }).send({ data: `nested ${ctx.path}` })
    })
    api.use('/v1', v1.routes(), v1.allowedMethods())
    app.use(root.routes()).use(root.allowedMethods()).use(api.routes()).use(api.allowedMethods())
    const server = await serve(app)

    const plain = await open(`${server.url}/clock`)
    expect(plain.status).toBe(200)
    expect(await plain.next()).toEqual({ event: 'tick', id: undefined, data: 'root' })

    const prefixed = await open(`${server.url}/api/clock/utc`)
    expect(prefixed.headers['content-type']).toBe('text/event-stream; charset=utf-8')
    expect(await prefixed.next()).toMatchObject({ event: 'tick', data: 'zone utc' })

    const nested = await open(`${server.url}/api/v1/clock`)
    expect(await nested.next()).toMatchObject({ data: 'nested /api/v1/clock' })

    const feed = await open(`${server.url}/api/feed?topics=news,sport`)
    await pollUntil(
      () => hub.size === 1,
      5000,
      () => `hub.size to be 1, is ${hub.size}`,
    )
    await hub.publish('sport', { event: 'score', data: { home: 2, away: 1 } })
    await hub.publish('weather', { data: 'not subscribed' })
    await hub.publish('news', { data: 'headline' })
    expect((await feed.waitFor(2)).map((event) => [event.event, event.data])).toEqual([
      ['score', '{"home":2,"away":1}'],
      [undefined, 'headline'],
    ])

    // Routing misses stay Koa's: 404 and 405 from `allowedMethods`, never an event stream.
    expect((await request(`${server.url}/api/nowhere`)).response.status).toBe(404)
    expect((await request(`${server.url}/api/feed?topics=a`, { method: 'DELETE' })).response.status).toBe(405)
    expect(appErrors).toEqual([])
  })
})

describe('Last-Event-ID', () => {
  it('reads it from the request, and treats a repeated header as absent (Koa’s ctx.get would join them)', async () => {
    const { app } = createApp()
    const seen: Array<string | undefined> = []
    app.use((ctx) => {
      const stream = sse(ctx, { heartbeat: false })
      seen.push(stream.lastEventId)
      stream.close()
    })
    const server = await serve(app)
    const { port } = new URL(server.url)
    for (const headers of ['Last-Event-ID: abc-1\r\n', 'Last-Event-ID: abc-1\r\nLast-Event-ID: abc-2\r\n']) {
      const socket = net.connect(Number(port), '127.0.0.1')
      socket.on('error', () => {})
      defer(() => socket.destroy())
      socket.write(`GET / HTTP/1.1\r\nHost: x\r\n${headers}\r\n`)
      socket.resume()
    }
    await pollUntil(
      () => seen.length === 2,
      5000,
      () => `2 requests, saw ${seen.length}`,
    )
    expect(seen.sort()).toEqual(['abc-1', undefined])
  })
})

describe('authorize', () => {
  async function serveWithErrorMiddleware(authorize: SseHubOptions['authorize']) {
    const { app, appErrors } = createApp()
    const hub = testHub()
    const hubErrors: unknown[] = []
    hub.on('error', (error) => hubErrors.push(error))
    const caught: unknown[] = []
    app.use(async (ctx, next) => {
      try {
        await next()
      } catch (error) {
        caught.push(error)
        ctx.status = 500
        ctx.body = { error: (error as Error).message }
      }
    })
    const router = new Router()
    router.get('/events', sseHub({ hub, topics: topicsFromQuery, authorize }))
    app.use(router.routes())
    return { server: await serve(app), hub, hubErrors, appErrors, caught }
  }

  it('answers an authorize that throws or rejects with a generic 500: error middleware and app.on("error") never see it', async () => {
    const down = new Error('session store is down at 10.0.0.3')
    for (const authorize of [
      () => {
        throw down
      },
      async () => {
        await nextTurn()
        throw down
      },
    ]) {
      const { server, hub, hubErrors, appErrors, caught } = await serveWithErrorMiddleware(authorize)
      const { response, text } = await request(`${server.url}/events?topics=news`)
      expect(response.status).toBe(500)
      expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8')
      // The adapter's own answer, not the middleware's `{ error: e.message }`: the message stays on the server.
      expect(JSON.parse(text)).toEqual({ error: 'internal error' })
      expect(hubErrors).toEqual([down])
      expect(caught).toEqual([])
      expect(appErrors).toEqual([])
      expect(hub.size).toBe(0)
    }
  })

  it('without error middleware, ctx.throw(401) in authorize is that refusal, with a generic body, nothing on app.on("error")', async () => {
    const { app, appErrors } = createApp()
    const hub = testHub()
    const hubErrors: unknown[] = []
    hub.on('error', (error) => hubErrors.push(error))
    const router = new Router()
    router.get(
      '/events',
      sseHub({
        hub,
        topics: topicsFromQuery,
        authorize: (ctx) => ctx.throw(401, 'log in first'),
      }),
    )
    const server = await serve(app.use(router.routes()))
    const { response, text } = await request(`${server.url}/events?topics=news`)
    // Koa's own way to refuse: the status it carries, never its message; not an error either.
    expect(response.status).toBe(401)
    expect(JSON.parse(text)).toEqual({ error: 'unauthorized' })
    expect(hubErrors).toEqual([])
    expect(appErrors).toEqual([])
  })

  it('refuses with 401 and a JSON body, 403 for false, 204 with no body; allows only true, and fails closed on undefined', async () => {
    const { server, hub, hubErrors, appErrors, caught } = await serveWithErrorMiddleware((ctx) => {
      switch (ctx.query.as) {
        case 'anonymous':
          return {
            status: 401,
            body: { error: 'login required' },
            headers: { 'WWW-Authenticate': 'Bearer' },
          }
        case 'banned':
          return false
        case 'gone':
          return { status: 204 }
        case 'admin':
          return true
        default:
          // A forgotten `return`, as plain JavaScript (or a cast) can still hand back.
          return undefined as unknown as boolean
      }
    })
    const url = (as: string) => `${server.url}/events?topics=news&as=${as}`

    const unauthorized = await request(url('anonymous'))
    expect(unauthorized.response.status).toBe(401)
    expect(unauthorized.response.headers.get('content-type')).toBe('application/json; charset=utf-8')
    expect(unauthorized.response.headers.get('www-authenticate')).toBe('Bearer')
    expect(JSON.parse(unauthorized.text)).toEqual({ error: 'login required' })

    const forbidden = await request(url('banned'))
    expect(forbidden.response.status).toBe(403)
    expect(JSON.parse(forbidden.text)).toEqual({ error: 'forbidden' })

    const noContent = await request(url('gone'))
    expect(noContent.response.status).toBe(204)
    expect(noContent.text).toBe('')
    expect(noContent.response.headers.get('content-type')).toBeNull()

    const noTopics = await request(`${server.url}/events?as=admin`)
    expect(noTopics.response.status).toBe(400)
    expect(JSON.parse(noTopics.text)).toEqual({ error: 'no topics to subscribe to' })

    // undefined used to allow; now it is a 500 that says nothing, and the hub's error event says why.
    const nothing = await request(url('someone'))
    expect(nothing.response.status).toBe(500)
    expect(JSON.parse(nothing.text)).toEqual({ error: 'internal error' })
    expect(hubErrors).toEqual([
      expect.objectContaining({
        code: 'SSE_INVALID_OPTION',
        message: expect.stringMatching(/^authorize returned undefined/),
      }),
    ])

    const reader = await open(url('admin'))
    expect(reader.status).toBe(200)
    await reader.waitForComments(1)
    await pollUntil(
      () => hub.size === 1,
      5000,
      () => `hub.size to be 1, is ${hub.size}`,
    )
    expect(appErrors).toEqual([])
    expect(caught).toEqual([])
  })

  it.each(PROTOCOLS)(
    'never subscribes a client that left while authorize was pending ($protocol)',
    async ({ http2 }) => {
      const { app, appErrors } = createApp()
      const hub = testHub()
      const held = heldAuthorize() // a session lookup still running when the client leaves
      app.use(async (ctx, next) => {
        ctx.res.once('close', held.sawClose)
        await next()
      })
      const router = new Router()
      router.get('/events', sseHub({ hub, topics: () => ['t'], authorize: held.authorize }))
      const server = await serve(app.use(router.routes()), { http2 })
      await held.expectNotSubscribed(hub, `${server.url}/events`, {
        http2,
        timeoutMs: 1000, // over HTTP/2 the aborted open settles only at this deadline (test-utils-bugs.test.ts)
      })
      expect(appErrors).toEqual([])
    },
  )

  it('204 stops the eventsource client for good', async () => {
    const { server } = await serveWithErrorMiddleware(() => ({ status: 204 }))
    const source = new EventSource(`${server.url}/events?topics=news`)
    defer(() => source.close())
    await withTimeout(
      new Promise<void>((resolve) => source.addEventListener('error', () => resolve(), { once: true })),
      5000,
      'the error event of an EventSource answered with 204',
    )
    expect(source.readyState).toBe(EventSource.CLOSED)
  })
})

describe('limits', () => {
  it.each(PROTOCOLS)(
    "keys streams by the client's address (ctx.ip) by default: past maxStreamsPerKey, 429 with Retry-After ($protocol)",
    async ({ http2 }) => {
      const { app, appErrors } = createApp()
      const hub = testHub({ heartbeat: false, maxStreamsPerKey: 2 })
      const router = new Router()
      router.get('/events', sseHub({ hub, topics: topicsFromQuery }))
      router.get('/unkeyed', sseHub({ hub, topics: topicsFromQuery, key: () => undefined }))
      const server = await serve(app.use(router.routes()), { http2 })
      await expectKeyedByAddress({
        hub,
        open,
        keyed: `${server.url}/events?topics=news`,
        unkeyed: `${server.url}/unkeyed?topics=news`,
        http2,
      })
      expect(appErrors).toEqual([])
    },
  )

  it("follows Koa's app.proxy: behind a proxy, each forwarded client is its own key", async () => {
    const { app } = createApp()
    app.proxy = true
    const hub = testHub({ heartbeat: false, maxStreamsPerKey: 1 })
    const router = new Router()
    router.get('/events', sseHub({ hub, topics: topicsFromQuery }))
    const server = await serve(app.use(router.routes()))
    await expectKeyedByForwardedFor({ hub, open, url: `${server.url}/events?topics=news` })
  })
})

describe('other middleware', () => {
  it('keeps headers set upstream with ctx.set on the event stream, each once', async () => {
    const { app } = createApp()
    const hub = testHub()
    app.use(async (ctx, next) => {
      ctx.set('Access-Control-Allow-Origin', 'https://app.example')
      ctx.set('Vary', 'Origin')
      await next()
    })
    const router = new Router()
    router.get('/clock', (ctx) => {
      sse(ctx, { headers: { 'X-Stream': 'clock' } })
    })
    router.get('/hub', sseHub({ hub, topics: topicsFromQuery }))
    const server = await serve(app.use(router.routes()))
    for (const path of ['/clock', '/hub?topics=news']) {
      const reader = await open(`${server.url}${path}`)
      expect(reader.status).toBe(200)
      expect(reader.headers['access-control-allow-origin'], path).toBe('https://app.example')
      expect(reader.headers.vary, path).toBe('Origin')
      expect(reader.headers['content-type'], path).toBe('text/event-stream; charset=utf-8')
      if (path === '/clock') expect(reader.headers['x-stream']).toBe('clock')
      const names = reader.rawHeaders.filter((_, i) => i % 2 === 0).map((name) => name.toLowerCase())
      expect(names.length, `no header twice: ${names}`).toBe(new Set(names).size)
      await reader.waitForComments(1)
    }
  })

  it('runs middleware after `await next()` without throwing; it sees 200 for streams', async () => {
    const { app, appErrors } = createApp()
    const hub = testHub()
    const logged: Array<{ url: string; status: number }> = []
    app.use(async (ctx, next) => {
      await next()
      logged.push({ url: ctx.url, status: ctx.status })
    })
    // The x-response-time middleware of Koa's README: sets a header after the headers went out.
    app.use(async (ctx, next) => {
      const started = performance.now()
      await next()
      ctx.set('X-Response-Time', `${performance.now() - started}ms`)
    })
    const router = new Router()
    router.get('/clock', (ctx) => {
      sse(ctx).send({ data: 'now' })
    })
    router.get(
      '/hub',
      sseHub({
        hub,
        topics: topicsFromQuery,
        authorize: (ctx) => ctx.query.as !== 'anonymous' || { status: 401 },
      }),
    )
    const server = await serve(app.use(router.routes()))

    const clock = await open(`${server.url}/clock`)
    expect(await clock.next()).toMatchObject({ data: 'now' })
    const feed = await open(`${server.url}/hub?topics=news`)
    await feed.waitForComments(1)
    expect((await request(`${server.url}/hub?topics=news&as=anonymous`)).response.status).toBe(401)
    await pollUntil(
      () => logged.length === 3,
      5000,
      () => `3 log lines, got ${JSON.stringify(logged)}`,
    )
    expect(logged).toEqual(
      expect.arrayContaining([
        { url: '/clock', status: 200 },
        { url: '/hub?topics=news', status: 200 },
        { url: '/hub?topics=news&as=anonymous', status: 401 },
      ]),
    )
    // The streams are still live afterwards.
    await hub.publish('news', { data: 'still here' })
    expect(await feed.next()).toMatchObject({ data: 'still here' })
    expect(appErrors).toEqual([])
  })
})

describe('disconnects', () => {
  it.each(PROTOCOLS)(
    'reports nothing on app.on("error") and no unhandled rejection when clients leave at any moment ($protocol)',
    async ({ http2 }) => {
      const unhandled: unknown[] = []
      const onUnhandled = (reason: unknown) => unhandled.push(reason)
      process.on('unhandledRejection', onUnhandled)
      defer(() => process.off('unhandledRejection', onUnhandled))

      const { app, appErrors } = createApp()
      const { hub, streams: hubStreams } = recording(testHub())
      const streams: EventStream[] = []
      const payload = 'x'.repeat(32 * 1024)
      let lateGone = 0
      let releaseLate: () => void = () => {}
      const late = new Promise<void>((resolve) => {
        releaseLate = resolve
      })
      const router = new Router()
      router.get('/stream', async (ctx) => {
        const mode = ctx.query.mode
        // 'late': the client leaves while the route still awaits something, before `sse(ctx)`.
        if (mode === 'late') {
          ctx.res.once('close', () => lateGone++)
          await late
        }
        const stream = sse(ctx, { heartbeat: false, onOverflow: 'drop', maxBufferedBytes: 1024 * 1024 })
        streams.push(stream)
        if (mode === 'tick') {
          let n = 0
          const timer = setInterval(() => stream.send({ id: String(n++), data: 'tick' }), 1)
          stream.onClose(() => clearInterval(timer))
        } else if (mode === 'flood') {
          void (async () => {
            while (!stream.closed) {
              stream.send({ data: payload })
              await nextTurn()
            }
          })()
        }
      })
      // 'drop' on both routes: a paused reader's stream keeps its queue (and stays open) until
      // the client leaves, rather than overflowing and closing first.
      router.get(
        '/hub',
        sseHub({ hub, topics: topicsFromQuery, onOverflow: 'drop', maxBufferedBytes: 1024 * 1024 }),
      )
      const server = await serve(app.use(router.routes()), { http2 })
      // Proof that clients really reset connections here (a paused reader leaving with unread
      // bytes sends a TCP RST): Koa hands exactly these socket errors to ctx.onerror. (HTTP/2
      // cancels streams instead, with RST_STREAM on a connection that stays healthy.)
      const socketErrors: unknown[] = []
      server.server.on('connection', (socket: Socket) =>
        socket.on('error', (error) => socketErrors.push(error)),
      )
      const read = (path: string, options: OpenEventStreamOptions = {}) =>
        open(`${server.url}${path}`, { ...options, http2 })

      let publishing = true
      const publisher = (async () => {
        while (publishing) {
          await hub.publish('heavy', { data: payload })
          await nextTurn()
        }
      })()
      defer(() => {
        publishing = false
        return withTimeout(publisher, 5000, 'the publisher loop to stop')
      })

      const rounds = 5
      const lateOpenings: Array<Promise<unknown>> = []
      for (let round = 0; round < rounds; round++) {
        // Before the server opened the stream: the request is pending in the route.
        const lateReaders = [1, 2, 3].map(() => {
          const controller = new AbortController()
          const opening = openEventStream(`${server.url}/stream?mode=late`, {
            signal: controller.signal,
            http2,
            timeoutMs: 1000,
          }).catch(() => undefined)
          return { controller, opening }
        })
        // Before the first event: the head arrived, nothing else.
        const idle = await Promise.all([1, 2, 3].map(() => read('/stream?mode=idle')))
        const idleHub = await Promise.all([1, 2, 3].map(() => read('/hub?topics=quiet')))
        await Promise.all([...idle, ...idleHub].map((reader) => reader.close()))
        // Mid-stream: after a few events.
        const ticking = await Promise.all([1, 2, 3].map(() => read('/stream?mode=tick')))
        await Promise.all(ticking.map((reader, i) => reader.waitFor(1 + i * 5)))
        await Promise.all(ticking.map((reader) => reader.close()))
        // During heavy writes, per-client and hub: some readers keep reading, some stopped reading.
        const flooded = await Promise.all([
          ...[1, 2, 3].map(() => read('/stream?mode=flood', { keepEvents: false })),
          ...[1, 2, 3].map(() => read('/hub?topics=heavy', { keepEvents: false })),
        ])
        await Promise.all(flooded.map((reader) => reader.waitUntil(() => reader.bytesReceived > 256 * 1024)))
        flooded.forEach((reader, i) => {
          if (i % 2 === 0) reader.pause()
        })
        // The paused ones back up: the server holds queued bytes for them when they leave.
        const backedUp = () =>
          streams.some((stream) => !stream.closed && stream.bufferedBytes > 0) &&
          hubStreams.some((stream) => !stream.closed && stream.bufferedBytes > 0)
        await pollUntil(backedUp, 5000, 'a per-client and a hub stream to queue bytes for a paused reader')
        await Promise.all(flooded.map((reader) => reader.close()))
        // Now the late ones leave, and the route goes on to open their streams.
        for (const { controller } of lateReaders) controller.abort()
        lateOpenings.push(...lateReaders.map(({ opening }) => opening))
        await pollUntil(
          () => lateGone === 3 * (round + 1),
          5000,
          () => `the server to see ${3 * (round + 1)} late clients leave, saw ${lateGone}`,
        )
      }
      releaseLate()
      // Over HTTP/2 an aborted open settles only at its head deadline: see test-utils-bugs.test.ts.
      await withTimeout(Promise.all(lateOpenings), 10_000, 'the late requests to settle')

      const expected = rounds * 12 // late, idle, tick and flood per-client streams
      await pollUntil(
        () => streams.length === expected,
        5000,
        () => `${streams.length}/${expected} streams opened`,
      )
      await pollUntil(
        () => streams.every((stream) => stream.closed) && hub.size === 0,
        5000,
        () => `every stream to close (${streams.filter((s) => !s.closed).length} open, hub.size ${hub.size})`,
      )
      // Let anything still scheduled (a late 'error', a rejection about to be reported) surface.
      for (let i = 0; i < 10; i++) await nextTurn()
      if (!http2) expect(socketErrors.length).toBeGreaterThan(0)
      expect(appErrors).toEqual([])
      expect(unhandled).toEqual([])
    },
  )

  it('why ctx.respond = false: a stream as ctx.body reports ERR_STREAM_PREMATURE_CLOSE when a client leaves', async () => {
    const { app, appErrors } = createApp()
    const router = new Router()
    router.get('/as-body', (ctx) => {
      const body = new PassThrough()
      ctx.type = 'text/event-stream'
      ctx.body = body
      body.write(':\n\n')
    })
    router.get('/sse', (ctx) => {
      sse(ctx, { heartbeat: false })
    })
    const server = await serve(app.use(router.routes()))
    const sseReader = await open(`${server.url}/sse`)
    await sseReader.waitForComments(1)
    await sseReader.close()
    expect(appErrors).toEqual([])
    const bodyReader = await open(`${server.url}/as-body`)
    await bodyReader.waitForComments(1)
    await bodyReader.close()
    await pollUntil(() => appErrors.length > 0, 5000, 'Koa to report the piped body')
    expect(appErrors).toMatchObject([{ code: 'ERR_STREAM_PREMATURE_CLOSE' }])
  })

  it('still reports errors of the app itself after the stream opened', async () => {
    const { app, appErrors } = createApp()
    const router = new Router()
    router.get('/broken', async (ctx) => {
      sse(ctx, { heartbeat: false }).send({ data: 'opened' })
      await nextTurn()
      throw new Error('a bug after sse(ctx)')
    })
    const server = await serve(app.use(router.routes()))
    const reader = await open(`${server.url}/broken`)
    expect(await reader.next()).toMatchObject({ data: 'opened' })
    await pollUntil(() => appErrors.length > 0, 5000, 'the error to reach app.on("error")')
    expect(appErrors).toMatchObject([{ message: 'a bug after sse(ctx)', headerSent: true }])
  })

  it('removes a stream from the hub within 1 s of the client aborting', async () => {
    const { appErrors, hub, server } = await serveHubRoute()
    const reader = await open(`${server.url}/hub?topics=a,b`)
    await pollUntil(
      () => hub.size === 1,
      5000,
      () => `hub.size to be 1, is ${hub.size}`,
    )
    expect(hub.topicSize('a')).toBe(1)
    await reader.close()
    await pollUntil(
      () => hub.size === 0 && hub.topics().size === 0,
      1000,
      () => `the hub to forget the stream (size ${hub.size})`,
    )
    expect(appErrors).toEqual([])
  })
})

describe('shutdown', () => {
  it('hub.close() ends 100 hub streams, then server.close() completes', async () => {
    const { appErrors, hub, server } = await serveHubRoute()
    await expectGracefulShutdown({
      hub,
      open,
      server: server.server,
      url: (i) => `${server.url}/hub?topics=all,user-${i}`,
    })
    expect(appErrors).toEqual([])
  })
})

describe('eventsource client', () => {
  it('resumes exactly the missed events after the server closed the streams', async () => {
    const { app, appErrors } = createApp()
    const { hub, streams } = recording(testHub())
    const router = new Router()
    // `retry` is the first frame of every stream: the clients come back after 50 ms.
    router.get('/events', sseHub({ hub, topics: topicsFromQuery, retry: 50 }))
    const server = await serve(app.use(router.routes()))
    const onA = await openSource(`${server.url}/events?topics=a`, { eventNames: ['named'] })
    const onAB = await openSource(`${server.url}/events?topics=a,b`, { eventNames: ['named'] })
    await pollUntil(
      () => hub.size === 2,
      5000,
      () => `hub.size to be 2, is ${hub.size}`,
    )

    const one = await hub.publish('a', { data: 'one' })
    const two = await hub.publish('b', { event: 'named', data: 'two' })
    await onA.waitFor(1)
    await onAB.waitFor(2)

    // The server closes both streams; events are published before either client is back.
    for (const stream of streams) stream.close()
    const missed = [
      hub.publish('a', { event: 'named', data: 'three' }),
      hub.publish('b', { data: 'four' }),
      hub.publish('a', { data: 'five' }),
    ]
    await Promise.all(missed)
    await onA.waitForOpens(2)
    await onAB.waitForOpens(2)
    await pollUntil(
      () => hub.size === 2,
      5000,
      () => `hub.size to be 2 again, is ${hub.size}`,
    )
    await hub.publish('a', { data: 'six' })

    const seenByA = await onA.waitFor(4)
    const seenByAB = await onAB.waitFor(6)
    expect(seenByA.map(({ type, data }) => [type, data])).toEqual([
      ['message', 'one'],
      ['named', 'three'],
      ['message', 'five'],
      ['message', 'six'],
    ])
    expect(seenByAB.map(({ type, data }) => [type, data])).toEqual([
      ['message', 'one'],
      ['named', 'two'],
      ['named', 'three'],
      ['message', 'four'],
      ['message', 'five'],
      ['message', 'six'],
    ])
    expect(onA.requests[1]?.['last-event-id']).toBe(one)
    expect(onAB.requests[1]?.['last-event-id']).toBe(two)
    expect(hub.stats.replayed).toBe(5) // 2 for the client on a, 3 for the client on a and b
    // A late duplicate would arrive before the next live event: none does.
    await hub.publish('a', { data: 'seven' })
    await onA.waitFor(5)
    await onAB.waitFor(7)
    expect(onA.messages.map(({ data }) => data)).toEqual(['one', 'three', 'five', 'six', 'seven'])
    expect(onAB.messages.map(({ data }) => data)).toEqual([
      'one',
      'two',
      'three',
      'four',
      'five',
      'six',
      'seven',
    ])
    expect(appErrors).toEqual([])
  })
})
