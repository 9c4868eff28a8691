/**
 * Putting an example on a port and taking it off again, the same way for every framework.
 *
 * Shutdown is the part tutorials get wrong: an event stream never ends by itself, so a plain
 * `server.close()` waits forever on open pages. `listenGracefully` closes in order: the demo
 * first (`hub.close()`: a last event and a spread `retry:` to every page, then every stream
 * ends), then the server, with idle keep-alive connections and HTTP/2 sessions closed at once
 * and any connection still open after a short grace (a socket a browser opened ahead of time and
 * never used) destroyed.
 */
import type http from 'node:http'
import type http2 from 'node:http2'
import type { AddressInfo, Socket } from 'node:net'
import tls from 'node:tls'

/** A server of any protocol the examples use. */
export type NodeServer = http.Server | http2.Http2Server | http2.Http2SecureServer

/** An example on a port. */
export interface RunningServer {
  /** e.g. `http://localhost:3000` (no trailing slash). */
  readonly url: string
  readonly port: number
  /** Ends every stream, then the server. Idempotent. */
  close(): Promise<void>
}

export interface ListenOptions {
  /** 0 picks a free port. */
  readonly port: number
  /** Default: every interface (shown as `localhost`). */
  readonly host?: string | undefined
}

/** How long connections that are still open after the streams ended get before they are destroyed. */
export const CLOSE_GRACE_MS = 300

/** The URL of a listening server. */
export function urlOf(server: NodeServer, host: string | undefined): { url: string; port: number } {
  const { port } = server.address() as AddressInfo
  const scheme = server instanceof tls.Server ? 'https' : 'http'
  const name = host === undefined || host === '0.0.0.0' || host === '::' ? 'localhost' : host
  return { url: `${scheme}://${name.includes(':') ? `[${name}]` : name}:${port}`, port }
}

/**
 * Listens, and returns a `close()` that runs `beforeClose` (the demo's shutdown) and then closes
 * the server promptly.
 *
 * @example
 * const running = await listenGracefully(http.createServer(app), { port: 3000 }, () => demo.close())
 */
export async function listenGracefully(
  server: NodeServer,
  options: ListenOptions,
  beforeClose: () => Promise<void>,
): Promise<RunningServer> {
  const sockets = new Set<Socket>()
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  const sessions = new Set<http2.ServerHttp2Session>()
  server.on('session', (session: http2.ServerHttp2Session) => {
    sessions.add(session)
    session.once('close', () => sessions.delete(session))
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { url, port } = urlOf(server, options.host)

  let closing: Promise<void> | undefined
  async function close(): Promise<void> {
    try {
      await beforeClose()
    } finally {
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const session of sessions) session.close()
        if ('closeIdleConnections' in server) server.closeIdleConnections()
        setTimeout(() => {
          for (const session of sessions) session.destroy()
          for (const socket of sockets) socket.destroy()
        }, CLOSE_GRACE_MS).unref()
      })
    }
  }
  return {
    url,
    port,
    close: () => {
      closing ??= close()
      return closing
    },
  }
}
