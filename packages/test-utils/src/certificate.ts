/**
 * A throwaway TLS certificate for HTTP/2 over TLS in tests, made with the `openssl` CLI: browsers
 * and most clients speak HTTP/2 only over TLS, so that path is tested as well as h2c.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_TIMEOUT_MS } from './with-timeout.ts'

/** A self-signed certificate for 127.0.0.1 and localhost (PEM). */
export interface Certificate {
  readonly key: string
  readonly cert: string
}

/**
 * Makes a throwaway certificate, or `undefined` when the `openssl` CLI is not installed.
 *
 * @example
 * const certificate = selfSignedCertificate()
 * const server = await startHttp2Server(handler, { tls: certificate })
 * const reader = await openEventStream(`${server.url}/events`, { http2: true, ca: certificate.cert })
 */
export function selfSignedCertificate(): Certificate | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'sse-test-cert-'))
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
