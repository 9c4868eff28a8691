/**
 * Test helper: `serveApp(app)` puts a Hono app on a real socket through `@hono/node-server`
 * (127.0.0.1, port 0) over HTTP/1.1, h2c, or HTTP/2 over TLS, and hands it to `@sse/test-utils`'
 * `serveStarted`, whose `close()` always completes (it destroys every socket and HTTP/2 session).
 */
import type { Server as HttpServer } from 'node:http'
import http2 from 'node:http2'
import { serve } from '@hono/node-server'
import { type Certificate, type StartedServer, serveStarted } from '@sse/test-utils'

/** What `serveApp` needs of a Hono app. */
export interface Fetchable {
  fetch: (request: Request, env?: unknown) => Response | Promise<Response>
}

export type Protocol = 'http1' | 'h2c' | 'h2'

export type ServedApp = StartedServer<HttpServer | http2.Http2Server | http2.Http2SecureServer>

function start(app: Fetchable, protocol: Protocol, certificate: Certificate | undefined) {
  const base = { fetch: app.fetch, port: 0, hostname: '127.0.0.1' }
  if (protocol === 'h2c') return serve({ ...base, createServer: http2.createServer })
  if (protocol === 'h2') {
    if (!certificate) throw new Error('HTTP/2 over TLS needs a certificate')
    return serve({
      ...base,
      createServer: http2.createSecureServer,
      serverOptions: { key: certificate.key, cert: certificate.cert },
    })
  }
  return serve(base)
}

/**
 * Serves `app` and resolves once it listens.
 *
 * @example
 * const server = await serveApp(app)
 * try { await openEventStream(`${server.url}/events`) } finally { await server.close() }
 */
export function serveApp(
  app: Fetchable,
  protocol: Protocol = 'http1',
  certificate?: Certificate,
): Promise<ServedApp> {
  const server = start(app, protocol, certificate) as HttpServer | http2.Http2Server | http2.Http2SecureServer
  return serveStarted(server, protocol === 'h2' ? 'https' : 'http')
}
