/**
 * The check of the replay cases read with the `eventsource` client (the contract's hub route,
 * Express across a hub restart, Fastify after the server ended the response): the client read
 * `one` and the named `two`, missed `three` and the named `four` while it was away, got `five`
 * once it was back, and must hold exactly those five, in order, the missed two replayed.
 */
import type { HubStats } from '@sse/core'
import { expect } from 'vitest'
import type { EventSourceReader } from './read-with-event-source.ts'

/**
 * @example
 * await hub.publish('feed', { data: 'five' })
 * await expectFeedResumed(source, hub)
 */
export async function expectFeedResumed(
  source: EventSourceReader,
  hub: { readonly stats: HubStats },
): Promise<void> {
  const messages = await source.waitFor(5)
  expect(messages.map(({ type, data }) => `${type} ${data}`)).toEqual([
    'message one',
    'named two',
    'message three',
    'named four',
    'message five',
  ])
  // The reconnect asked from the last event read, and only the two missed came from history.
  expect(source.requests[1]?.['last-event-id']).toBe(messages[1]!.lastEventId)
  expect(hub.stats.replayed).toBe(2)
}
