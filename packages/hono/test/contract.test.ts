/**
 * The adapter contract against a real Hono app served by `@hono/node-server` on a real socket
 * (port 0): `/stream` is `sse(c, run)`, `/hub` is `sseHub` with the suite's `authorize` and
 * `key`, over HTTP/1.1 (read with `eventsource-parser` and the `eventsource` client) and over
 * HTTP/2 (h2c).
 */
import { type AdapterFixture, describeAdapterContract } from '@sse/test-utils'
import { Hono } from 'hono'
import { sse, sseHub } from '../src/index.ts'
import { serveApp } from './serve.ts'

/** The request's path and query, as the fixture wants them. */
function pathAndQuery(url: string): string {
  const { pathname, search } = new URL(url)
  return `${pathname}${search}`
}

function buildApp(fixture: AdapterFixture): Hono {
  const app = new Hono()
  app.get(fixture.paths.stream, (c) =>
    sse(c, (stream) => fixture.onStream(stream, pathAndQuery(c.req.url)), fixture.streamOptions),
  )
  app.get(fixture.paths.hub, sseHub(fixture.hubOptions((c) => pathAndQuery(c.req.url))))
  return app
}

describeAdapterContract('hono', (fixture) => serveApp(buildApp(fixture)))

describeAdapterContract('hono', (fixture) => serveApp(buildApp(fixture), 'h2c'), { http2: true })
