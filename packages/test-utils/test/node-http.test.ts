/**
 * The adapter contract against plain `node:http`: the model every adapter follows. The
 * per-client route is the low-level call (request → `EventStream`); the hub route decides with
 * `decideHubRoute` and then sends the refusal or subscribes the request (`node-hub-route.ts`).
 */
import { createNodeEventStream } from '@sse/core/node'
import { describeAdapterContract, startHttpServer } from '../src/index.ts'
import { hubRoute } from './node-hub-route.ts'

describeAdapterContract('node:http', (fixture) =>
  startHttpServer((req, res) => {
    const url = req.url ?? '/'
    if (url.startsWith(fixture.paths.hub)) return hubRoute(fixture, url, req, res)
    fixture.onStream(createNodeEventStream(req, res, fixture.streamOptions), url)
    return undefined
  }),
)
