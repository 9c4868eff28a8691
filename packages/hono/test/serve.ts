/**
 * Test helper: `serveApp(app)` puts a Hono app on a real socket through `@hono/node-server`
 * (127.0.0.1, port 0) over HTTP/1.1, h2c, or HTTP/2 over TLS, and hands back a `close()` that
 * always completes: an event stream never ends by itself, so it destroys every socket and
 * HTTP/2 session it saw, then closes the server.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import type { Server as HttpServer } from 'node:http'
import http2 from 'node:http2'
import type { AddressInfo, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { serve } from '@hono/node-server'
import { DEFAULT_TIMEOUT_MS, type TestServer, withTimeout } from '@sse/test-utils'

/** What `serveApp` needs of a Hono app. */
export interface Fetchable {
  fetch: (request: Request, env?: unknown) => Response | Promise<Response>
}

export type Protocol = 'http1' | 'h2c' | 'h2'

export interface ServedApp extends TestServer {
  readonly server: HttpServer | http2.Http2Server | http2.Http2SecureServer
}

/** A self-signed certificate for 127.0.0.1 and localhost, made with the `openssl` CLI. */
export interface Certificate {
  readonly key: string
  readonly cert: string
}

/** Makes a throwaway certificate, or `undefined` when the `openssl` CLI is not installed. */
export function selfSignedCertificate(): Certificate | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'sse-hono-cert-'))
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore', timeout: DEFAULT_TIMEOUT_MS },
    )
    return {
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
      cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

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
export async function serveApp(
  app: Fetchable,
  protocol: Protocol = 'http1',
  certificate?: Certificate,
): Promise<ServedApp> {
  const server = start(app, protocol, certificate)
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
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      if (server.listening) return resolve()
      server.once('listening', resolve)
      server.once('error', reject)
    }),
    DEFAULT_TIMEOUT_MS,
    'listening on port 0',
  )
  const { port } = server.address() as AddressInfo
  let closing: Promise<void> | undefined
  return {
    url: `${protocol === 'h2' ? 'https' : 'http'}://127.0.0.1:${port}`,
    server,
    close: () => {
      closing ??= withTimeout(
        new Promise<void>((resolve) => {
          server.close(() => resolve())
          for (const session of sessions) session.destroy()
          for (const socket of sockets) socket.destroy()
        }),
        DEFAULT_TIMEOUT_MS,
        () => `server.close() after destroying ${sockets.size} sockets`,
      )
      return closing
    },
  }
}
