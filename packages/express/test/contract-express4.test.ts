/**
 * The shared adapter contract against a real Express 4 app (the `express4` alias of the newest
 * `express@4`) on port 0, wired exactly as `contract.test.ts` wires Express 5: the peer range
 * declares both majors, so both run the whole suite.
 */
import { describeAdapterContract, startHttpServer } from '@sse/test-utils'
import express from 'express4'
import { sse, sseHub } from '../src/index.ts'

describeAdapterContract('express 4', (fixture) => {
  const app = express()
  app.get(fixture.paths.stream, (req, res) => {
    fixture.onStream(sse(req, res, fixture.streamOptions), req.originalUrl)
  })
  app.get(
    fixture.paths.hub,
    sseHub({
      hub: fixture.hub,
      topics: (req) => fixture.topicsOf(req.originalUrl),
      authorize: (req, context) => fixture.authorize(req.originalUrl, context),
      key: (req) => fixture.key(req.originalUrl),
    }),
  )
  return startHttpServer(app)
})
