// The server of emfile.test.ts, run in a child process whose open-files limit is small: a plain
// `node:http` server whose requests subscribe to one hub topic. It runs @sse/core's built dist
// (the package's own name resolves to it; `turbo run test` builds first), since Node 20 cannot
// load the TypeScript source.
//
// Messages in:  { type: 'counts' }, { type: 'publish', data }
// Messages out: { type: 'ready', port }, { type: 'counts', size, streams, connections, errors },
//               { type: 'published' }
import http from 'node:http'
import { createHub } from '@sse/core'
import { createNodeEventStream } from '@sse/core/node'

const hub = createHub({ heartbeat: 50, retry: false })
/** Errors the server reported, by code: an accept that failed must not throw. */
const errors = {}
const server = http.createServer((req, res) => {
  hub.subscribe(createNodeEventStream(req, res), { topics: ['news'] }).catch((error) => {
    errors[error.code ?? 'subscribe'] = (errors[error.code ?? 'subscribe'] ?? 0) + 1
  })
})
server.on('error', (error) => {
  errors[error.code ?? 'error'] = (errors[error.code ?? 'error'] ?? 0) + 1
})
server.listen(0, '127.0.0.1', () => process.send({ type: 'ready', port: server.address().port }))

process.on('message', (message) => {
  if (message.type === 'counts') {
    server.getConnections((_, connections) => {
      process.send({ type: 'counts', size: hub.size, streams: hub.stats.streams, connections, errors })
    })
  } else if (message.type === 'publish') {
    hub.publish('news', { data: message.data }).then(() => process.send({ type: 'published' }))
  }
})
// Ends with the test's process (the IPC channel closes).
process.on('disconnect', () => process.exit(0))
