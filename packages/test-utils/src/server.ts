/**
 * Real servers on port 0 for tests, over HTTP/1.1, h2c (HTTP/2 without TLS) and HTTP/2 over TLS.
 * An event stream never ends by itself, so a plain `server.close()` would wait forever for it:
 * these servers track every socket (and HTTP/2 session) and `close()` destroys them, so it always
 * completes, live streams or not. `serveStarted` does the same for a server a framework created
 * and started itself (`@hono/node-server`'s `serve`, Fastify's `listen`).
 */
import http from 'node:http'
import http2 from 'node:http2'
import type { AddressInfo, Socket } from 'node:net'
import type { Certificate } from './certificate.ts'
import { DEFAULT_TIMEOUT_MS, withTimeout } from './with-timeout.ts'

export interface TestServer {
  /** `http://127.0.0.1:<port>` (`https://` over TLS), no trailing slash. */
  readonly url: string
  /** Destroys every open connection and closes the server. Idempotent. */
  close(): Promise<void>
}

export interface StartedServer<S> extends TestServer {
  readonly server: S
}

/** Any server of `node:http` or `node:http2`. */
export type AnyServer = http.Server | http2.Http2Server | http2.Http2SecureServer

/** The open connections of a server: its sockets and, over HTTP/2, its sessions. */
export interface Connections {
  /** Open sockets. */
  readonly size: number
  /** Destroys every session and socket. */
  destroyAll(): void
}

/**
 * Tracks the connections of `server` from now on. Call it before the server listens.
 *
 * @example
 * const connections = trackConnections(app.server)
 * await app.listen({ port: 0 })
 * … connections.destroyAll()
 */
export function trackConnections(server: AnyServer): Connections {
  const sockets = new Set<Socket>()
  const sessions = new Set<http2.ServerHttp2Session>()
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  server.on('session', (session: http2.ServerHttp2Session) => {
    sessions.add(session)
    session.once('close', () => sessions.delete(session))
  })
  return {
    get size() {
      return sockets.size
    },
    destroyAll() {
      if ('closeAllConnections' in server) server.closeAllConnections()
      for (const session of sessions) session.destroy()
      for (const socket of sockets) socket.destroy()
    },
  }
}

/**
 * Takes over a server that listens, or is about to (its `listen` already called): resolves once
 * it listens, with its URL and a `close()` that destroys every connection, then closes it.
 * Connections made before this call are not seen, so call it right after `listen`.
 *
 * @example
 * const server = await serveStarted(serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }))
 */
export async function serveStarted<S extends AnyServer>(
  server: S,
  scheme: 'http' | 'https' = 'http',
): Promise<StartedServer<S>> {
  const connections = trackConnections(server)
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      if (server.listening) return resolve()
      server.once('error', reject)
      server.once('listening', () => {
        server.off('error', reject)
        resolve()
      })
    }),
    DEFAULT_TIMEOUT_MS,
    'listening on port 0',
  )
  const { port } = server.address() as AddressInfo
  let closing: Promise<void> | undefined
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    server,
    close: () => {
      closing ??= withTimeout(
        new Promise<void>((resolve) => {
          server.close(() => resolve())
          connections.destroyAll()
        }),
        DEFAULT_TIMEOUT_MS,
        () => `server.close() after destroying ${connections.size} sockets`,
      )
      return closing
    },
  }
}

function listen<S extends AnyServer>(server: S, scheme: 'http' | 'https'): Promise<StartedServer<S>> {
  const started = serveStarted(server, scheme)
  server.listen(0, '127.0.0.1')
  return started
}

/** Calls the handler; a throw answers 500 (or destroys a started response) instead of crashing the run. */
function guard<Req, Res extends { headersSent: boolean; writeHead(status: number): unknown; end(): unknown }>(
  handler: (req: Req, res: Res) => unknown,
): (req: Req, res: Res) => void {
  return (req, res) => {
    Promise.resolve()
      .then(() => handler(req, res))
      .catch((error: unknown) => {
        console.error('[test server] the handler threw:', error)
        if (!res.headersSent) res.writeHead(500)
        res.end()
      })
  }
}

/**
 * Starts a `node:http` server on 127.0.0.1, port 0.
 *
 * @example
 * const server = await startHttpServer((req, res) => { createEventStream(createNodeSink(req, res)) })
 * try { … fetch(server.url) … } finally { await server.close() }
 */
export function startHttpServer(
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => unknown,
): Promise<StartedServer<http.Server>> {
  return listen(http.createServer(guard(handler)), 'http')
}

/**
 * Starts a `node:http2` server without TLS (h2c, prior knowledge) on 127.0.0.1, port 0, with
 * the compatibility API's `(req, res)` handler. Browsers only speak HTTP/2 over TLS; h2c is
 * for tests, with a `node:http2` client (`openEventStream(url, { http2: true })`).
 *
 * @example
 * const server = await startHttp2Server((req, res) => { createEventStream(createNodeSink(req, res)) })
 * const reader = await openEventStream(server.url, { http2: true })
 */
export function startHttp2Server(
  handler: (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => unknown,
): Promise<StartedServer<http2.Http2Server>> {
  return listen(http2.createServer(guard(handler)), 'http')
}

/**
 * Starts a `node:http2` server over TLS on 127.0.0.1, port 0 (an `https://` URL), with the
 * compatibility API's `(req, res)` handler: HTTP/2 as browsers speak it.
 *
 * @example
 * const certificate = selfSignedCertificate()!
 * const server = await startHttp2SecureServer(handler, certificate)
 * const reader = await openEventStream(server.url, { http2: true, ca: certificate.cert })
 */
export function startHttp2SecureServer(
  handler: (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => unknown,
  certificate: Certificate,
): Promise<StartedServer<http2.Http2SecureServer>> {
  const options = { key: certificate.key, cert: certificate.cert }
  return listen(http2.createSecureServer(options, guard(handler)), 'https')
}
