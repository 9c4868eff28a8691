/**
 * `@sse/client` on Bun and Deno, against a Node server on `@sse/express` with a hub: a real
 * process of each runtime runs `apps/client-runner.ts` (the client's built dist, through
 * node_modules), and the Node side cuts the connection, publishes what the client misses, and
 * checks that the reconnect resumes with `Last-Event-ID`. Node and Chromium run the client in
 * `packages/client/test` (`express.test.ts`, `browser.test.ts`).
 */

import type { Server } from 'node:http'
import { createHub, type Hub } from '@sse/core'
import { sseHub } from '@sse/express'
import { pollUntil, type StartedServer, startHttpServer } from '@sse/test-utils'
import express from 'express'
import { afterEach, describe, expect, it } from 'vitest'
import { CLIENT_CASES } from './client-cases.ts'
import { runScript, runtimeMissing } from './runtimes.ts'

type Events = { note: { text: string }; tick: string }

const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function startServer(): Promise<{
  server: StartedServer<Server>
  hub: Hub<Events>
  lastEventIds: string[]
}> {
  const hub = createHub<Events>({ heartbeat: false })
  cleanups.push(() => hub.close())
  const lastEventIds: string[] = []
  const app = express()
  app.get(
    '/events',
    (req, _res, next) => {
      lastEventIds.push(String(req.headers['last-event-id'] ?? ''))
      next()
    },
    sseHub<Events>({ hub, topics: () => ['news'] }),
  )
  const server = await startHttpServer(app)
  cleanups.push(() => server.close())
  return { server, hub, lastEventIds }
}

for (const runtime of ['bun', 'deno'] as const) {
  describe.skipIf(runtimeMissing(runtime))(`@sse/client on ${runtime}`, () => {
    it(`${CLIENT_CASES.typed}; ${CLIENT_CASES.resume}; ${CLIENT_CASES.close}`, async () => {
      const { server, hub, lastEventIds } = await startServer()
      const client = runScript(runtime, 'client-runner.ts', [`${server.url}/events`])
      cleanups.push(() => client.close())
      const resolved = await client.waitForLine((line) => line.kind === 'resolved', 'the client to load')
      expect(resolved.client).toMatch(/\/packages\/client\/dist\/index\.mjs$/)
      await client.waitForLine((line) => line.kind === 'open' && line.attempt === 0, 'the first open')
      await pollUntil(() => hub.size === 1, 10_000, 'the subscription')

      // Typed events: a JSON-decoded note and a string tick.
      const one = await hub.publish('news', { event: 'note', data: { text: 'one' } })
      await hub.publish('news', { event: 'tick', data: 'tock' })
      const two = await hub.publish('news', { event: 'note', data: { text: 'two' } })
      const events = () => client.lines.filter((line) => line.kind === 'event')
      await client.waitForLine(() => events().length === 3, 'three live events')
      expect(events().slice(0, 3)).toEqual([
        { kind: 'event', type: 'note', data: { text: 'one' }, lastEventId: one },
        { kind: 'event', type: 'tick', data: 'tock', lastEventId: expect.any(String) },
        { kind: 'event', type: 'note', data: { text: 'two' }, lastEventId: two },
      ])

      // The server cuts the connection; two events are published before the client is back.
      server.server.closeAllConnections()
      await client.waitForLine((line) => line.kind === 'reconnecting', 'the client noticing the cut')
      await pollUntil(() => hub.size === 0, 10_000, 'the hub noticing the cut')
      await hub.publish('news', { event: 'note', data: { text: 'three (missed)' } })
      await hub.publish('news', { event: 'note', data: { text: 'four (missed)' } })
      await client.waitForLine((line) => line.kind === 'open' && line.attempt !== 0, 'the reconnect')
      await client.waitForLine(() => events().length === 5, 'the replay of the missed events')
      await pollUntil(() => hub.size === 1, 10_000, 'the resubscription')
      await hub.publish('news', { event: 'note', data: { text: 'five' } })
      await client.waitForLine(() => events().length === 6, 'the live event after the replay')
      expect(lastEventIds).toEqual(['', two])
      expect(
        events().map((line) => (line.type === 'note' ? (line.data as { text: string }).text : line.data)),
      ).toEqual(['one', 'tock', 'two', 'three (missed)', 'four (missed)', 'five'])

      // close(): the client stops, the server sees it leave, and the process ends by itself.
      await hub.publish('news', { event: 'note', data: { text: 'close' } })
      const closed = await client.waitForLine((line) => line.kind === 'close', 'the client to close')
      expect(closed).toEqual({ kind: 'close', reason: 'close', readyState: 'closed' })
      await pollUntil(() => hub.size === 0, 10_000, 'the hub to see the client leave')
      expect(await client.exited()).toBe(0)
      expect(client.lines.filter((line) => line.kind === 'error')).toEqual([])
    })
  })
}
