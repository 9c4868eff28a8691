/**
 * A client that leaves while the hub route's `authorize` is still pending (a session lookup
 * still running) must never be subscribed once `authorize` returns `true`. `heldAuthorize()`
 * gives the route an `authorize` that waits to be released, and runs the case against it.
 */
import type { Hub } from '@sse/core'
import { expect } from 'vitest'
import { type OpenEventStreamOptions, openEventStream } from './read-events.ts'
import { DEFAULT_TIMEOUT_MS, pollUntil, withTimeout } from './with-timeout.ts'

export interface HeldAuthorize {
  /** The route's `authorize`: waits until the case releases it, then allows. */
  authorize(): Promise<true>
  /** Call it from the framework's hook on the response's `close` (the server saw the client leave). */
  sawClose(): void
  /**
   * Opens `url`, leaves once `authorize` runs, releases it once the server saw the client leave,
   * and checks that `hub` subscribed nothing.
   */
  expectNotSubscribed(
    hub: Hub,
    url: string,
    options?: Pick<OpenEventStreamOptions, 'http2' | 'timeoutMs'>,
  ): Promise<void>
}

/**
 * @example
 * const held = heldAuthorize()
 * app.get('/events', (_req, res, next) => { res.once('close', held.sawClose); next() }, sseHub({ hub, topics, authorize: held.authorize }))
 * await held.expectNotSubscribed(hub, `${server.url}/events`)
 */
export function heldAuthorize(): HeldAuthorize {
  let entered = false
  let serverSawClose = false
  let returned = false
  let release = () => {}
  const released = new Promise<void>((resolve) => {
    release = resolve
  })
  return {
    async authorize() {
      entered = true
      await released
      returned = true
      return true
    },
    sawClose() {
      serverSawClose = true
    },
    async expectNotSubscribed(hub, url, options = {}) {
      let subscribed = 0
      hub.on('subscribe', () => subscribed++)
      const controller = new AbortController()
      const opening = openEventStream(url, { ...options, signal: controller.signal }).then(
        () => 'opened',
        () => 'aborted',
      )
      await pollUntil(() => entered, DEFAULT_TIMEOUT_MS, 'authorize to start')
      controller.abort()
      await pollUntil(() => serverSawClose, DEFAULT_TIMEOUT_MS, 'the server to see the client leave')
      release()
      await pollUntil(() => returned, DEFAULT_TIMEOUT_MS, 'authorize to return')
      // The rest of the handler runs in microtasks: one macrotask later it is done.
      await new Promise((resolve) => setImmediate(resolve))
      expect(subscribed).toBe(0)
      expect(hub.size).toBe(0)
      expect(await withTimeout(opening, DEFAULT_TIMEOUT_MS, 'the aborted request to settle')).toBe('aborted')
    },
  }
}
