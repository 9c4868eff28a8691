/**
 * The shared adapter contract against a real Express 5 app on port 0: `/stream` is the
 * per-client call `sse(req, res)`, `/hub` is the `sseHub` middleware with the topics of the query
 * and the suite's `authorize` and `key`.
 */
import { describeAdapterContract, startHttpServer } from '@sse/test-utils'
import express from 'express'
import { sse, sseHub } from '../src/index.ts'

describeAdapterContract('express', (fixture) => {
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
