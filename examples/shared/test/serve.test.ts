import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import http from 'node:http'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import tls from 'node:tls'
import { withTimeout } from '@sse/test-utils'
import { describe, expect, it } from 'vitest'
import { listenGracefully, loadCertificate } from '../src/index.ts'

describe('listenGracefully', () => {
  it('runs beforeClose first, then closes even with a connection that never sent a request', async () => {
    const steps: string[] = []
    const server = http.createServer((_req, res) => res.end('ok'))
    server.on('close', () => steps.push('server closed'))
    const running = await listenGracefully(server, { port: 0, host: '127.0.0.1' }, async () => {
      steps.push('beforeClose')
    })
    expect(running.url).toBe(`http://127.0.0.1:${running.port}`)
    // A browser opens spare connections ahead of time; Node's server.close() waits on them.
    const idle = net.connect(running.port, '127.0.0.1')
    await withTimeout(new Promise((resolve) => idle.once('connect', resolve)), 5000, 'connect')
    const closed = new Promise((resolve) => idle.once('close', resolve))
    await withTimeout(running.close(), 5000, 'close() with a connection that never sent a request')
    await withTimeout(closed, 5000, 'the spare connection closed')
    expect(steps).toEqual(['beforeClose', 'server closed'])
    expect(running.close()).toBe(running.close())
  })
})

describe('loadCertificate', () => {
  it('makes a self-signed certificate for localhost when given no paths', async () => {
    const certificate = await loadCertificate()
    expect(certificate.selfSigned).toBe(true)
    const x509 = new (await import('node:crypto')).X509Certificate(certificate.cert)
    expect(x509.subjectAltName).toContain('DNS:localhost')
    expect(x509.subjectAltName).toContain('IP Address:127.0.0.1')
    expect(() => tls.createSecureContext({ key: certificate.key, cert: certificate.cert })).not.toThrow()
  })

  it('reads CERT and KEY when both are given, and refuses one alone', async () => {
    const made = await loadCertificate()
    const dir = await mkdtemp(join(tmpdir(), 'sse-cert-'))
    try {
      await writeFile(join(dir, 'cert.pem'), made.cert)
      await writeFile(join(dir, 'key.pem'), made.key)
      const read = await loadCertificate({ cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') })
      expect(read).toEqual({ cert: made.cert, key: made.key, selfSigned: false })
      await expect(loadCertificate({ cert: join(dir, 'cert.pem') })).rejects.toThrow(/both CERT and KEY/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
