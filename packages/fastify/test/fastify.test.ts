/**
 * What is specific to Fastify, each over a real socket on port 0 with a real client: hooks and
 * `authorize` refusing, CORS and hook headers surviving `reply.hijack()`, HTTP/2, a prompt
 * `fastify.close()`, client aborts, replay with the `eventsource` client, and a quiet log.
 */
import net from 'node:net'
import cors from '@fastify/cors'
import type { AuthorizeResult, EventStream, Hub } from '@sse/core'
import {
  type EventStreamReader,
  expectFeedResumed,
  expectKeyedByAddress,
  expectKeyedByForwardedFor,
  fetchText,
  headerNames,
  openEventStream,
  pollUntil,
  type TestServer,
  useTestScope,
  withTimeout,
} from '@sse/test-utils'
import { EventSource } from 'eventsource'
import fastify, { type FastifyInstance, type FastifyReply, type RawServerBase } from 'fastify'
import { describe, expect, it } from 'vitest'
import { sse, sseHub, ssePlugin } from '../src/index.ts'
import { captureLogs, listen } from './listen.ts'

/** Deadline of each wait here; generous, never a timing assertion. */
const WAIT_MS = 5_000

const { defer: cleanup, open, openSource, hub: newHub, serve: served } = useTestScope()

function serve<S extends RawServerBase>(app: FastifyInstance<S>): Promise<TestServer> {
  return served(listen(app))
}

/** A plain `fetch` for answers that are not streams (refusals). */
function get(url: string, headers: Record<string, string> = {}) {
  return fetchText(url, { headers }, WAIT_MS)
}

function hubSize(hub: Hub, size: number, ms = WAIT_MS): Promise<void> {
  return pollUntil(
    () => hub.size === size,
    ms,
    () => `hub.size to be ${size}, is ${hub.size}`,
  )
}

/** Header names sent more than once. */
function repeatedHeaders(reader: EventStreamReader): string[] {
  const names = headerNames(reader)
  return names.filter((name, i) => names.indexOf(name) !== i)
}

describe('refusing a request', () => {
  it('lets an onRequest hook answer 401 before the handler runs', async () => {
    const hub = newHub()
    let handled = 0
    const app = fastify()
    app.addHook('onRequest', async (request, reply) => {
      if (request.headers.authorization !== 'Bearer good') {
        return reply.code(401).send({ error: 'login required' })
      }
    })
    app.get(
      '/events',
      sseHub({
        hub,
        topics: () => {
          handled++
          return ['news']
        },
      }),
    )
    const server = await serve(app)

    const refused = await get(`${server.url}/events`)
    expect(refused.status).toBe(401)
    expect(refused.headers.get('content-type')).toMatch(/^application\/json/)
    expect(JSON.parse(refused.body)).toEqual({ error: 'login required' })
    expect(handled).toBe(0)
    expect(hub.size).toBe(0)

    const reader = await open(`${server.url}/events`, { headers: { authorization: 'Bearer good' } })
    expect(reader.status).toBe(200)
    await hubSize(hub, 1)
    await hub.publish('news', { data: 'hello' })
    expect((await reader.next()).data).toBe('hello')
    expect(handled).toBe(1)
  })

  it("answers sseHub's authorize: a refusal, false (403), 204, true; a throw or nothing is a generic 500 that Fastify's error handler never sees", async () => {
    const hub = newHub()
    const hubErrors: unknown[] = []
    hub.on('error', (error) => hubErrors.push(error))
    const storeDown = new Error('token store down at 10.0.0.3')
    const logs = captureLogs()
    const app = fastify({ logger: logs.logger })
    await app.register(ssePlugin)
    app.get(
      '/events',
      sseHub({
        hub,
        topics: () => ['news'],
        authorize: async (request): Promise<AuthorizeResult> => {
          const { as } = request.query as { as?: string }
          if (as === 'anonymous') {
            return {
              status: 401,
              body: { error: 'login required' },
              headers: { 'WWW-Authenticate': 'Bearer' },
            }
          }
          if (as === 'banned') return false
          if (as === 'gone') return { status: 204 }
          if (as === 'broken') throw storeDown
          if (as === 'user') return true
          // A forgotten `return`, as plain JavaScript (or a cast) can still hand back.
          return undefined as unknown as AuthorizeResult
        },
      }),
    )
    // A plain route that throws, for contrast: that error does go to Fastify's error handler.
    app.get('/crash', () => {
      throw new Error('handler bug')
    })
    const server = await serve(app)

    const anonymous = await get(`${server.url}/events?as=anonymous`)
    expect(anonymous.status).toBe(401)
    expect(anonymous.headers.get('content-type')).toBe('application/json; charset=utf-8')
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer')
    expect(JSON.parse(anonymous.body)).toEqual({ error: 'login required' })

    const banned = await get(`${server.url}/events?as=banned`)
    expect(banned.status).toBe(403)
    expect(JSON.parse(banned.body)).toEqual({ error: 'forbidden' })

    const gone = await get(`${server.url}/events?as=gone`)
    expect(gone.status).toBe(204)
    expect(gone.body).toBe('')

    for (const as of ['broken', 'nothing']) {
      const failed = await get(`${server.url}/events?as=${as}`)
      expect(failed.status, as).toBe(500)
      expect(failed.headers.get('content-type'), as).toBe('application/json; charset=utf-8')
      expect(JSON.parse(failed.body), as).toEqual({ error: 'internal error' })
    }
    // The detail went to the hub's error event, not to Fastify (which logged nothing for them).
    expect(hubErrors).toEqual([
      storeDown,
      expect.objectContaining({
        code: 'SSE_INVALID_OPTION',
        message: expect.stringMatching(/^authorize returned undefined/),
      }),
    ])
    expect(logs.lines).toEqual([])
    expect(hub.size).toBe(0)

    const crash = await get(`${server.url}/crash`)
    expect(crash.status).toBe(500)
    expect(JSON.parse(crash.body)).toMatchObject({ message: 'handler bug' })
    // Fastify's error handler logged that one: the one line of this test, which also shows the capture works.
    expect(logs.lines).toHaveLength(1)
    expect(logs.lines[0]).toMatchObject({ level: 50, err: { message: 'handler bug' } })

    const reader = await open(`${server.url}/events?as=user`)
    expect(reader.status).toBe(200)
    expect(reader.headers['content-type']).toBe('text/event-stream; charset=utf-8')
    await hubSize(hub, 1)
  })

  it('stops the eventsource client for good with 204', async () => {
    const hub = newHub()
    let requests = 0
    const stop = () => {
      requests++
      return { status: 204 } as const
    }
    const app = fastify()
    app.get('/events', sseHub({ hub, topics: () => ['news'], authorize: stop }))
    const server = await serve(app)
    const source = new EventSource(`${server.url}/events`)
    cleanup(() => source.close())
    await withTimeout(
      new Promise((resolve) => source.addEventListener('error', resolve, { once: true })),
      WAIT_MS,
      'the error event of an EventSource answered 204',
    )
    // CLOSED: the client schedules no reconnection (a transient failure would be CONNECTING).
    expect(source.readyState).toBe(EventSource.CLOSED)
    expect(requests).toBe(1)
  })
})

describe('limits', () => {
  it("keys streams by the client's address (request.ip) by default: past maxStreamsPerKey, 429 with Retry-After", async () => {
    const hub = newHub({ maxStreamsPerKey: 2 })
    const logs = captureLogs()
    const app = fastify({ logger: logs.logger })
    app.get('/events', sseHub({ hub, topics: () => ['news'] }))
    app.get('/unkeyed', sseHub({ hub, topics: () => ['news'], key: () => undefined }))
    const server = await serve(app)
    await expectKeyedByAddress({ hub, open, keyed: `${server.url}/events`, unkeyed: `${server.url}/unkeyed` })
    expect(logs.lines).toEqual([])
  })

  it("follows Fastify's trustProxy: behind one, each forwarded client is its own key", async () => {
    const hub = newHub({ maxStreamsPerKey: 1 })
    const app = fastify({ trustProxy: '127.0.0.1' })
    app.get('/events', sseHub({ hub, topics: () => ['news'] }))
    const server = await serve(app)
    await expectKeyedByForwardedFor({ hub, open, url: `${server.url}/events` })
  })
})

describe('headers set by plugins and hooks', () => {
  it('keeps @fastify/cors and hook headers on the stream, despite reply.hijack()', async () => {
    const hub = newHub()
    const app = fastify()
    await app.register(cors, {
      origin: ['https://app.example', 'https://admin.example'],
      credentials: true,
      exposedHeaders: ['x-request-id'],
    })
    await app.register(ssePlugin)
    app.addHook('onRequest', async (request, reply) => {
      reply.header('x-request-id', request.id)
    })
    app.addHook('preHandler', async (_request, reply) => {
      reply.header('x-served-by', 'fastify')
    })
    app.get('/plugin', (_request, reply) => {
      reply.sse({ heartbeat: false }).send({ data: 'from reply.sse()' })
    })
    app.get('/direct', (request, reply) => {
      sse(request, reply, { heartbeat: false }).send({ data: 'from sse()' })
    })
    app.get(
      '/events',
      sseHub({
        hub,
        topics: () => ['news'],
        authorize: (request) => request.headers.authorization === 'Bearer good' || { status: 401 },
      }),
    )
    const server = await serve(app)
    const origin = { origin: 'https://app.example' }

    const readers = {
      plugin: await open(`${server.url}/plugin`, { headers: origin }),
      direct: await open(`${server.url}/direct`, { headers: origin }),
      hub: await open(`${server.url}/events`, { headers: { ...origin, authorization: 'Bearer good' } }),
    }
    for (const [route, reader] of Object.entries(readers)) {
      expect(reader.status, route).toBe(200)
      expect(reader.headers['content-type'], route).toBe('text/event-stream; charset=utf-8')
      expect(reader.headers['access-control-allow-origin'], route).toBe('https://app.example')
      expect(reader.headers['access-control-allow-credentials'], route).toBe('true')
      expect(reader.headers['access-control-expose-headers'], route).toBe('x-request-id')
      expect(reader.headers.vary, route).toMatch(/origin/i)
      expect(reader.headers['x-request-id'], route).toMatch(/^req-/)
      expect(reader.headers['x-served-by'], route).toBe('fastify')
      expect(repeatedHeaders(reader), route).toEqual([])
    }
    expect((await readers.plugin.next()).data).toBe('from reply.sse()')
    expect((await readers.direct.next()).data).toBe('from sse()')
    await hubSize(hub, 1)
    await hub.publish('news', { data: 'from the hub' })
    expect((await readers.hub.next()).data).toBe('from the hub')

    // A refusal goes through Fastify's reply, so the browser may read it too.
    const refused = await get(`${server.url}/events`, origin)
    expect(refused.status).toBe(401)
    expect(refused.headers.get('access-control-allow-origin')).toBe('https://app.example')
    expect(refused.headers.get('x-served-by')).toBe('fastify')
  })
})

describe('lifecycle hooks', () => {
  async function lifecycleCase<S extends RawServerBase>(app: FastifyInstance<S>, http2: boolean) {
    const seen: string[] = []
    const streams: EventStream[] = []
    await app.register(ssePlugin)
    app.addHook('onSend', async (request) => {
      seen.push(`onSend ${request.url}`)
    })
    app.addHook('onResponse', async (request, reply) => {
      seen.push(`onResponse ${request.url} ${reply.statusCode}`)
    })
    app.addHook('onRequestAbort', async (request) => {
      seen.push(`onRequestAbort ${request.url}`)
    })
    app.get('/stream', (_request, reply) => {
      streams.push(reply.sse({ heartbeat: false }))
    })
    const server = await serve(app)

    const endedByServer = await open(`${server.url}/stream?by=server`, { http2 })
    await pollUntil(() => streams.length === 1, WAIT_MS, 'the first stream')
    expect(seen).toEqual([])
    streams[0]!.close()
    expect(await endedByServer.waitForEnd()).toBe('end')
    await pollUntil(
      () => seen.length === 1,
      WAIT_MS,
      () => `the onResponse hook (seen ${seen})`,
    )

    const leaving = await open(`${server.url}/stream?by=client`, { http2 })
    await pollUntil(() => streams.length === 2, WAIT_MS, 'the second stream')
    await leaving.close()
    // Over HTTP/2, Node's compatibility response also emits 'finish' when the client cancels.
    const expected = ['onResponse /stream?by=server 200', 'onRequestAbort /stream?by=client']
    if (http2) expected.push('onResponse /stream?by=client 200')
    await pollUntil(
      () => seen.length === expected.length,
      WAIT_MS,
      () => `the hooks of a client that left (seen ${seen})`,
    )
    expect([...seen].sort()).toEqual([...expected].sort())
  }

  it('runs onResponse when the server ends the stream, onRequestAbort when the client leaves, never onSend', () =>
    lifecycleCase(fastify(), false))

  it('runs the same hooks over HTTP/2', () => lifecycleCase(fastify({ http2: true }), true))
})

describe('HTTP/2 (fastify({ http2: true }), h2c)', () => {
  it('streams without connection-specific headers, and close() ends streams and sessions', async () => {
    const hub = newHub()
    const logs = captureLogs()
    const app = fastify({ http2: true, logger: logs.logger })
    await app.register(ssePlugin, { hub })
    app.get('/clock', (_request, reply) => {
      reply.sse({ heartbeat: false }).send({ event: 'tick', data: '12:00:00' })
    })
    app.get('/events', sseHub({ hub, topics: () => ['news'] }))
    const server = await listen(app)
    cleanup(() => server.close())

    const clock = await open(`${server.url}/clock`, { http2: true })
    const events = await open(`${server.url}/events`, { http2: true })
    for (const reader of [clock, events]) {
      expect(reader.httpVersion).toBe('2.0')
      expect(reader.status).toBe(200)
      expect(reader.headers['content-type']).toBe('text/event-stream; charset=utf-8')
      for (const banned of ['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade']) {
        expect(reader.headers[banned], banned).toBeUndefined()
      }
    }
    expect(await clock.next()).toEqual({ event: 'tick', data: '12:00:00', id: undefined })
    await hubSize(hub, 1)
    await hub.publish('news', { data: 'over h2' })
    expect((await events.next()).data).toBe('over h2')

    // Both client sessions stay open: close() must not wait on them (Node < 24 would).
    await withTimeout(server.close(), 2000, 'fastify.close() with open HTTP/2 sessions')
    expect(await clock.waitForEnd()).toBe('end')
    expect(await events.waitForEnd()).toBe('end')
    expect(events.retries).toHaveLength(2) // the hub's as it subscribed, then close()'s
    expect(hub.closed).toBe(true)
    expect(logs.lines).toEqual([])
  })
})

describe('fastify.close()', () => {
  it('finishes promptly after hub.close() with 100 open hub streams (no plugin)', async () => {
    const hub = newHub()
    const app = fastify()
    app.get('/events', sseHub({ hub, topics: () => ['news'] }))
    const server = await serve(app)
    const readers = await Promise.all(Array.from({ length: 100 }, () => open(`${server.url}/events`)))
    await hubSize(hub, 100)
    await withTimeout(hub.close({ event: { event: 'bye', data: 'restarting' } }), 2000, 'hub.close()')
    for (const reader of readers) {
      expect(await reader.waitForEnd()).toBe('end')
      expect(reader.events.at(-1)).toMatchObject({ event: 'bye', data: 'restarting' })
    }
    await withTimeout(server.close(), 2000, 'fastify.close() after hub.close()')
  })

  it('with the plugin given { hub }, closes the hub and open per-client streams, a stuck client too', async () => {
    const hub = newHub()
    const streams: EventStream[] = []
    const app = fastify()
    await app.register(ssePlugin, {
      hub,
      closeOptions: { event: { event: 'bye', data: 'restarting' }, retry: { min: 1000, max: 1000 } },
    })
    app.get('/clock', (_request, reply) => {
      streams.push(reply.sse({ heartbeat: false }))
    })
    app.get('/events', sseHub({ hub, topics: () => ['news'] }))
    const server = await serve(app)
    const clocks = await Promise.all(Array.from({ length: 50 }, () => open(`${server.url}/clock`)))
    const subscribers = await Promise.all(Array.from({ length: 50 }, () => open(`${server.url}/events`)))
    await hubSize(hub, 50)
    await pollUntil(
      () => streams.length === 50,
      WAIT_MS,
      () => `50 clock streams, have ${streams.length}`,
    )

    // One client stops reading until its socket is full: close must not wait to flush it.
    const stuck = clocks[0]!
    const stuckStream = streams[0]!
    stuck.pause()
    const payload = 'x'.repeat(16 * 1024)
    await withTimeout(
      (async () => {
        while (stuckStream.bufferedBytes === 0) {
          stuckStream.send({ data: payload })
          await new Promise((resolve) => setImmediate(resolve))
        }
      })(),
      WAIT_MS,
      'filling the socket of a client that stopped reading',
    )

    await withTimeout(server.close(), 2000, 'fastify.close() with open streams')
    expect(hub.closed).toBe(true)
    expect(streams.every((stream) => stream.closed)).toBe(true)
    for (const reader of subscribers) {
      expect(await reader.waitForEnd()).toBe('end')
      expect(reader.events.at(-1)).toMatchObject({ event: 'bye', data: 'restarting' })
      expect(reader.retries.at(-1)).toBe(1000)
    }
    for (const reader of clocks.slice(1)) expect(await reader.waitForEnd()).toBe('end')
    stuck.resume()
    expect(await stuck.waitForEnd()).toBe('aborted')
  })
  it('ends at once a stream a handler opens after close began', async () => {
    let release: () => void = () => {}
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    let waiting = false
    const app = fastify()
    await app.register(ssePlugin)
    // Runs after the plugin's preClose: the handler goes on once the plugin has closed what was open.
    app.addHook('preClose', async () => release())
    app.get('/slow', async (_request, reply) => {
      waiting = true
      await gate // an authorization lookup, say, still running when the deploy starts
      reply.sse({ heartbeat: false })
    })
    const server = await serve(app)
    const opening = openEventStream(`${server.url}/slow`)
    cleanup(async () => (await opening.catch(() => undefined))?.close())
    await pollUntil(() => waiting, WAIT_MS, 'the handler to start waiting')
    const closing = server.close()
    closing.catch(() => {}) // awaited below; this keeps an early failure from also reporting it unhandled
    const reader = await opening
    expect(reader.status).toBe(200)
    expect(await reader.waitForEnd()).toBe('end')
    await withTimeout(closing, 2000, 'fastify.close() with a handler that opened a stream late')
  })
})

describe('fastify.close() and connections that never sent a request', () => {
  it('with forceCloseConnections: true, closes them too (Node waits on them otherwise)', async () => {
    const hub = newHub()
    const app = fastify({ forceCloseConnections: true })
    await app.register(ssePlugin, { hub })
    app.get('/events', sseHub({ hub, topics: () => ['news'] }))
    const server = await serve(app)
    const reader = await open(`${server.url}/events`)
    await hubSize(hub, 1)
    // A silent connection, like a browser's preconnect or undici's spare socket after an abort.
    const silent = net.connect(Number(new URL(server.url).port), '127.0.0.1')
    cleanup(() => silent.destroy())
    const silentClosed = new Promise((resolve) => silent.once('close', resolve))
    await withTimeout(
      new Promise((resolve, reject) => silent.once('connect', resolve).once('error', reject)),
      WAIT_MS,
      'a raw TCP connection',
    )
    await withTimeout(server.close(), 2000, 'fastify.close() with a silent connection')
    await withTimeout(silentClosed, WAIT_MS, 'the silent connection to be closed')
    await reader.waitForEnd()
    expect(reader.retries).toHaveLength(2) // the hub's as it subscribed, then close()'s
  })
})

describe('client aborts', () => {
  async function abortCase<S extends RawServerBase>(app: FastifyInstance<S>, http2: boolean) {
    const hub = newHub()
    await app.register(ssePlugin)
    app.get('/events', sseHub({ hub, topics: () => ['news', 'alerts'] }))
    const server = await serve(app)
    const reader = await open(`${server.url}/events`, { http2 })
    await hubSize(hub, 1)
    await reader.close()
    await pollUntil(
      () => hub.size === 0 && hub.topics().size === 0,
      1000,
      () => `the hub to forget the stream (size ${hub.size})`,
    )
  }

  it('removes the stream from the hub within 1 s', () => abortCase(fastify(), false))

  it('removes the stream from the hub within 1 s over HTTP/2', () =>
    abortCase(fastify({ http2: true }), true))
})

describe('replay', () => {
  it('the eventsource client reconnects with Last-Event-ID and gets exactly the missed events', async () => {
    const hub = newHub()
    const replies = new Set<FastifyReply>()
    const app = fastify()
    await app.register(ssePlugin)
    app.addHook('onRequest', async (_request, reply) => {
      replies.add(reply)
    })
    // `retry: 20`: the first frame asks for a quick reconnect.
    app.get('/events', sseHub({ hub, topics: () => ['feed'], retry: 20 }))
    const server = await serve(app)

    const source = await openSource(`${server.url}/events`, { eventNames: ['named'] })
    await hubSize(hub, 1)
    await hub.publish('feed', { data: 'one' })
    await hub.publish('feed', { event: 'named', data: 'two' })
    await source.waitFor(2)

    // The server ends the response (a proxy timeout, a deploy); two events go out meanwhile.
    for (const reply of replies) reply.raw.end()
    replies.clear()
    await hubSize(hub, 0)
    await hub.publish('feed', { data: 'three' })
    await hub.publish('feed', { event: 'named', data: 'four' })
    await source.waitForOpens(2)
    await hubSize(hub, 1)
    await hub.publish('feed', { data: 'five' })

    await expectFeedResumed(source, hub)
  })
})

describe('logging', () => {
  it('logs no warning or error for hijacked replies, whatever ends them', async () => {
    const hub = newHub()
    const logs = captureLogs()
    const streams: EventStream[] = []
    const app = fastify({ logger: logs.logger })
    await app.register(ssePlugin)
    app.get('/sync', (_request, reply) => {
      streams.push(reply.sse({ heartbeat: false }))
    })
    app.get('/async', async (request, reply) => {
      await new Promise((resolve) => setImmediate(resolve))
      streams.push(sse(request, reply, { heartbeat: false }))
    })
    app.get('/events', sseHub({ hub, topics: () => ['news'] }))
    const server = await serve(app)

    // Ended by the server.
    for (const path of ['/sync', '/async']) {
      const reader = await open(`${server.url}${path}`)
      await pollUntil(() => streams.length > 0, WAIT_MS, `the stream of ${path}`)
      const stream = streams.shift()!
      stream.send({ data: path })
      expect((await reader.next()).data).toBe(path)
      stream.close()
      expect(await reader.waitForEnd()).toBe('end')
    }
    // Left by the client.
    const leaving = await open(`${server.url}/async`)
    await pollUntil(() => streams.length > 0, WAIT_MS, 'the stream of the leaving client')
    const left = streams.shift()!
    await leaving.close()
    await pollUntil(() => left.signal.aborted, WAIT_MS, 'the stream to see the client leave')
    expect(left.send({ data: 'after the client left' })).toBe(false)
    // A hub stream, ended by hub.close().
    const subscriber = await open(`${server.url}/events`)
    await hubSize(hub, 1)
    await hub.close()
    expect(await subscriber.waitForEnd()).toBe('end')
    await withTimeout(server.close(), 2000, 'fastify.close()')

    expect(
      logs.lines.filter((line) => /already sent|reply\.sent|hijack/i.test(JSON.stringify(line))),
    ).toEqual([])
    expect(logs.lines).toEqual([])
  })
})
