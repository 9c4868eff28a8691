/**
 * Runs a README example as written: imports the module with a few environment variables set
 * (`PORT=0` by default, so it listens on a free port) and finds the `node:http` server it
 * started, by watching `http.createServer` while the module loads. Express, Koa and plain
 * `node:http` examples all end up there.
 */
import { once } from 'node:events'
import type http from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { expect, vi } from 'vitest'
import { DEFAULT_TIMEOUT_MS, withTimeout } from './with-timeout.ts'

/** `node:http` as CommonJS code sees it (Express calls `createServer` on this object); ESM's default export is the same object. */
const nodeHttp = createRequire(import.meta.url)('node:http') as typeof http

export interface RunningExample {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  readonly server: http.Server
  /** Closes the server (and its connections) if the example has not. */
  close(): Promise<void>
}

/**
 * @example
 * const example = await runExample(new URL('./readme/clock.ts', import.meta.url))
 * cleanup.push(() => example.close())
 */
export async function runExample(module: URL, env: Record<string, string> = {}): Promise<RunningExample> {
  const name = module.pathname.split('/').slice(-2).join('/')
  const createServer = vi.spyOn(nodeHttp, 'createServer')
  const overrides: Record<string, string> = { PORT: '0', ...env }
  const saved = Object.fromEntries(Object.keys(overrides).map((key) => [key, process.env[key]]))
  Object.assign(process.env, overrides)
  let servers: http.Server[]
  try {
    await withTimeout(import(module.href), DEFAULT_TIMEOUT_MS, `importing ${name}`)
  } finally {
    servers = createServer.mock.results.map((result) => result.value as http.Server)
    createServer.mockRestore()
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key]
      else process.env[key] = value
    }
  }
  expect(servers, `${name} starts one server`).toHaveLength(1)
  const server = servers[0]!
  if (!server.listening) await withTimeout(once(server, 'listening'), DEFAULT_TIMEOUT_MS, `${name} to listen`)
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: async () => {
      if (!server.listening) return
      const closed = once(server, 'close')
      server.close()
      server.closeAllConnections()
      await withTimeout(closed, DEFAULT_TIMEOUT_MS, `closing the server of ${name}`)
    },
  }
}
