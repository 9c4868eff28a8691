/**
 * The checks of an adapter's default `key` for the hub's per-key limit, which every adapter
 * runs against its own framework (the contract suite sets `key` itself): by default the key is
 * the client's address, and behind a trusted proxy it is the forwarded client's.
 */
import type { Hub } from '@sse/core'
import { expect } from 'vitest'
import { readAnswer } from './read-answer.ts'
import type { EventStreamReader, OpenEventStreamOptions } from './read-events.ts'
import { DEFAULT_TIMEOUT_MS, pollUntil } from './with-timeout.ts'

/** Opens an event stream that is closed after the test (`useTestScope().open`). */
type Open = (url: string, options?: OpenEventStreamOptions) => Promise<EventStreamReader>

/**
 * With `maxStreamsPerKey: 2` on `hub`: two streams from 127.0.0.1 to `keyed` are let in, the
 * third is answered 429 with `Retry-After: 5` and a JSON body; `unkeyed` (a route whose `key`
 * returns undefined) has no per-key limit; a stream that ends frees its place.
 *
 * @example
 * await expectKeyedByAddress({ hub, open, keyed: `${server.url}/events`, unkeyed: `${server.url}/unkeyed` })
 */
export async function expectKeyedByAddress(options: {
  hub: Hub
  open: Open
  keyed: string
  unkeyed: string
  http2?: boolean | undefined
}): Promise<void> {
  const { hub, open, keyed, unkeyed, http2 } = options
  const [first, second] = [await open(keyed, { http2 }), await open(keyed, { http2 })]
  expect([first.status, second.status]).toEqual([200, 200])
  await pollUntil(() => hub.size === 2, DEFAULT_TIMEOUT_MS, 'two streams of one client')
  expect(hub.keySize('127.0.0.1')).toBe(2)

  const third = await readAnswer(keyed, { http2 })
  expect(third).toMatchObject({ status: 429, stream: false })
  expect(third.headers['retry-after']).toBe('5')
  expect(third.headers['content-type']).toBe('application/json; charset=utf-8')
  expect(JSON.parse(third.body)).toEqual({ error: expect.any(String) })
  // A route whose key returns undefined has no per-key limit.
  expect((await open(unkeyed, { http2 })).status).toBe(200)
  await pollUntil(() => hub.size === 3, DEFAULT_TIMEOUT_MS, 'the unkeyed stream to subscribe')

  await first.close()
  await pollUntil(
    () => hub.keySize('127.0.0.1') === 1,
    DEFAULT_TIMEOUT_MS,
    'the closed stream to free its place',
  )
  expect((await open(keyed, { http2 })).status).toBe(200)
}

/**
 * With `maxStreamsPerKey: 1` on `hub` and the framework trusting the proxy on loopback: two
 * forwarded clients (`X-Forwarded-For`) each get a stream, the first is refused a second one
 * (429), and nothing is counted against the proxy's own address.
 *
 * @example
 * await expectKeyedByForwardedFor({ hub, open, url: `${server.url}/events` })
 */
export async function expectKeyedByForwardedFor(options: {
  hub: Hub
  open: Open
  url: string
}): Promise<void> {
  const { hub, open, url } = options
  const forwarded = (address: string) => ({ 'x-forwarded-for': address })
  const ann = await open(url, { headers: forwarded('203.0.113.7') })
  const bob = await open(url, { headers: forwarded('203.0.113.8') })
  expect([ann.status, bob.status]).toEqual([200, 200])
  await pollUntil(() => hub.size === 2, DEFAULT_TIMEOUT_MS, 'one stream per forwarded client')
  expect((await readAnswer(url, { headers: forwarded('203.0.113.7') })).status).toBe(429)
  expect(hub.keySize('203.0.113.7')).toBe(1)
  expect(hub.keySize('127.0.0.1')).toBe(0)
}
