/**
 * Real servers on port 0 for tests. An event stream never ends by itself, so a plain
 * `server.close()` would wait forever for it: these servers track every socket (and HTTP/2
 * session) and `close()` destroys them, so it always completes, live streams or not.
 */
import http from 'node:http'
import http2 from 'node:http2'
import type { AddressInfo, Socket } from 'node:net'
import { DEFAULT_TIMEOUT_MS, withTimeout } from './with-timeout.ts'

export interface TestServer {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  readonly url: string
  /** Destroys every open connection and closes the server. Idempotent. */
  close(): Promise<void>
}

export interface StartedServer<S> extends TestServer {
  readonly server: S
}

function listen(server: http.Server | http2.Http2Server): Promise<string> {
  return withTimeout(
    new Promise<string>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject)
        resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
      })
    }),
    DEFAULT_TIMEOUT_MS,
    'listening on port 0',
  )
}

function closer(server: http.Server | http2.Http2Server, destroyAll: () => void): () => Promise<void> {
  let closing: Promise<void> | undefined
  return () => {
    closing ??= withTimeout(
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        destroyAll()
      }),
      DEFAULT_TIMEOUT_MS,
      'server.close() after destroying every connection',
    )
    return closing
  }
}

function trackSockets(server: http.Server | http2.Http2Server): Set<Socket> {
  const sockets = new Set<Socket>()
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  return sockets
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
export async function startHttpServer(
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => unknown,
): Promise<StartedServer<http.Server>> {
  const server = http.createServer(guard(handler))
  const sockets = trackSockets(server)
  const url = await listen(server)
  const close = closer(server, () => {
    server.closeAllConnections()
    for (const socket of sockets) socket.destroy()
  })
  return { url, server, close }
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
export async function startHttp2Server(
  handler: (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => unknown,
): Promise<StartedServer<http2.Http2Server>> {
  const server = http2.createServer(guard(handler))
  const sockets = trackSockets(server)
  const sessions = new Set<http2.ServerHttp2Session>()
  server.on('session', (session: http2.ServerHttp2Session) => {
    sessions.add(session)
    session.once('close', () => sessions.delete(session))
  })
  const url = await listen(server)
  const close = closer(server, () => {
    for (const session of sessions) session.destroy()
    for (const socket of sockets) socket.destroy()
  })
  return { url, server, close }
}
