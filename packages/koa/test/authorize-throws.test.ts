/**
 * Koa's own way to refuse, `ctx.throw(status)`, inside a hub route's `authorize`: answered with
 * that status and a generic body, never the thrown message, and no stream. A real Koa app on a
 * real socket (port 0).
 */
import { createHub } from '@sse/core'
import { readAnswer, startHttpServer } from '@sse/test-utils'
import Koa from 'koa'
import { afterEach, expect, it } from 'vitest'
import { sseHub } from '../src/index.ts'

const closing: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const close of closing.splice(0).reverse()) await close()
})

it('answers ctx.throw(401) and ctx.throw(403, message) in authorize with that status and a generic body', async () => {
  const hub = createHub({ heartbeat: false })
  closing.push(() => hub.close({ retry: false }))
  const errors: unknown[] = []
  hub.on('error', (error) => errors.push(error))
  const app = new Koa()
  app.on('error', (error) => errors.push(error))
  app.use(
    sseHub({
      hub,
      topics: () => ['news'],
      authorize: (ctx) => {
        if (ctx.query.as === 'nobody') ctx.throw(401)
        if (ctx.query.as === 'guest') ctx.throw(403, 'guests may not read news (secret rule 7)')
        return true
      },
    }),
  )
  const server = await startHttpServer(app.callback())
  closing.push(() => server.close())

  const unauthorized = await readAnswer(`${server.url}/?as=nobody`)
  expect(unauthorized).toMatchObject({ status: 401, stream: false })
  expect(JSON.parse(unauthorized.body)).toEqual({ error: 'unauthorized' })
  const forbidden = await readAnswer(`${server.url}/?as=guest`)
  expect(forbidden).toMatchObject({ status: 403, stream: false })
  expect(JSON.parse(forbidden.body)).toEqual({ error: 'forbidden' })
  expect(forbidden.body).not.toContain('secret')
  expect(hub.size).toBe(0)
  // A deliberate refusal is neither a hub error nor an app error.
  expect(errors).toEqual([])
})
