import { createHub } from '@sse/core'
import { sseHub } from '@sse/express'
import { RedisBroker } from '@sse/redis'
import express from 'express'

const broker = new RedisBroker({ redis: process.env.REDIS_URL, prefix: 'sse:docs', presencePrincipals: true })
const hub = createHub({ broker, closeBroker: true })
await broker.ready()

const banned = new Set<string>() // your user store
const app = express()
app.get(
  '/docs/:id/events',
  sseHub({
    hub,
    topics: (req) => [`doc:${req.params.id}`],
    authorize: (req) => {
      const user = req.get('x-user') // your authentication
      if (!user) return { status: 401, body: { error: 'log in first' } }
      if (banned.has(user)) return false // 403: EventSource stops for good
      return { allow: true, principal: user }
    },
  }),
)

// A ban: that user's streams close on every instance, and their reconnects meet authorize (403).
app.post('/admin/ban/:user', async (req, res) => {
  banned.add(req.params.user)
  const result = await hub.revokeEverywhere(
    { principal: req.params.user },
    { event: { event: 'banned', data: '' } },
  )
  // Not complete: Redis did not answer, or an instance did not in time; retry, it is idempotent.
  res.status(result.complete ? 200 : 503).json({ closed: result.closed, complete: result.complete })
})

// Who is online: each change (on this instance, or an instance that died) goes to the page as an event.
hub.on('presence', ({ topic }) => {
  hub
    .presenceEverywhere(topic)
    .then(({ streams, principals }) =>
      hub.publish(topic, { event: 'presence', data: { streams, online: [...(principals?.keys() ?? [])] } }),
    )
    .catch((error) => hub.reportError(error))
})

app.listen(process.env.PORT ?? 3000)
