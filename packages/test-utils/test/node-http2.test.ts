/**
 * The adapter contract against `node:http2` without TLS (h2c), through the compatibility API's
 * `(req, res)`: the same wiring as `node-http.test.ts`, over HTTP/2.
 */
import { createNodeEventStream } from '@sse/core/node'
import { describeAdapterContract, startHttp2Server } from '../src/index.ts'

describeAdapterContract(
  'node:http2',
  (fixture) =>
    startHttp2Server((req, res) => {
      const stream = createNodeEventStream(req, res, fixture.streamOptions)
      if (req.url.startsWith(fixture.paths.hub)) {
        fixture.hub.subscribe(stream, { topics: fixture.topicsOf(req.url) }).catch(() => stream.close())
      } else {
        fixture.onStream(stream, req.url)
      }
    }),
  { http2: true },
)
