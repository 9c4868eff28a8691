/**
 * What a test opens, it closes: `useTestScope()` registers one `afterEach` that runs every step
 * deferred during the test, in reverse order, whatever the test did. Its openers (readers,
 * `EventSource`s, hubs, servers) defer their own closing, so a test says only what it opens.
 */
import { createHub, type DefaultEventMap, type Hub, type HubOptions } from '@sse/core'
import { afterEach } from 'vitest'
import { type EventStreamReader, type OpenEventStreamOptions, openEventStream } from './read-events.ts'
import {
  type EventSourceReader,
  type ReadWithEventSourceOptions,
  readWithEventSource,
} from './read-with-event-source.ts'
import type { TestServer } from './server.ts'

export interface TestScope {
  /** Runs `step` after the current test (steps run last first). */
  defer(step: () => unknown): void
  /** `openEventStream`, closed after the test. */
  open(url: string | URL, options?: OpenEventStreamOptions): Promise<EventStreamReader>
  /** `readWithEventSource`, closed after the test. */
  openSource(url: string | URL, options?: ReadWithEventSourceOptions): Promise<EventSourceReader>
  /** A hub without heartbeat unless `options` sets one, closed (with no `retry:`) after the test. */
  hub<M extends object = DefaultEventMap>(options?: HubOptions): Hub<M>
  /** Waits for a server to start; it is closed after the test. */
  serve<S extends TestServer>(starting: S | Promise<S>): Promise<S>
}

/**
 * Call once at the top of a test file (or of a `describe`).
 *
 * @example
 * const { open, hub: newHub, serve } = useTestScope()
 * it('streams', async () => {
 *   const hub = newHub()
 *   const server = await serve(startHttpServer(app))
 *   const reader = await open(`${server.url}/events`)
 * })
 */
export function useTestScope(): TestScope {
  const steps: Array<() => unknown> = []
  afterEach(async () => {
    for (const step of steps.splice(0).reverse()) await step()
  })
  const defer = (step: () => unknown): void => {
    steps.push(step)
  }
  return {
    defer,
    async open(url, options) {
      const reader = await openEventStream(url, options)
      defer(() => reader.close())
      return reader
    },
    async openSource(url, options) {
      const source = await readWithEventSource(url, options)
      defer(() => source.close())
      return source
    },
    hub<M extends object = DefaultEventMap>(options: HubOptions = {}): Hub<M> {
      const hub = createHub<M>({ heartbeat: false, ...options })
      defer(() => hub.close({ retry: false }))
      return hub
    },
    async serve(starting) {
      const server = await starting
      defer(() => server.close())
      return server
    },
  }
}
