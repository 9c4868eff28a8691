/**
 * Redirects, against real `node:http` servers on port 0: two ports are two origins. The client
 * follows a redirect itself (fetch's `redirect: 'manual'`) only within the origin it was given,
 * as fetch would (method, body, at most 20 hops); a redirect to another origin stops it with
 * `SSE_CLIENT_REDIRECT` before any request goes there, so the app's headers, `Last-Event-ID` and
 * body never leave the origin. Every wait has a deadline; every client and server is closed.
 */
import { createNodeEventStream } from '@sse/core/node'
import { afterEach, describe, expect, it } from 'vitest'
import { connect } from '../src/index.ts'
import { closeOpened, createManualTimers, type RecordingServer, record, server, track } from './helpers.ts'

afterEach(async () => {
  await closeOpened()
})

/** The other origin: an event stream that would gladly take whatever the client sends. */
function otherOrigin(): Promise<RecordingServer> {
  return server((req, res) => {
    createNodeEventStream(req, res, { heartbeat: false }).send({ data: 'from the other origin' })
  })
}

/** What an app sends that must stay with its origin: a token, a resume point and a body. */
const SECRETS = {
  method: 'POST',
  body: 'secret body',
  headers: { Authorization: 'Bearer secret-token', 'Content-Type': 'text/plain' },
  lastEventId: '7',
} as const

describe('a redirect to another origin', () => {
  it.each([302, 307])(
    '%i stops with SSE_CLIENT_REDIRECT; the other origin gets no request',
    async (status) => {
      const other = await otherOrigin()
      const origin = await server((_req, res) => {
        res.writeHead(status, { Location: `${other.url}/events` }).end()
      })
      const source = track(connect(`${origin.url}/events`, SECRETS))
      const seen = record(source)
      await seen.until(() => seen.closes.length === 1, 'the client to stop')
      expect(seen.errors).toMatchObject([{ code: 'SSE_CLIENT_REDIRECT', status }])
      expect(seen.errors[0]?.message).toContain(`${other.url}/events`)
      expect(seen.closes).toMatchObject([{ reason: 'error', error: { code: 'SSE_CLIENT_REDIRECT' } }])
      expect(seen.reconnecting).toEqual([])
      // The origin got everything; the other one nothing: no Authorization, Last-Event-ID or body.
      expect(origin.requests).toMatchObject([
        { method: 'POST', body: 'secret body', headers: { authorization: 'Bearer secret-token' } },
      ])
      expect(origin.requests[0]?.headers['last-event-id']).toBe('7')
      expect(other.requests).toEqual([])
    },
  )

  it('stops at the first hop that leaves the origin, after following same-origin ones', async () => {
    const other = await otherOrigin()
    const origin = await server((req, res) => {
      if (req.url === '/events') return res.writeHead(302, { Location: '/moved' }).end()
      return res.writeHead(307, { Location: `${other.url}/events` }).end()
    })
    const source = track(connect(`${origin.url}/events`, SECRETS))
    const seen = record(source)
    await seen.until(() => seen.closes.length === 1, 'the client to stop')
    expect(seen.errors).toMatchObject([{ code: 'SSE_CLIENT_REDIRECT', status: 307 }])
    expect(origin.requests.map(({ url }) => url)).toEqual(['/events', '/moved'])
    expect(other.requests).toEqual([])
  })

  it('counts http to https on the same host as another origin', async () => {
    const origin = await server((_req, res) => {
      res.writeHead(301, { Location: 'https://127.0.0.1/events' }).end()
    })
    const source = track(connect(`${origin.url}/events`))
    const seen = record(source)
    await seen.until(() => seen.closes.length === 1, 'the client to stop')
    expect(seen.errors).toMatchObject([{ code: 'SSE_CLIENT_REDIRECT', status: 301 }])
    expect(seen.errors[0]?.message).toMatch(/connect to .*https:\/\/127\.0\.0\.1\/events/)
  })
})

describe('a redirect within the origin', () => {
  it('is followed with the same headers and Last-Event-ID; reconnections start at the URL given', async () => {
    const origin = await server((req, res, index) => {
      if (req.url === '/events') return res.writeHead(302, { Location: '/stream' }).end()
      const stream = createNodeEventStream(req, res, { heartbeat: false })
      stream.send({ data: `stream ${index}`, id: `id-${index}` })
      stream.close()
      return undefined
    })
    const manual = createManualTimers()
    const source = track(
      connect(`${origin.url}/events`, {
        timers: manual.timers,
        headers: { Authorization: 'Bearer secret-token' },
        lastEventId: '7',
      }),
    )
    const seen = record(source)
    await seen.until(() => seen.reconnecting.length === 1, 'the first stream to end')
    manual.fire(await manual.next('the backoff'))
    await seen.until(() => seen.messages.length === 2, 'the second stream')
    expect(seen.errors).toEqual([])
    expect(seen.opens).toMatchObject([
      { attempt: 0, status: 200 },
      { attempt: 1, status: 200 },
    ])
    expect(
      origin.requests.map(({ url, headers }) => [url, headers.authorization, headers['last-event-id']]),
    ).toEqual([
      ['/events', 'Bearer secret-token', '7'],
      ['/stream', 'Bearer secret-token', '7'],
      ['/events', 'Bearer secret-token', 'id-1'],
      ['/stream', 'Bearer secret-token', 'id-1'],
    ])
  })

  // fetch's rules (https://fetch.spec.whatwg.org/#http-redirect-fetch): 301 and 302 turn a POST
  // into a GET, 303 turns anything but GET and HEAD into one, dropping the body and its headers;
  // 307 and 308 repeat the request as it was.
  it.each([
    [301, 'GET', ''],
    [302, 'GET', ''],
    [303, 'GET', ''],
    [307, 'POST', 'secret body'],
    [308, 'POST', 'secret body'],
  ])('%i repeats the request as fetch would: %s', async (status, method, body) => {
    const origin = await server((req, res) => {
      if (req.url === '/events') return res.writeHead(status, { Location: '/stream' }).end()
      createNodeEventStream(req, res, { heartbeat: false }).send({ data: 'ok' })
      return undefined
    })
    const source = track(connect(`${origin.url}/events`, SECRETS))
    const seen = record(source)
    await seen.until(() => seen.messages.length === 1, 'the stream')
    const [, hop] = origin.requests
    expect(hop).toMatchObject({ url: '/stream', method, body })
    expect(hop?.headers.authorization).toBe('Bearer secret-token')
    expect(hop?.headers['last-event-id']).toBe('7')
    expect(hop?.headers['content-type']).toBe(method === 'GET' ? undefined : 'text/plain')
  })

  it('stops after 20 redirects, as fetch does', async () => {
    const origin = await server((req, res) => {
      const n = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('n') ?? 0)
      res.writeHead(302, { Location: `/loop?n=${n + 1}` }).end()
    })
    const source = track(connect(`${origin.url}/loop`))
    const seen = record(source)
    await seen.until(() => seen.closes.length === 1, 'the client to stop')
    expect(seen.errors).toMatchObject([{ code: 'SSE_CLIENT_REDIRECT', status: 302 }])
    expect(seen.errors[0]?.message).toMatch(/more than 20 redirects/)
    expect(origin.requests).toHaveLength(21)
    expect(seen.reconnecting).toEqual([])
  })

  it('stops on a 307 when the body was a stream, which cannot be sent twice', async () => {
    const origin = await server((req, res) => {
      if (req.url === '/events') return res.writeHead(307, { Location: '/stream' }).end()
      createNodeEventStream(req, res, { heartbeat: false }).send({ data: 'ok' })
      return undefined
    })
    const body = () =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('streamed'))
          controller.close()
        },
      })
    const source = track(connect(`${origin.url}/events`, { method: 'POST', body }))
    const seen = record(source)
    await seen.until(() => seen.closes.length === 1, 'the client to stop')
    expect(seen.errors).toMatchObject([{ code: 'SSE_CLIENT_REDIRECT', status: 307 }])
    expect(seen.errors[0]?.message).toMatch(/stream/)
    expect(origin.requests.map(({ url, body }) => [url, body])).toEqual([['/events', 'streamed']])
  })
})

describe('a redirect that cannot be followed', () => {
  it('without Location is a refused status, as before', async () => {
    const origin = await server((_req, res) => res.writeHead(302).end('moved, somewhere'))
    const source = track(connect(`${origin.url}/events`))
    const seen = record(source)
    await seen.until(() => seen.closes.length === 1, 'the client to stop')
    expect(seen.errors).toMatchObject([
      { code: 'SSE_CLIENT_HTTP_STATUS', status: 302, body: 'moved, somewhere' },
    ])
  })

  it('with a Location that is not a URL stops with SSE_CLIENT_REDIRECT', async () => {
    const origin = await server((_req, res) => res.writeHead(302, { Location: 'http://[bad' }).end())
    const source = track(connect(`${origin.url}/events`))
    const seen = record(source)
    await seen.until(() => seen.closes.length === 1, 'the client to stop')
    expect(seen.errors).toMatchObject([{ code: 'SSE_CLIENT_REDIRECT', status: 302 }])
    expect(origin.requests).toHaveLength(1)
  })
})
