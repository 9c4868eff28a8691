/**
 * The two routes of the adapter contract on an Express app, for each Express major the peer range
 * declares (`contract.test.ts`: Express 5; `contract-express4.test.ts`: Express 4): `/stream` is
 * the per-client call `sse(req, res)`, `/hub` is the `sseHub` middleware with the topics of the
 * query and the suite's `authorize` and `key`.
 */
import type { AdapterFixture } from '@sse/test-utils'
import type { Express } from 'express'
import { sse, sseHub } from '../src/index.ts'

/** Mounts the contract's routes on `app` and returns it. */
export function contractApp(app: Express, fixture: AdapterFixture): Express {
  app.get(fixture.paths.stream, (req, res) => {
    fixture.onStream(sse(req, res, fixture.streamOptions), req.originalUrl)
  })
  app.get(fixture.paths.hub, sseHub(fixture.hubOptions((req) => req.originalUrl)))
  return app
}
