/**
 * The TLS certificate for `HTTPS=1`. Browsers speak HTTP/2 only over TLS, and HTTP/2 is what
 * lifts their limit of 6 HTTP/1.1 connections per origin (each open `EventSource` holds one).
 * `CERT` and `KEY` name PEM files to use; without them a self-signed certificate for
 * `localhost` and `127.0.0.1` is made at start, in memory, and never written anywhere.
 */
import { readFile } from 'node:fs/promises'
import { generate } from 'selfsigned'

export interface Certificate {
  readonly key: string
  readonly cert: string
  /** `true` when it was generated here: browsers will warn about it once. */
  readonly selfSigned: boolean
}

export interface CertificatePaths {
  /** Path of a PEM certificate (chain). */
  readonly cert?: string | undefined
  /** Path of its PEM private key. */
  readonly key?: string | undefined
}

/**
 * Reads `cert`/`key` when both are given, or generates a self-signed certificate.
 *
 * @example
 * const { key, cert } = await loadCertificate({ cert: process.env.CERT, key: process.env.KEY })
 */
export async function loadCertificate(paths: CertificatePaths = {}): Promise<Certificate> {
  if (paths.cert || paths.key) {
    if (!paths.cert || !paths.key) throw new Error('set both CERT and KEY (PEM file paths), or neither')
    const [cert, key] = await Promise.all([readFile(paths.cert, 'utf8'), readFile(paths.key, 'utf8')])
    return { cert, key, selfSigned: false }
  }
  const notBeforeDate = new Date()
  const notAfterDate = new Date(notBeforeDate.getTime() + 30 * 24 * 60 * 60 * 1000)
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  })
  return { cert: pems.cert, key: pems.private, selfSigned: true }
}
