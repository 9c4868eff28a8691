/**
 * Contract cases read with a real client, the `eventsource` package (HTTP/1.1 only): named
 * events, and reconnects with `Last-Event-ID` on the per-client route and on the hub route.
 */
import { expect } from 'vitest'
import { expectFeedResumed } from '../expect-feed-resumed.ts'
import type { ContractCases } from './suite.ts'

export function eventSourceCases({ s, withEventSource }: ContractCases): void {
  withEventSource(
    'works with the eventsource client: named events, then a reconnect with Last-Event-ID',
    async () => {
      s.streamOptions = { heartbeat: false }
      const source = await s.openSource(s.streamUrl(), { eventNames: ['greeting'] })
      const stream = await s.nextStream()
      expect(stream.lastEventId).toBeUndefined()
      stream.send({ id: '1', data: 'unnamed' })
      stream.send({ id: '2', event: 'greeting', data: 'named' })
      await source.waitFor(2)
      // The server ends the stream, asking for a quick reconnect.
      stream.send({ retry: 20 })
      stream.close()
      const again = await s.nextStream()
      expect(again.lastEventId).toBe('2')
      expect(source.requests.at(-1)?.['last-event-id']).toBe('2')
      again.send({ id: '3', data: 'resumed' })
      const messages = await source.waitFor(3)
      expect(messages.map(({ type, data, lastEventId }) => [type, data, lastEventId])).toEqual([
        ['message', 'unnamed', '1'],
        ['greeting', 'named', '2'],
        ['message', 'resumed', '3'],
      ])
      expect(source.opens).toBe(2)
    },
  )

  withEventSource(
    'works with the eventsource client on the hub: resumes exactly the missed events',
    async () => {
      const source = await s.openSource(s.hubUrl(['es']), { eventNames: ['named'] })
      await s.hubSize(1)
      await s.hub.publish('es', { data: 'one' })
      await s.hub.publish('es', { event: 'named', data: 'two' })
      await source.waitFor(2)
      const [first] = s.hub.subscribed
      // The server ends the stream; two events are published before the client is back.
      first!.send({ retry: 20 })
      first!.close()
      const missed = [
        s.hub.publish('es', { data: 'three' }),
        s.hub.publish('es', { event: 'named', data: 'four' }),
      ]
      await Promise.all(missed)
      await source.waitForOpens(2)
      await s.hubSize(1)
      await s.hub.publish('es', { data: 'five' })
      await expectFeedResumed(source, s.hub)
    },
  )
}
