/**
 * The adapter contract against plain `node:http`: the model every adapter follows. The
 * per-client route is the low-level call (request → `EventStream`); the hub route subscribes
 * the request to the hub with the topics of its query.
 */
import { createNodeEventStream } from '@sse/core/node'
import { describeAdapterContract, startHttpServer } from '../src/index.ts'

describeAdapterContract('node:http', (fixture) =>
  startHttpServer((req, res) => {
    const url = req.url ?? '/'
    const stream = createNodeEventStream(req, res, fixture.streamOptions)
    if (url.startsWith(fixture.paths.hub)) {
      fixture.hub.subscribe(stream, { topics: fixture.topicsOf(url) }).catch(() => stream.close())
    } else {
      fixture.onStream(stream, url)
    }
  }),
)
