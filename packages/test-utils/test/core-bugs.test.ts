/**
 * Bugs found in `@sse/core`, each shown by a minimal test over a real socket. An open one is
 * marked `it.fails`: the run stays green while the bug is there, and turns red once it is
 * fixed, as a reminder to drop `.fails`; the test then stays as a guard.
 */
import http2 from 'node:http2'
import net from 'node:net'
import { createEventStream, createHub, type EventStream } from '@sse/core'
import { createNodeEventStream, createNodeSink } from '@sse/core/node'
import { afterEach, expect, it } from 'vitest'
import { pollUntil, startHttp2Server, startHttpServer } from '../src/index.ts'

let cleanup: Array<() => unknown> = []

afterEach(async () => {
  for (const step of cleanup.reverse()) await step()
  cleanup = []
})

/**
 * Fixed in core (4caaf17): packages/core/src/node.ts `createNodeSink` only checked
 * `response.destroyed || response.writableEnded`; an `Http2ServerResponse` has no `destroyed`
 * and keeps `writableEnded` false after the client's RST_STREAM, while its 'close' had already
 * fired. A sink created after an asynchronous step (an auth hook) for a cancelled request never
 * aborted, and its stream stayed subscribed to the hub for good. Kept as a guard.
 */
it('HTTP/2: a sink created after the client cancelled the stream aborts at once', async () => {
  const hub = createHub({ heartbeat: false })
  cleanup.push(() => hub.close({ retry: false }))
  const created: EventStream[] = []
  let cancelled: () => void = () => {}
  const clientGone = new Promise<void>((resolve) => {
    cancelled = resolve
  })
  let entered = false
  const server = await startHttp2Server(async (req, res) => {
    entered = true
    res.once('close', cancelled)
    await clientGone // e.g. an auth hook still running when the client leaves
    const stream = createEventStream(createNodeSink(req, res), { heartbeat: false })
    created.push(stream)
    await hub.subscribe(stream, { topics: ['t'] })
  })
  cleanup.push(() => server.close())
  const session = http2.connect(server.url)
  session.on('error', () => {})
  cleanup.push(async () => session.destroy())
  const request = session.request({ ':path': '/' })
  request.on('error', () => {})
  await pollUntil(() => entered, 2000, 'the handler to receive the request')
  request.close(http2.constants.NGHTTP2_CANCEL)
  await pollUntil(() => created.length === 1, 2000, 'the handler to create the stream')
  // The session (the TCP connection) stays up, as it does for a browser with other tabs open.
  await pollUntil(
    () => created[0]!.signal.aborted && hub.size === 0,
    1000,
    () => `the stream to abort (aborted: ${created[0]!.signal.aborted}, hub.size ${hub.size})`,
  )
})

/**
 * Node joins a repeated `Last-Event-ID` header into one string, `'abc-1, abc-2'`, so wiring
 * `lastEventId: req.headers['last-event-id']` took the joined value for an id. Fixed by
 * `createNodeEventStream`/`lastEventIdOf` in `@sse/core/node`, which read `headersDistinct`
 * (an array when repeated, which `readLastEventId` treats as absent).
 */
it('a repeated Last-Event-ID header is treated as absent, as documented', async () => {
  let lastEventId: string | undefined = 'not read yet'
  const server = await startHttpServer((req, res) => {
    const stream = createNodeEventStream(req, res, { heartbeat: false })
    lastEventId = stream.lastEventId
    stream.close()
  })
  cleanup.push(() => server.close())
  const socket = net.connect(Number(new URL(server.url).port), '127.0.0.1')
  socket.on('error', () => {})
  cleanup.push(async () => socket.destroy())
  socket.write('GET / HTTP/1.1\r\nHost: x\r\nLast-Event-ID: abc-1\r\nLast-Event-ID: abc-2\r\n\r\n')
  socket.resume()
  await pollUntil(() => lastEventId !== 'not read yet', 2000, 'the server to read the request')
  expect(lastEventId).toBeUndefined()
})
