/**
 * The shipped `nginx.conf` has what SSE needs behind nginx, and the cluster runs that very file:
 * only its addresses are substituted, and nginx itself accepts the result (`nginx -t`).
 */
import { readFileSync } from 'node:fs'
import { DEFAULT_HEARTBEAT_MS } from '@sse/core'
import { describe, expect, it } from 'vitest'
import { NGINX_SITE, renderNginxSite, writeNginxConfig } from '../src/processes.ts'
import { NGINX, nginxMissing, tempDir } from './harness.ts'

const site = readFileSync(NGINX_SITE, 'utf8')
/** The directives of the config, comments left out. */
const directives = site.replace(/#.*$/gm, '')

/** The body of `location <path> { … }` (no nested blocks in this file). */
function location(path: string): string {
  const match = new RegExp(`location ${path} \\{([^}]*)\\}`).exec(directives)
  expect(match, `location ${path}`).not.toBeNull()
  return match![1]!
}

function seconds(value: string): number {
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(value)
  expect(match, `an nginx time: ${value}`).not.toBeNull()
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400 }[match![2] ?? 's']!
  return Number(match![1]) * unit
}

describe('the shipped nginx.conf', () => {
  it('streams /events unbuffered, over kept-alive HTTP/1.1, with a read timeout above the heartbeat', () => {
    const events = location('/events')
    expect(events).toMatch(/^\s*proxy_buffering off;$/m)
    expect(events).toMatch(/^\s*proxy_cache off;$/m)
    expect(events).toMatch(/^\s*gzip off;$/m)
    expect(events).toMatch(/^\s*proxy_http_version 1\.1;$/m)
    expect(events).toMatch(/^\s*proxy_set_header Connection '';$/m)
    const timeout = /^\s*proxy_read_timeout (\S+);$/m.exec(events)?.[1]
    expect(seconds(timeout ?? '60s')).toBeGreaterThan((2 * DEFAULT_HEARTBEAT_MS) / 1000)
  })

  it('balances three instances over kept-alive connections, and lets X-Accel-Buffering through', () => {
    const upstream = /upstream sse_app \{([^}]*)\}/.exec(directives)?.[1] ?? ''
    expect(upstream.match(/^\s*server \S+;$/gm)).toHaveLength(3)
    expect(upstream).toMatch(/^\s*keepalive \d+;$/m)
    const root = location('/')
    expect(root).toMatch(/^\s*proxy_pass http:\/\/sse_app;$/m)
    expect(root).toMatch(/^\s*proxy_http_version 1\.1;$/m)
    expect(root).toMatch(/^\s*proxy_set_header Connection '';$/m)
    expect(directives).not.toMatch(/proxy_ignore_headers[^;]*X-Accel-Buffering/i)
    expect(directives).not.toMatch(/proxy_buffering on/)
  })

  it('is run by the cluster with only its addresses changed', () => {
    const rendered = renderNginxSite(site, 4321, ['127.0.0.1:1', '127.0.0.1:2'])
    const expected = site
      .replace(
        /^(\s*)server 127\.0\.0\.1:3001;\n\s*server 127\.0\.0\.1:3002;\n\s*server 127\.0\.0\.1:3003;\n/m,
        '$1server 127.0.0.1:1;\n$1server 127.0.0.1:2;\n',
      )
      .replace('listen 8080;', 'listen 127.0.0.1:4321;')
    expect(rendered).toBe(expected)
    expect(() => renderNginxSite('server { }', 1, [])).toThrow(/must have upstream/)
  })

  it.skipIf(nginxMissing())('is accepted by nginx -t, as the cluster writes it', async () => {
    const dir = tempDir('nginx-t')
    // writeNginxConfig runs `nginx -t` on the result and throws with nginx's output if it refuses it.
    const main = await writeNginxConfig({ binary: NGINX!, dir, port: 4321, upstreams: ['127.0.0.1:1'] })
    const text = readFileSync(main, 'utf8')
    expect(text).toMatch(/^daemon off;$/m)
    expect(text).toContain(`pid "${dir}/nginx.pid";`)
    expect(text).toContain(`proxy_temp_path "${dir}/temp/proxy";`)
  })
})
