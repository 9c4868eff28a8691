/**
 * Without injected timers the client calls the global `setTimeout` at each use, so
 * `vi.useFakeTimers()` drives it. A stub `fetch` keeps everything in microtasks: no socket, no
 * real time. After an abort, `vi.getTimerCount()` proves nothing is left scheduled.
 */
import { afterEach, expect, it, vi } from 'vitest'
import { connect } from '../src/index.ts'
import { record, seededRandom } from './helpers.ts'

afterEach(() => {
  vi.useRealTimers()
})

const URL = 'http://127.0.0.1:9/events'

it('drives the backoff with fake global timers; an abort leaves no timer', async () => {
  vi.useFakeTimers()
  const fetch = vi.fn(async () => new Response('busy', { status: 503 }))
  const controller = new AbortController()
  const source = connect(URL, {
    fetch,
    signal: controller.signal,
    reconnect: { initialDelay: 100, maxDelay: 400, random: seededRandom(7) },
  })
  const seen = record(source)
  await vi.advanceTimersByTimeAsync(0)
  expect(fetch).toHaveBeenCalledTimes(1)
  expect(vi.getTimerCount()).toBe(1)
  for (let attempt = 1; attempt <= 5; attempt++) {
    const { delay } = seen.reconnecting.at(-1)!
    await vi.advanceTimersByTimeAsync(Math.max(0, delay - 1))
    expect(fetch).toHaveBeenCalledTimes(attempt) // not a moment early
    await vi.advanceTimersByTimeAsync(1)
    expect(fetch).toHaveBeenCalledTimes(attempt + 1)
  }
  const draws = seededRandom(7)
  expect(seen.reconnecting.map(({ delay }) => delay)).toEqual(
    [100, 200, 400, 400, 400, 400].map((ceiling) => Math.round(draws() * ceiling)),
  )
  controller.abort()
  expect(vi.getTimerCount()).toBe(0)
  expect(seen.closes).toEqual([{ reason: 'abort', error: undefined }])
  await vi.advanceTimersByTimeAsync(60_000)
  expect(fetch).toHaveBeenCalledTimes(6)
})

it('leaves no timer after close() while streaming with an idle watchdog', async () => {
  vi.useFakeTimers()
  const fetch = vi.fn(
    async (_url: string, init: RequestInit) =>
      new Response(
        new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode(': hi\n\ndata: one\n\n'))
            init.signal?.addEventListener('abort', () => controller.error(init.signal?.reason))
          },
        }),
        { headers: { 'Content-Type': 'text/event-stream' } },
      ),
  )
  const source = connect(URL, { fetch, idleTimeout: 30_000 })
  const seen = record(source)
  await vi.advanceTimersByTimeAsync(0)
  expect(seen.messages.map(({ data }) => data)).toEqual(['one'])
  expect(vi.getTimerCount()).toBe(1)
  source.close()
  expect(vi.getTimerCount()).toBe(0)
  expect(fetch.mock.calls[0]?.[1].signal?.aborted).toBe(true)
})
