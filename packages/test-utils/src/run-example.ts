/**
 * Runs a README example as written: imports the module with a few environment variables set
 * (`PORT=0` by default, so it listens on a free port) and finds the `node:http` server it
 * started, by watching `http.createServer` while the module loads. Express, Koa and plain
 * `node:http` examples all end up there.
 */
import { once } from 'node:events'
import type http from 'node:http'
import type http2 from 'node:http2'
import { createRequire } from 'node:module'
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

/** The file's folder and name, as messages name an example: `readme/hub.ts`. */
export function exampleName(module: URL): string {
  return module.pathname.split('/').slice(-2).join('/')
}

/**
 * Runs `load` with the environment variables of `env` set, and puts them back after it.
 *
 * @example
 * await withEnv({ PORT: '0' }, () => import('./readme/hub.ts'))
 */
export async function withEnv<T>(env: Record<string, string>, load: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]))
  Object.assign(process.env, env)
  try {
    return await load()
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key]
      else process.env[key] = value
    }
  }
}

/** Any server an example may start: `node:http`'s, or `node:http2`'s (plain or TLS). */
export type ExampleServer = http.Server | http2.Http2Server | http2.Http2SecureServer

/**
 * What an example started, on a server that listens or is about to: its URL, and a `close()` that
 * closes the server and its connections unless the example already has.
 *
 * @example
 * const example = await runningServer(servers[0], 'readme/hub.ts')
 */
export async function runningServer<S extends ExampleServer>(
  server: S,
  name: string,
): Promise<{ readonly url: string; readonly server: S; close(): Promise<void> }> {
  if (!server.listening) await withTimeout(once(server, 'listening'), DEFAULT_TIMEOUT_MS, `${name} to listen`)
  const address = server.address()
  if (address === null || typeof address === 'string')
    throw new Error(`${name}: unexpected address ${address}`)
  return {
    url: `http://127.0.0.1:${address.port}`,
    server,
    close: async () => {
      if (!server.listening) return
      const closed = once(server, 'close')
      server.close()
      if ('closeAllConnections' in server) server.closeAllConnections()
      await withTimeout(closed, DEFAULT_TIMEOUT_MS, `closing the server of ${name}`)
    },
  }
}

/**
 * Runs `load` (an example's import) and finds the one `node:http` server it created.
 *
 * @example
 * const example = await watchHttpServer(() => import('./readme/clock.ts'), 'readme/clock.ts')
 */
export async function watchHttpServer(load: () => Promise<unknown>, name: string): Promise<RunningExample> {
  const createServer = vi.spyOn(nodeHttp, 'createServer')
  let servers: http.Server[]
  try {
    await withTimeout(load(), DEFAULT_TIMEOUT_MS, `importing ${name}`)
  } finally {
    servers = createServer.mock.results.map((result) => result.value as http.Server)
    createServer.mockRestore()
  }
  expect(servers, `${name} starts one server`).toHaveLength(1)
  return runningServer(servers[0]!, name)
}

/**
 * @example
 * const example = await runExample(new URL('./readme/clock.ts', import.meta.url))
 * cleanup.push(() => example.close())
 */
export function runExample(module: URL, env: Record<string, string> = {}): Promise<RunningExample> {
  return withEnv({ PORT: '0', ...env }, () => watchHttpServer(() => import(module.href), exampleName(module)))
}
