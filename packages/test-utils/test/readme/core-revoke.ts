import http from 'node:http'
import { createHub } from '@sse/core'
import { createNodeEventStream } from '@sse/core/node'

const hub = createHub()
// Your sessions: who holds each token (a cookie, a bearer token…).
const sessions = new Map([
  ['t-ada', { id: 'ada', role: 'editor' }],
  ['t-bob', { id: 'bob', role: 'viewer' }],
])

http
  .createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const token = url.searchParams.get('token') ?? ''
    const user = sessions.get(token)
    if (!user) {
      res.writeHead(401).end() // where a revoked client's reconnect lands: EventSource stops
      return
    }
    if (req.method === 'POST' && url.pathname === '/logout') {
      sessions.delete(token)
      // Every stream of this user, now, each after a last event; how many closed.
      const closed = hub.revoke({ principal: user.id }, { event: { event: 'logout', data: '' } })
      res.end(JSON.stringify({ closed }))
      return
    }
    const stream = createNodeEventStream(req, res)
    hub.subscribe(stream, { topics: ['doc'], principal: user.id, tags: [`role:${user.role}`] })
  })
  .listen(process.env.PORT ?? 3000)

// "Watching now": each join and leave sends the topic's presence to its readers.
function publishWatching(topics: readonly string[]) {
  if (hub.closed || !topics.includes('doc')) return
  const { streams, principals } = hub.presence('doc')
  hub.publish('doc', { event: 'watching', data: { streams, users: [...principals.keys()] } })
}
hub.on('subscribe', ({ topics }) => publishWatching(topics))
hub.on('unsubscribe', ({ topics }) => publishWatching(topics))
