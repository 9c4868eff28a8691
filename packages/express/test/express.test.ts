/**
 * What only Express has: its error middleware, routers mounted under a prefix, `compression`
 * and other middleware earlier in the stack. Everything runs on a real socket on port 0 and is
 * read with a real parser (`eventsource-parser`) or a real client (`eventsource`); every await
 * has a deadline and every server, client and hub a test opens is closed after it.
 */
import http from 'node:http'
import zlib from 'node:zlib'
import { type EventStream, MemoryBroker } from '@sse/core'
import {
  expectFeedResumed,
  expectGracefulShutdown,
  expectKeyedByAddress,
  expectKeyedByForwardedFor,
  fetchText as fetchAnswer,
  heldAuthorize,
  pollUntil,
  type StartedServer,
  startHttpServer,
  useTestScope,
  withTimeout,
} from '@sse/test-utils'
import compression from 'compression'
import { createParser, type EventSourceMessage } from 'eventsource-parser'
import express, { type ErrorRequestHandler, type RequestHandler } from 'express'
import { describe, expect, it } from 'vitest'
import { type SseHubOptions, type SseOptions, sse, sseHub } from '../src/index.ts'

const DEADLINE_MS = 5000
const { defer, open, openSource, hub: newHub, serve: served } = useTestScope()

function serve(app: express.Express): Promise<StartedServer<http.Server>> {
  return served(startHttpServer(app))
}

/** A plain (non-stream) request: status, headers and the whole body, with a deadline. */
function fetchText(url: string, headers: Record<string, string> = {}) {
  return fetchAnswer(url, { headers })
}

/** Collects the streams a per-client route opens, so a test can take them in order. */
function streamRoute(options?: SseOptions): {
  handler: RequestHandler
  next: () => Promise<EventStream>
} {
  const opened: EventStream[] = []
  let taken = 0
  return {
    handler: (req, res) => {
      const stream = sse(req, res, options)
      defer(() => stream.close())
      opened.push(stream)
    },
    next: async () => {
      const index = taken++
      await pollUntil(() => opened.length > index, DEADLINE_MS, `the route to open stream #${index + 1}`)
      return opened[index]!
    },
  }
}

interface GzipEventStream {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  next(): Promise<EventSourceMessage>
}

/**
 * Reads a gzip-encoded event stream: the body is gunzipped as a stream and fed to
 * `eventsource-parser`, so an event only arrives once the server flushed the compressor.
 */
async function openGzipEventStream(url: string): Promise<GzipEventStream> {
  const events: EventSourceMessage[] = []
  const parser = createParser({ onEvent: (event) => events.push(event) })
  const decoder = new TextDecoder()
  const request = http.request(url, {
    agent: false,
    headers: { accept: 'text/event-stream', 'accept-encoding': 'gzip' },
  })
  const closed = new Promise<void>((resolve) => request.once('close', resolve))
  defer(async () => {
    request.destroy()
    await withTimeout(closed, DEADLINE_MS, 'closing the gzip request')
  })
  const response = await withTimeout(
    new Promise<http.IncomingMessage>((resolve, reject) => {
      request.once('response', resolve)
      request.once('error', reject)
      request.end()
    }),
    DEADLINE_MS,
    `response head from ${url}`,
  )
  const body = response.headers['content-encoding'] === 'gzip' ? response.pipe(zlib.createGunzip()) : response
  body.on('data', (chunk: Buffer) => parser.feed(decoder.decode(chunk, { stream: true })))
  body.on('error', () => {})
  let taken = 0
  return {
    status: response.statusCode ?? 0,
    headers: response.headers,
    next: async () => {
      const index = taken++
      await pollUntil(() => events.length > index, DEADLINE_MS, `gzip stream: event #${index + 1}`)
      return events[index]!
    },
  }
}

const answer500: ErrorRequestHandler = (error: Error, _req, res, _next) => {
  res.status(500).json({ message: `server error: ${error.message}` })
}

describe('authorize', () => {
  async function start(authorize: Parameters<typeof sseHub>[0]['authorize']) {
    const hub = newHub()
    const errors: unknown[] = []
    hub.on('error', (error) => errors.push(error))
    let topicsCalls = 0
    const app = express()
    app.get(
      '/events',
      sseHub({
        hub,
        topics: () => {
          topicsCalls++
          return ['t']
        },
        authorize,
      }),
    )
    app.use(answer500)
    const server = await serve(app)
    return { hub, errors, url: `${server.url}/events`, topicsCalls: () => topicsCalls }
  }

  it('refuses with 401 and a JSON body: a plain response, not a stream', async () => {
    const { hub, url, topicsCalls } = await start(() => ({
      status: 401,
      body: { error: 'login required' },
      headers: { 'WWW-Authenticate': 'Bearer' },
    }))
    const response = await fetchText(url, { accept: 'text/event-stream' })
    expect(response.status).toBe(401)
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8')
    expect(response.headers.get('www-authenticate')).toBe('Bearer')
    expect(response.headers.get('x-accel-buffering')).toBeNull()
    expect(JSON.parse(response.body)).toEqual({ error: 'login required' })
    // topics ran first: authorize is told the topics it guards.
    expect(topicsCalls()).toBe(1)
    expect(hub.size).toBe(0)
  })

  it('refuses with 403 when authorize returns false, lets only true through, and fails closed on undefined', async () => {
    let verdict: boolean | undefined = false
    // A JavaScript caller (or a cast) can still return undefined: a forgotten `return`.
    const { hub, errors, url } = await start(async () => verdict as boolean)
    const refused = await fetchText(url)
    expect(refused.status).toBe(403)
    expect(refused.headers.get('content-type')).toBe('application/json; charset=utf-8')
    expect(JSON.parse(refused.body)).toEqual({ error: 'forbidden' })
    expect(hub.size).toBe(0)

    verdict = true
    const reader = await open(url)
    expect(reader.status).toBe(200)
    await pollUntil(() => hub.size === 1, DEADLINE_MS, 'the allowed request to subscribe')
    await hub.publish('t', { data: 'allowed' })
    expect((await reader.next()).data).toBe('allowed')
    await reader.close()
    await pollUntil(() => hub.size === 0, DEADLINE_MS, 'the closed reader to leave the hub')

    // undefined used to allow; now it is a 500 that says nothing, and the hub's error event says why.
    verdict = undefined
    const failed = await fetchText(url)
    expect(failed.status).toBe(500)
    expect(failed.headers.get('content-type')).toBe('application/json; charset=utf-8')
    expect(JSON.parse(failed.body)).toEqual({ error: 'internal error' })
    expect(hub.size).toBe(0)
    expect(errors).toEqual([
      expect.objectContaining({
        code: 'SSE_INVALID_OPTION',
        message: expect.stringMatching(/^authorize returned undefined/),
      }),
    ])
  })

  it('answers 204 with an empty body (EventSource stops reconnecting)', async () => {
    const { hub, url } = await start(() => ({ status: 204, body: { ignored: true } }))
    const response = await fetchText(url)
    expect(response.status).toBe(204)
    expect(response.body).toBe('')
    expect(response.headers.get('content-type')).toBeNull()
    expect(hub.size).toBe(0)
  })

  it('answers an authorize that throws or rejects with a generic 500: the error goes to hub.on("error"), not to the error middleware', async () => {
    const down = new Error('auth backend down at 10.0.0.3')
    const timedOut = new Error('auth backend timed out')
    let mode: 'throw' | 'reject' = 'throw'
    const { hub, errors, url } = await start(() => {
      if (mode === 'throw') throw down
      return Promise.reject(timedOut)
    })
    const thrown = await fetchText(url)
    expect(thrown.status).toBe(500)
    // Not answer500's `{ message: 'server error: …' }`: the error never reached next(error).
    expect(JSON.parse(thrown.body)).toEqual({ error: 'internal error' })
    mode = 'reject'
    const rejected = await fetchText(url)
    expect(rejected.status).toBe(500)
    expect(JSON.parse(rejected.body)).toEqual({ error: 'internal error' })
    expect(errors).toEqual([down, timedOut])
    expect(hub.size).toBe(0)
  })

  it('refuses invalid topics with 400 and a message naming the problem', async () => {
    const hub = newHub()
    const app = express()
    app.get('/events', sseHub({ hub, topics: (req) => String(req.query.topics ?? '').split(',') }))
    const server = await serve(app)
    const response = await fetchText(`${server.url}/events?topics=`)
    expect(response.status).toBe(400)
    expect(JSON.parse(response.body).error).toMatch(/non-empty string/)
  })
})

describe('limits', () => {
  it("keys streams by the client's address (req.ip) by default: past maxStreamsPerKey, 429 with Retry-After", async () => {
    const hub = newHub({ maxStreamsPerKey: 2 })
    const app = express()
    app.get('/events', sseHub({ hub, topics: () => ['t'] }))
    app.get('/unkeyed', sseHub({ hub, topics: () => ['t'], key: () => undefined }))
    const server = await serve(app)
    await expectKeyedByAddress({ hub, open, keyed: `${server.url}/events`, unkeyed: `${server.url}/unkeyed` })
  })

  it("follows Express's trust proxy: behind one, each forwarded client is its own key", async () => {
    const hub = newHub({ maxStreamsPerKey: 1 })
    const app = express()
    app.set('trust proxy', 'loopback')
    app.get('/events', sseHub({ hub, topics: () => ['t'] }))
    const server = await serve(app)
    await expectKeyedByForwardedFor({ hub, open, url: `${server.url}/events` })
  })
})

it('streams from a router mounted under a prefix', async () => {
  const hub = newHub()
  const router = express.Router()
  router.get('/events', sseHub({ hub, topics: (req) => [String(req.query.topic)] }))
  const app = express()
  app.use('/api', router)
  const server = await serve(app)

  const reader = await open(`${server.url}/api/events?topic=news`)
  expect(reader.status).toBe(200)
  expect(reader.headers['content-type']).toBe('text/event-stream; charset=utf-8')
  await pollUntil(() => hub.topicSize('news') === 1, DEADLINE_MS, 'the router route to subscribe to news')
  const id = await hub.publish('news', { event: 'news', data: 'mounted' })
  expect(await reader.next()).toEqual({ id, event: 'news', data: 'mounted' })
  expect((await fetchText(`${server.url}/events?topic=news`)).status).toBe(404)
})

describe('compression middleware', () => {
  it('is skipped for event streams (no-transform): events arrive one by one, uncompressed', async () => {
    const hub = newHub()
    const clock = streamRoute({ heartbeat: false })
    const app = express()
    app.use(compression())
    app.get('/clock', clock.handler)
    app.get('/events', sseHub({ hub, topics: () => ['t'] }))
    app.get('/text', (_req, res) => {
      res.send('compressible '.repeat(200))
    })
    const server = await serve(app)

    // Control: the same stack does gzip an ordinary response.
    const text = await fetchText(`${server.url}/text`, { 'accept-encoding': 'gzip' })
    expect(text.headers.get('content-encoding')).toBe('gzip')

    const reader = await open(`${server.url}/clock`, { headers: { 'accept-encoding': 'gzip' } })
    expect(reader.status).toBe(200)
    expect(reader.headers['content-encoding']).toBeUndefined()
    expect(reader.headers['cache-control']).toBe('no-cache, no-transform')
    expect(reader.headers['content-type']).toBe('text/event-stream; charset=utf-8')
    const stream = await clock.next()
    for (let i = 0; i < 5; i++) {
      // The next event is only sent once this one arrived: nothing waits in a buffer.
      stream.send({ event: 'tick', data: `tick ${i}` })
      expect(await reader.next()).toEqual({ event: 'tick', data: `tick ${i}`, id: undefined })
    }

    const hubReader = await open(`${server.url}/events`, { headers: { 'accept-encoding': 'gzip' } })
    expect(hubReader.headers['content-encoding']).toBeUndefined()
    await pollUntil(() => hub.size === 1, DEADLINE_MS, 'the hub route to subscribe')
    for (let i = 0; i < 5; i++) {
      await hub.publish('t', { data: `hub ${i}` })
      expect((await hubReader.next()).data).toBe(`hub ${i}`)
    }
  })

  it('gzips when Cache-Control is overridden to no-cache, and res.flush() still delivers events one by one', async () => {
    const hub = newHub()
    const headers = { 'Cache-Control': 'no-cache' }
    const clock = streamRoute({ heartbeat: false, headers })
    const app = express()
    app.use(compression())
    app.get('/clock', clock.handler)
    app.get('/events', sseHub({ hub, topics: () => ['t'], headers }))
    const server = await serve(app)

    const reader = await openGzipEventStream(`${server.url}/clock`)
    expect(reader.status).toBe(200)
    expect(reader.headers['content-encoding']).toBe('gzip')
    expect(reader.headers['cache-control']).toBe('no-cache')
    expect(reader.headers.vary).toMatch(/accept-encoding/i)
    expect(reader.headers['content-length']).toBeUndefined()
    const stream = await clock.next()
    for (let i = 0; i < 5; i++) {
      stream.send({ event: 'tick', data: `gzipped ${i}` })
      expect(await reader.next()).toMatchObject({ event: 'tick', data: `gzipped ${i}` })
    }

    const hubReader = await openGzipEventStream(`${server.url}/events`)
    expect(hubReader.headers['content-encoding']).toBe('gzip')
    await pollUntil(() => hub.size === 1, DEADLINE_MS, 'the hub route to subscribe')
    for (let i = 0; i < 5; i++) {
      const id = await hub.publish('t', { data: `hub gzipped ${i}` })
      expect(await hubReader.next()).toMatchObject({ id, data: `hub gzipped ${i}` })
    }
  })
})

it('keeps headers set by earlier middleware (CORS), on streams and on refusals', async () => {
  const hub = newHub()
  const clock = streamRoute({ heartbeat: false })
  const app = express()
  app.use((_req, res, next) => {
    res.setHeader('Access-Control-Allow-Origin', 'https://a.example')
    res.setHeader('Vary', 'Origin')
    next()
  })
  app.get('/clock', clock.handler)
  app.get(
    '/events',
    sseHub({ hub, topics: () => ['t'], authorize: (req) => req.query.token === 'ok' || { status: 401 } }),
  )
  const server = await serve(app)

  const reader = await open(`${server.url}/clock`)
  expect(reader.headers['access-control-allow-origin']).toBe('https://a.example')
  expect(reader.headers.vary).toBe('Origin')
  expect(reader.headers['content-type']).toBe('text/event-stream; charset=utf-8')
  ;(await clock.next()).send({ data: 'cors' })
  expect((await reader.next()).data).toBe('cors')

  const hubReader = await open(`${server.url}/events?token=ok`)
  expect(hubReader.headers['access-control-allow-origin']).toBe('https://a.example')
  // A browser can only read a refusal's status when the CORS header is on it too.
  const refused = await fetchText(`${server.url}/events`)
  expect(refused.status).toBe(401)
  expect(refused.headers.get('access-control-allow-origin')).toBe('https://a.example')
})

it('removes a stream from the hub within 1 s of the client aborting, with and without compression', async () => {
  const hub = newHub()
  const app = express()
  app.get('/plain', sseHub({ hub, topics: () => ['plain', 'both'] }))
  app.get(
    '/gzip',
    compression(),
    sseHub({ hub, topics: () => ['gzip', 'both'], headers: { 'Cache-Control': 'no-cache' } }),
  )
  const server = await serve(app)

  for (const path of ['/plain', '/gzip']) {
    const reader = await open(`${server.url}${path}`, { headers: { 'accept-encoding': 'gzip' } })
    await pollUntil(() => hub.size === 1, DEADLINE_MS, `${path}: the stream to subscribe`)
    await reader.close()
    await pollUntil(
      () => hub.size === 0 && hub.topics().size === 0,
      1000,
      () => `${path}: the hub to forget the aborted stream (size ${hub.size})`,
    )
  }
})

it('hub.close() ends 100 open hub streams, and a plain server.close() then completes', async () => {
  const hub = newHub()
  const app = express()
  app.get('/events', sseHub({ hub, topics: (req) => [String(req.query.topic), 'all'] }))
  const started = await serve(app)

  await expectGracefulShutdown({
    hub,
    open,
    server: started.server,
    url: (i) => `${started.url}/events?topic=t${i % 10}`,
  })
})

it('replays exactly the missed events to the eventsource client across a hub restart', async () => {
  // A rolling deploy in one process: two hubs share one broker (as two instances share Redis);
  // the first closes, its clients reconnect to the second with Last-Event-ID.
  const broker = new MemoryBroker()
  const first = newHub({ broker })
  const second = newHub({ broker })
  let handler = sseHub({ hub: first, topics: () => ['feed'] })
  // Holds reconnects until the missed events are published, so they come from history.
  let gate: Promise<void> = Promise.resolve()
  let openGate = () => {}
  const app = express()
  app.get('/events', async (req, res, next) => {
    await gate
    handler(req, res, next)
  })
  const server = await serve(app)

  const source = await openSource(`${server.url}/events`, { eventNames: ['named'] })
  await pollUntil(() => first.size === 1, DEADLINE_MS, 'the first hub to subscribe the client')
  await first.publish('feed', { data: 'one' })
  await first.publish('feed', { event: 'named', data: 'two' })
  await source.waitFor(2)

  gate = new Promise((resolve) => {
    openGate = resolve
  })
  handler = sseHub({ hub: second, topics: () => ['feed'] })
  await withTimeout(first.close({ retry: { min: 20, max: 20 } }), 2000, 'first.close()')
  await pollUntil(() => source.requests.length === 2, DEADLINE_MS, 'the client to reconnect')
  await second.publish('feed', { data: 'three' })
  await second.publish('feed', { event: 'named', data: 'four' })
  openGate()
  await source.waitForOpens(2)
  await pollUntil(() => second.size === 1, DEADLINE_MS, 'the second hub to subscribe the client')
  await second.publish('feed', { data: 'five' })

  await expectFeedResumed(source, second)
  expect(second.stats.resets).toBe(0)
})

it('never subscribes a client that left while authorize was pending', async () => {
  const hub = newHub()
  const held = heldAuthorize() // e.g. a session lookup still running when the client leaves
  const app = express()
  app.get(
    '/events',
    (_req, res, next) => {
      res.once('close', held.sawClose)
      next()
    },
    sseHub({ hub, topics: () => ['t'], authorize: held.authorize }),
  )
  const server = await serve(app)
  await held.expectNotSubscribed(hub, `${server.url}/events`)
})

it('applies the per-request filter of sseHub to live and replayed events', async () => {
  const hub = newHub()
  // Only the orders of the shop the request names.
  const byShop: SseHubOptions['filter'] = (req) => {
    const shop = String(req.query.shop)
    return (entry) => (JSON.parse(entry.data) as { shop: string }).shop === shop
  }
  const app = express()
  app.get('/events', sseHub({ hub, topics: () => ['orders'], filter: byShop }))
  const server = await serve(app)
  const first = await hub.publish('orders', { data: { shop: 'a', n: 1 } })
  await hub.publish('orders', { data: { shop: 'b', n: 2 } })
  await hub.publish('orders', { data: { shop: 'a', n: 3 } })
  // Replay from before the first event, then live.
  const reader = await open(`${server.url}/events?shop=a`, { headers: { 'last-event-id': first } })
  await hub.publish('orders', { data: { shop: 'b', n: 4 } })
  await hub.publish('orders', { data: { shop: 'a', n: 5 } })
  await reader.waitForEvent((event) => JSON.parse(event.data).n === 5)
  expect(reader.events.map((event) => JSON.parse(event.data).n)).toEqual([3, 5])
})
