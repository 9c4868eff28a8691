/**
 * Churn: many rapid connect/abort cycles, cut at every stage (before the request is out, after
 * it reached the server but before the head came back, after the head, after an event, during
 * a replay), must leave nothing behind: no hub entry, no topic, no open stream, no socket, no
 * timer, and no listener warning. Over HTTP/1.1 each client has its own socket; over HTTP/2 all
 * share one session, so a cancelled stream must be cleaned up while its connection stays up.
 */
import http from 'node:http'
import http2 from 'node:http2'
import { createHub, type EventStream, type Hub } from '@sse/core'
import { createNodeEventStream, type NodeRequest, type NodeResponse } from '@sse/core/node'
import { afterEach, describe, expect, it } from 'vitest'
import { pollUntil, startHttp2Server, startHttpServer, type TestServer, withTimeout } from '../src/index.ts'

const CYCLES = 200
const CONCURRENCY = 20

type Stage = 'at once' | 'request sent' | 'head' | 'first event' | 'replaying' | 'random'
const STAGES: readonly Stage[] = ['at once', 'request sent', 'head', 'first event', 'replaying', 'random']

let cleanup: Array<() => unknown> = []

afterEach(async () => {
  for (const step of cleanup.reverse()) await step()
  cleanup = []
})

/** Counts of active handles by type (`TCPSocketWrap`, `Timeout`, …). */
function activeResources(): Map<string, number> {
  const counts = new Map<string, number>()
  for (const type of process.getActiveResourcesInfo()) counts.set(type, (counts.get(type) ?? 0) + 1)
  return counts
}

/** Runs `abort` at `stage` of a request; `start` sends it, `onHead`/`onData` register for the response. */
function abortAt(
  stage: Stage,
  request: {
    start(): void
    sent(listener: () => void): void
    onHead(listener: () => void): void
    onData(listener: () => void): void
  },
  abort: () => void,
): void {
  switch (stage) {
    case 'at once':
      request.start()
      abort()
      break
    case 'request sent':
      request.sent(abort)
      request.start()
      break
    case 'head':
    case 'replaying':
      request.onHead(abort)
      request.start()
      break
    case 'first event':
      request.onData(abort)
      request.start()
      break
    case 'random': {
      let turns = Math.floor(Math.random() * 4)
      const tick = () => (turns-- <= 0 ? abort() : setImmediate(tick))
      request.start()
      tick()
      break
    }
  }
}

function headersFor(stage: Stage, lastEventId: string): Record<string, string> {
  return stage === 'replaying'
    ? { accept: 'text/event-stream', 'last-event-id': lastEventId }
    : { accept: 'text/event-stream' }
}

/** An HTTP/1.1 client on its own socket that aborts at `stage`; resolves once the socket closed. */
function cycleHttp1(url: string, stage: Stage, lastEventId: string): Promise<void> {
  const req = http.request(url, { agent: false, headers: headersFor(stage, lastEventId) })
  req.on('error', () => {}) // aborting is the point
  const closed = new Promise<void>((resolve) => req.once('close', resolve))
  abortAt(
    stage,
    {
      start: () => req.end(),
      sent: (listener) => req.once('finish', listener),
      onHead: (listener) => req.once('response', listener),
      onData: (listener) => req.once('response', (res) => res.once('data', listener)),
    },
    () => req.destroy(),
  )
  return withTimeout(closed, 5000, `an HTTP/1.1 client aborting at '${stage}' to close`)
}

/** An HTTP/2 stream on the shared session that is cancelled at `stage`. */
function cycleHttp2(
  session: http2.ClientHttp2Session,
  path: string,
  stage: Stage,
  lastEventId: string,
): Promise<void> {
  let stream: http2.ClientHttp2Stream | undefined
  const pending: Array<(stream: http2.ClientHttp2Stream) => void> = []
  let closed: Promise<void> = Promise.resolve()
  abortAt(
    stage,
    {
      start: () => {
        stream = session.request({ ':path': path, ...headersFor(stage, lastEventId) })
        stream.on('error', () => {})
        closed = new Promise<void>((resolve) => stream!.once('close', resolve))
        for (const register of pending) register(stream)
      },
      // The HEADERS frame goes out when the session next writes, within this turn of the loop.
      sent: (listener) => pending.push(() => setImmediate(listener)),
      onHead: (listener) => pending.push((s) => s.once('response', listener)),
      onData: (listener) => pending.push((s) => s.once('data', listener)),
    },
    () => stream?.close(http2.constants.NGHTTP2_CANCEL),
  )
  return withTimeout(closed, 5000, `an HTTP/2 stream cancelled at '${stage}' to close`)
}

/** A hub stream, a per-client stream, and both again behind an asynchronous step. */
const PATHS = ['/hub', '/stream', '/async/hub', '/async/stream'] as const

describe.each([
  { transport: 'HTTP/1.1', http2: false },
  { transport: 'HTTP/2', http2: true },
])('connect/abort churn over $transport', ({ http2: useHttp2 }) => {
  it(`leaves no stream, socket, timer or listener behind after ${CYCLES} cycles`, async () => {
    const warnings: Error[] = []
    const onWarning = (warning: Error) => warnings.push(warning)
    process.on('warning', onWarning)
    cleanup.push(() => process.off('warning', onWarning))

    const hub: Hub = createHub({ heartbeat: 50 })
    cleanup.push(() => hub.close({ retry: false }))
    let subscribes = 0
    let unsubscribes = 0
    hub.on('subscribe', () => subscribes++)
    hub.on('unsubscribe', () => unsubscribes++)
    const streams: EventStream[] = []
    const handler = async (req: NodeRequest, res: NodeResponse) => {
      const url = req.url ?? '/'
      // An asynchronous step before the stream exists, as an auth hook would take: the client
      // may be gone by the time the stream is created.
      if (url.startsWith('/async')) await new Promise((resolve) => setTimeout(resolve, 1))
      const stream = createNodeEventStream(req, res, { heartbeat: 50 })
      streams.push(stream)
      if (url.includes('/hub'))
        hub.subscribe(stream, { topics: ['churn', 'other'] }).catch(() => stream.close())
      else stream.send({ data: 'hello' })
    }
    const server: TestServer & { server: http.Server | http2.Http2Server } = useHttp2
      ? await startHttp2Server(handler)
      : await startHttpServer(handler)
    cleanup.push(() => server.close())

    const history: string[] = []
    for (let i = 0; i < 20; i++) history.push(await hub.publish('churn', { data: `old ${i}` }))
    let session: http2.ClientHttp2Session | undefined
    if (useHttp2) {
      const client = http2.connect(server.url)
      client.on('error', () => {})
      cleanup.push(() => client.destroy())
      await withTimeout(new Promise((resolve) => client.once('connect', resolve)), 5000, 'HTTP/2 connect')
      session = client
    }
    const baseline = activeResources()
    // Live traffic throughout, so aborts land between, during and after writes.
    const publisher = setInterval(() => void hub.publish('churn', { data: 'tick' }), 1)
    cleanup.push(() => clearInterval(publisher))

    for (let start = 0; start < CYCLES; start += CONCURRENCY) {
      await Promise.all(
        Array.from({ length: CONCURRENCY }, (_, k) => {
          const i = start + k
          const stage = STAGES[i % STAGES.length]!
          const path = PATHS[Math.floor(i / STAGES.length) % PATHS.length]!
          const lastEventId = history[i % history.length]!
          return session
            ? cycleHttp2(session, path, stage, lastEventId)
            : cycleHttp1(`${server.url}${path}`, stage, lastEventId)
        }),
      )
    }
    clearInterval(publisher)

    // Over HTTP/2 the session is still open here: each cancelled stream must have been freed on its own.
    await pollUntil(
      () => hub.size === 0 && hub.topics().size === 0 && streams.every((stream) => stream.closed),
      2000,
      () =>
        `hub.size ${hub.size}, topics ${[...hub.topics().keys()]}, open streams ${streams.filter((s) => !s.closed).length}`,
    )
    let open = -1
    await pollUntil(
      () => {
        server.server.getConnections((error, count) => {
          if (!error) open = count
        })
        return open === (useHttp2 ? 1 : 0)
      },
      2000,
      () => `the server's connections to close (has ${open})`,
    )
    await pollUntil(
      () => [...activeResources()].every(([type, count]) => count <= (baseline.get(type) ?? 0)),
      2000,
      () =>
        `active handles back to ${JSON.stringify([...baseline])}, are ${JSON.stringify([...activeResources()])}`,
    )

    expect(streams.length).toBeGreaterThan(CYCLES / 4)
    expect(subscribes).toBe(unsubscribes)
    expect(warnings.map(String)).toEqual([])
  })
})
