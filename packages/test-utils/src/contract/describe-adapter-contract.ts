/**
 * The adapter contract: ONE suite that every framework adapter (Express, Fastify, Koa, Hono, and
 * plain `node:http` / `node:http2` as the model) runs against its real framework on a real socket,
 * read with a real parser (`eventsource-parser`) and a real client (`eventsource`).
 *
 * An adapter test wires two routes and nothing else:
 * - `fixture.paths.stream` (`/stream`): the adapter's low-level call turns the request into an
 *   `EventStream` with `fixture.streamOptions`, then hands it to `fixture.onStream(stream, url)`.
 * - `fixture.paths.hub` (`/hub?topics=a,b`): the adapter's hub handler subscribes the request to
 *   `fixture.hub` with the topics `fixture.topicsOf(url)`, its `authorize` calling
 *   `fixture.authorize(url, context)` and its `key` calling `fixture.key(url)`, both per request:
 *   `fixture.hubOptions(urlOf)` is all of that, given how to read a request's path and query.
 *
 * `fixture.hub` is one stable object for the whole file (so an adapter may capture it when it
 * registers its routes); behind it the suite puts a fresh hub for every test. The server is
 * started once per file; the hub-shutdown cases start a second one with the same `start`.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, it } from 'vitest'
import { authLimitCases } from './auth-limits.ts'
import { eventSourceCases } from './event-source.ts'
import type { AdapterContractOptions, StartContractServer } from './fixture.ts'
import { flowControlCases } from './flow-control.ts'
import { framingCases } from './framing.ts'
import { lifecycleCases } from './lifecycle.ts'
import { replayCases } from './replay.ts'
import { type ContractCases, ContractSuite } from './suite.ts'

/**
 * Registers the adapter contract suite.
 *
 * @example
 * describeAdapterContract('express', (fixture) => {
 *   const app = express()
 *   app.get(fixture.paths.stream, (req, res) => fixture.onStream(sse(req, res, fixture.streamOptions), req.originalUrl))
 *   app.get(fixture.paths.hub, sseHub(fixture.hubOptions((req) => req.originalUrl)))
 *   return startHttpServer(app)
 * })
 */
export function describeAdapterContract(
  name: string,
  start: StartContractServer,
  options: AdapterContractOptions = {},
): void {
  const http2 = options.http2 ?? false
  // Cases read with the `eventsource` client exist only over HTTP/1.1: undici does not speak h2c,
  // so over HTTP/2 they are not registered at all (rather than shown as skipped).
  const withEventSource = (name: string, test: () => Promise<void>): void => {
    if (!http2) it(name, test)
  }

  describe(`adapter contract: ${name}${http2 ? ' over HTTP/2 (h2c)' : ''}`, () => {
    const s = new ContractSuite(start, http2)
    beforeAll(() => s.beforeAll())
    afterAll(() => s.afterAll())
    beforeEach(() => s.beforeEach())
    afterEach(() => s.afterEach())

    const cases: ContractCases = { s, http2, withEventSource }
    framingCases(cases)
    authLimitCases(cases)
    replayCases(cases)
    flowControlCases(cases)
    lifecycleCases(cases)
    eventSourceCases(cases)
  })
}
