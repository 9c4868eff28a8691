/**
 * `connect` against `@sse/express` over a hub: what an app built on this repository sees. A
 * dropped connection resumes exactly where it stopped (the hub replays by `Last-Event-ID`), and a
 * server restart, which loses the hub's history, surfaces as `onReset` so the app refetches.
 */
import { RESET_EVENT as CORE_RESET_EVENT, createHub, type Hub } from '@sse/core'
import { sseHub } from '@sse/express'
import { pollUntil, startHttpServer } from '@sse/test-utils'
import express from 'express'
import { afterEach, describe, expect, it } from 'vitest'
import { connect, RESET_EVENT } from '../src/index.ts'
import { createManualTimers, DEADLINE_MS, record } from './helpers.ts'

type Events = { note: { text: string } }

const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** An Express app serving `/events` from whichever hub is current, so a test can "restart" it. */
async function startApp(first: Hub<Events>) {
  let hub = first
  let route = sseHub<Events>({ hub, topics: () => ['news'] })
  const app = express()
  app.get('/events', (req, res, next) => route(req, res, next))
  const server = await startHttpServer(app)
  cleanups.push(() => server.close())
  return {
    ...server,
    get hub() {
      return hub
    },
    /** Swaps in a fresh hub (a new process: new epoch, no history) and closes the old one. */
    async restart(): Promise<Hub<Events>> {
      const old = hub
      hub = createHub<Events>({ heartbeat: false })
      cleanups.push(() => hub.close())
      route = sseHub<Events>({ hub, topics: () => ['news'] })
      await old.close()
      return hub
    },
  }
}

describe('@sse/express with a hub', () => {
  it('uses the same reset event name as @sse/core', () => {
    expect(RESET_EVENT).toBe(CORE_RESET_EVENT)
  })

  it('resumes after the connection drops: missed events replayed once, in order, then live', async () => {
    const hub = createHub<Events>({ heartbeat: false })
    cleanups.push(() => hub.close())
    const app = await startApp(hub)
    const manual = createManualTimers()
    const source = connect<Events>(`${app.url}/events`, { json: true, timers: manual.timers })
    cleanups.push(() => source.close())
    const seen = record<Events['note']>(source, ['note'])
    await seen.until(() => seen.opens.length === 1, 'the stream to open')
    await pollUntil(() => hub.size === 1, DEADLINE_MS, 'the subscription')
    await hub.publish('news', { event: 'note', data: { text: 'one' } })
    await hub.publish('news', { event: 'note', data: { text: 'two' } })
    await seen.until(() => seen.messages.length === 2, 'two live events')

    app.server.closeAllConnections() // the network drops
    await seen.until(() => seen.reconnecting.length === 1, 'the client noticing')
    await pollUntil(() => hub.size === 0, DEADLINE_MS, 'the hub noticing')
    await hub.publish('news', { event: 'note', data: { text: 'three (missed)' } })
    await hub.publish('news', { event: 'note', data: { text: 'four (missed)' } })

    manual.fire(await manual.next('the backoff'))
    await seen.until(() => seen.messages.length === 4, 'the replay')
    await pollUntil(() => hub.size === 1, DEADLINE_MS, 'the resubscription')
    await hub.publish('news', { event: 'note', data: { text: 'five' } })
    await seen.until(() => seen.messages.length === 5, 'the live event after the replay')

    expect(seen.messages.map(({ data }) => data.text)).toEqual([
      'one',
      'two',
      'three (missed)',
      'four (missed)',
      'five',
    ])
    expect(new Set(seen.messages.map(({ lastEventId }) => lastEventId)).size).toBe(5)
    expect(seen.resets).toEqual([])
    expect(seen.opens.map(({ attempt }) => attempt)).toEqual([0, 1])
  })

  it('after a server restart (history lost), reports onReset with the reason, then goes on live', async () => {
    const first = createHub<Events>({ heartbeat: false })
    const app = await startApp(first)
    const manual = createManualTimers()
    const source = connect<Events>(`${app.url}/events`, { json: { note: true }, timers: manual.timers })
    cleanups.push(() => source.close())
    const seen = record<Events['note']>(source, ['note'])
    await seen.until(() => seen.opens.length === 1, 'the stream to open')
    await pollUntil(() => first.size === 1, DEADLINE_MS, 'the subscription')
    const before = await first.publish('news', { event: 'note', data: { text: 'before the restart' } })
    await seen.until(() => seen.messages.length === 1, 'the first event')

    const second = await app.restart()
    await seen.until(() => seen.reconnecting.length === 1, 'the client noticing the shutdown')
    // hub.close() sends a retry: spread over 1-5 s; the client waits at least that long.
    expect(seen.reconnecting[0]?.delay).toBeGreaterThanOrEqual(1000)
    manual.fire(await manual.next('the backoff'))
    await seen.until(() => seen.resets.length === 1, 'the reset notice')
    expect(seen.resets).toEqual([{ reason: 'epoch', lastEventId: before }])

    await pollUntil(() => second.size === 1, DEADLINE_MS, 'the subscription to the new hub')
    const after = await second.publish('news', { event: 'note', data: { text: 'after the restart' } })
    await seen.until(() => seen.messages.length === 2, 'the live event')
    expect(seen.messages.map(({ data }) => data.text)).toEqual(['before the restart', 'after the restart'])
    expect(source.lastEventId).toBe(after)
  })
})
