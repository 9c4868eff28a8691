/**
 * Known bugs in `@sse/core`, each shown by a minimal test over a real socket. They are marked
 * `it.fails`: the run stays green while the bug is there, and turns red once it is fixed, as
 * a reminder to drop `.fails` (the test then guards the fix).
 */
import http2 from 'node:http2'
import { createEventStream, createHub, type EventStream } from '@sse/core'
import { createNodeSink } from '@sse/core/node'
import { afterEach, expect, it } from 'vitest'
import { pollUntil, startHttp2Server, withTimeout } from '../src/index.ts'

let cleanup: Array<() => unknown> = []

afterEach(async () => {
  for (const step of cleanup.reverse()) await step()
  cleanup = []
})

/**
 * packages/core/src/node.ts, `createNodeSink`, the check `response.destroyed || response.writableEnded`:
 * an `Http2ServerResponse` has no `destroyed` property, and its `writableEnded` stays false when
 * the client cancels the stream (RST_STREAM), while its 'close' event has already fired. So a
 * sink created after an asynchronous step (an auth hook, a database lookup) for a request whose
 * client already left never aborts: the stream stays open and subscribed to the hub for good
 * (a leak per cancelled request), and every publish writes to it.
 * Fix: also treat the response as gone when its HTTP/2 stream is: `res.stream?.destroyed === true`
 * (true here, checked on Node 20), e.g. add `readonly stream?: { readonly destroyed: boolean }`
 * to `AnyResponse` and test `response.stream?.destroyed` next to `response.destroyed`.
 */
it.fails('HTTP/2: a sink created after the client cancelled the stream aborts at once', async () => {
  const hub = createHub({ heartbeat: false })
  cleanup.push(() => hub.close({ retry: false }))
  const created: EventStream[] = []
  const server = await startHttp2Server(async (req, res) => {
    await new Promise((resolve) => setTimeout(resolve, 100)) // e.g. an auth hook
    const stream = createEventStream(createNodeSink(req, res), { heartbeat: false })
    created.push(stream)
    await hub.subscribe(stream, { topics: ['t'] })
  })
  cleanup.push(() => server.close())
  const session = http2.connect(server.url)
  session.on('error', () => {})
  cleanup.push(() => session.destroy())
  const request = session.request({ ':path': '/' })
  request.on('error', () => {})
  await withTimeout(new Promise((resolve) => request.once('ready', resolve)), 2000, 'the request to go out')
  request.close(http2.constants.NGHTTP2_CANCEL)
  await pollUntil(() => created.length === 1, 2000, 'the handler to create the stream')
  // The session (the TCP connection) stays up, as it does for a browser with other tabs.
  await pollUntil(
    () => created[0]!.signal.aborted && hub.size === 0,
    1000,
    () => `the stream to abort (aborted: ${created[0]!.signal.aborted}, hub.size ${hub.size})`,
  )
  expect(hub.size).toBe(0)
})
