/**
 * Revocation through a real Express app on a real socket: `authorize` grants a principal, an admin
 * route revokes it, the client's stream gets its last event and ends, and its reconnection is
 * refused by `authorize`, while other readers go on.
 */
import { createHub } from '@sse/core'
import { openEventStream, readAnswer, startHttpServer } from '@sse/test-utils'
import express from 'express'
import { afterEach, expect, it } from 'vitest'
import { sseHub } from '../src/index.ts'

const closing: Array<() => unknown> = []
afterEach(async () => {
  for (const close of closing.splice(0).reverse()) await close()
})

it('revokes a principal: its streams get a last event and end, its reconnection is refused, others go on', async () => {
  const hub = createHub({ heartbeat: false, retry: false })
  closing.push(() => hub.close({ retry: false }))
  const banned = new Set<string>()
  const app = express()
  app.get(
    '/events',
    sseHub({
      hub,
      topics: () => ['news'],
      authorize: (req) => {
        const user = String(req.query.user ?? '')
        if (user === '' || banned.has(user)) return { status: 401, body: { error: 'log in' } }
        return { allow: true, principal: user }
      },
    }),
  )
  app.post('/admin/revoke', (req, res) => {
    const user = String(req.query.user)
    banned.add(user)
    res.json({ closed: hub.revoke({ principal: user }, { event: { event: 'revoked', data: 'logged out' } }) })
  })
  const server = await startHttpServer(app)
  closing.push(() => server.close())

  const ann = await Promise.all([0, 1].map(() => openEventStream(`${server.url}/events?user=ann`)))
  const bob = await openEventStream(`${server.url}/events?user=bob`)
  for (const reader of [...ann, bob]) closing.push(() => reader.close())
  expect(hub.presence('news').principals).toEqual(
    new Map([
      ['ann', 2],
      ['bob', 1],
    ]),
  )

  const answer = await fetch(`${server.url}/admin/revoke?user=ann`, { method: 'POST' })
  expect(await answer.json()).toEqual({ closed: 2 })
  for (const reader of ann) {
    expect(await reader.waitForEnd()).toBe('end')
    expect(reader.events.at(-1)).toMatchObject({ event: 'revoked', data: 'logged out' })
  }
  const again = await readAnswer(`${server.url}/events?user=ann`)
  expect(again).toMatchObject({ status: 401, stream: false })

  await hub.publish('news', { data: 'still here' })
  expect((await bob.next()).data).toBe('still here')
  expect(hub.presence('news')).toEqual({ streams: 1, principals: new Map([['bob', 1]]) })
})
