/**
 * Bugs in `@sse/core` first seen through Hono, kept as guards: a server-side close used to drop
 * the events still queued for a slow client (fixed in core's EventStream).
 */
import type { EventStream } from '@sse/core'
import { pollUntil, readResponse, useTestScope } from '@sse/test-utils'
import { Hono } from 'hono'
import { expect, it } from 'vitest'
import { sse, sseHub } from '../src/index.ts'

const scope = useTestScope()

/**
 * OPEN. packages/core/src/event-stream.ts, `#finish()`: it sets `this.#queue = undefined` for
 * every reason, so frames that `send()` accepted (returned `true`) while the transport was full
 * are thrown away by a server-side `close()`: neither delivered nor counted in `droppedEvents`.
 * A client that was briefly slow loses the last events of a per-client stream (an LLM answer's
 * `done`), and `hub.close()` loses the final event and the jittered `retry:` it writes just
 * before closing (next test), so those clients reconnect at once, together.
 * Fix: in `#finish`, when `reason === 'server'` and the queue is not empty, hand it to the sink
 * (`sink.write(concat(queue))`, bounded by `maxBufferedBytes`) before `sink.close()`; keep
 * discarding on 'overflow' and 'client'. (A Node sink might then want a grace period before it
 * destroys a socket whose peer never drains, so that `server.close()` stays prompt.)
 */
it('close() delivers the events send() accepted while the client was not reading', async () => {
  let stream: EventStream | undefined
  const app = new Hono()
  app.get('/stream', (c) =>
    sse(
      c,
      (opened) => {
        stream = opened
      },
      { heartbeat: false, highWaterMark: 16 },
    ),
  )
  const response = await app.request('/stream')
  expect(stream!.send({ data: 'first, fills the body' })).toBe(true)
  expect(stream!.send({ data: 'second, queued in core' })).toBe(true)
  expect(stream!.bufferedBytes).toBeGreaterThan(0)
  expect(stream!.droppedEvents).toBe(0)
  stream!.close()
  const reader = readResponse(response)
  await reader.waitForEnd()
  expect(reader.events.map((event) => event.data)).toEqual([
    'first, fills the body',
    'second, queued in core',
  ])
})

it('hub.close() delivers its final event and retry to a stream that is backed up', async () => {
  const hub = scope.hub()
  const app = new Hono()
  app.get('/hub', sseHub({ hub, topics: () => ['news'], highWaterMark: 16 }))
  const response = await app.request('/hub')
  await pollUntil(() => hub.size === 1, 5000, 'the hub to subscribe the request')
  await hub.publish('news', { data: 'fills the body' })
  await hub.close({ event: { event: 'bye', data: 'restarting' } })
  const reader = readResponse(response)
  await reader.waitForEnd()
  expect(reader.events.map((event) => event.event ?? 'message')).toEqual(['message', 'bye'])
  expect(reader.retries).toHaveLength(2) // the hub's as it subscribed, then close()'s
})
