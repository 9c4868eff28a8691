/**
 * The servers of `server.ts` over HTTP/2 with TLS: `startHttp2SecureServer` with a self-signed
 * certificate, read by `openEventStream` trusting it, and `serveStarted` taking over a server
 * that was started elsewhere. `close()` completes with streams still open.
 */
import http2 from 'node:http2'
import { createNodeEventStream } from '@sse/core/node'
import { describe, expect, it } from 'vitest'
import {
  isCI,
  selfSignedCertificate,
  serveStarted,
  startHttp2SecureServer,
  useTestScope,
  withTimeout,
} from '../src/index.ts'

const certificate = selfSignedCertificate()
if (!certificate && !isCI()) console.info('[@sse/test-utils] openssl not found: the TLS cases are skipped')

describe.skipIf(!certificate && !isCI())('HTTP/2 over TLS', () => {
  const { open, serve } = useTestScope()

  function tls() {
    if (!certificate) throw new Error('openssl is missing; under CI=true the TLS cases must run')
    return certificate
  }

  function clock(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) {
    createNodeEventStream(req, res, { heartbeat: false }).send({ event: 'tick', data: 'now' })
  }

  it('startHttp2SecureServer serves https, and close() ends a live stream', async () => {
    const server = await serve(startHttp2SecureServer(clock, tls()))
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
    const reader = await open(`${server.url}/clock`, { http2: true, ca: tls().cert })
    expect([reader.status, reader.httpVersion]).toEqual([200, '2.0'])
    expect(reader.headers.connection).toBeUndefined()
    expect(await reader.next()).toMatchObject({ event: 'tick', data: 'now' })
    await withTimeout(server.close(), 2000, 'close() with a live stream')
    await reader.waitForEnd() // the session was destroyed under it
  })

  it('serveStarted takes over a server that another party created and started', async () => {
    const { key, cert } = tls()
    const started = http2.createSecureServer({ key, cert }, clock)
    started.listen(0, '127.0.0.1')
    const server = await serve(serveStarted(started, 'https'))
    const reader = await open(server.url, { http2: true, ca: cert })
    expect(await reader.next()).toMatchObject({ event: 'tick' })
    await withTimeout(server.close(), 2000, 'close() with a live stream')
    expect(started.listening).toBe(false)
  })
})
