/**
 * The graceful shutdown every adapter must allow: with many hub streams open, `hub.close()` ends
 * each with its final event and a `retry:`, and then the server's own `close()` completes, since
 * no response is left open (Node's `close()`, not the test server's destroy-everything close).
 */
import type { Hub } from '@sse/core'
import { expect } from 'vitest'
import type { EventStreamReader } from './read-events.ts'
import { pollUntil, withTimeout } from './with-timeout.ts'

/**
 * Opens `streams` hub streams (`url(i)` for the i-th), closes `hub` with a `bye` event, runs
 * `afterHubClose` if given, closes `server` with its own `close()`, and checks every stream ended
 * with `bye` after two `retry:` (the hub's as it subscribed, then close()'s).
 *
 * @example
 * await expectGracefulShutdown({ hub, open, server: started.server, url: (i) => `${started.url}/events?topic=t${i}` })
 */
export async function expectGracefulShutdown(options: {
  hub: Hub
  open: (url: string) => Promise<EventStreamReader>
  server: { close(callback: (error?: Error) => void): unknown }
  url: (i: number) => string
  streams?: number | undefined
  afterHubClose?: (() => Promise<unknown>) | undefined
}): Promise<void> {
  const { hub, open, server, url, streams = 100, afterHubClose } = options
  const readers = await Promise.all(Array.from({ length: streams }, (_, i) => open(url(i))))
  await pollUntil(
    () => hub.size === streams,
    10_000,
    () => `${streams} subscriptions, have ${hub.size}`,
  )
  await withTimeout(hub.close({ event: { event: 'bye', data: 'restarting' } }), 2000, 'hub.close()')
  expect(hub.size).toBe(0)
  await afterHubClose?.()
  await withTimeout(
    new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
    2000,
    'server.close() after hub.close()',
  )
  for (const reader of readers) {
    expect(await reader.waitForEnd()).toBe('end')
    expect(reader.events.at(-1)).toMatchObject({ event: 'bye', data: 'restarting' })
    expect(reader.retries).toHaveLength(2) // the hub's as it subscribed, then close()'s
  }
}
