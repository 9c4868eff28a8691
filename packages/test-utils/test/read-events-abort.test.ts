/**
 * A reader closed before the response head must settle at once, over HTTP/2 as over HTTP/1.1
 * (found while testing the Koa adapter).
 */
import { once } from 'node:events'
import { afterEach, it } from 'vitest'
import { openEventStream, pollUntil, startHttp2Server, withTimeout } from '../src/index.ts'

const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/**
 * Closing an HTTP/2 stream before its head emits no 'error', only 'close': the reader used to
 * wait for its head deadline and then fail with a misleading DeadlineError.
 */
it('HTTP/2: openEventStream rejects as soon as its signal aborts before the response head', async () => {
  let requests = 0
  const server = await startHttp2Server(async (_req, res) => {
    requests++
    await once(res, 'close') // never answers: an async step the client does not wait for
  })
  cleanups.push(() => server.close())
  const controller = new AbortController()
  const opening = openEventStream(server.url, { http2: true, signal: controller.signal, timeoutMs: 4000 })
  const settled = opening.then(
    () => 'resolved',
    (error: Error) => error.name,
  )
  await pollUntil(() => requests === 1, 2000, 'the server to receive the request')
  controller.abort()
  // Far below the 4 s head deadline: an abort settles at once over HTTP/1.1.
  await withTimeout(settled, 1000, 'openEventStream to settle after its signal aborted')
})
