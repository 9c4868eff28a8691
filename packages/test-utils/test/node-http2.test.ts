/**
 * The adapter contract against `node:http2` without TLS (h2c), through the compatibility API's
 * `(req, res)`: the same wiring as `node-http.test.ts`, over HTTP/2.
 */
import { createNodeEventStream } from '@sse/core/node'
import { describeAdapterContract, startHttp2Server } from '../src/index.ts'
import { hubRoute } from './node-hub-route.ts'

describeAdapterContract(
  'node:http2',
  (fixture) =>
    startHttp2Server((req, res) => {
      if (req.url.startsWith(fixture.paths.hub)) return hubRoute(fixture, req.url, req, res)
      fixture.onStream(createNodeEventStream(req, res, fixture.streamOptions), req.url)
      return undefined
    }),
  { http2: true },
)
