/**
 * Test helpers: `listen(app)` puts a Fastify instance on a real socket (127.0.0.1, port 0) and
 * hands back a `close()` that always completes; `captureLogs()` collects what Fastify logs at
 * `warn` and above, so a test can assert it logged nothing.
 */
import {
  type AnyServer,
  DeadlineError,
  type TestServer,
  trackConnections,
  withTimeout,
} from '@sse/test-utils'
import type { FastifyInstance, RawServerBase } from 'fastify'

/** How long `close()` gives `fastify.close()` before destroying the sockets and failing. */
const CLOSE_DEADLINE_MS = 5_000

export interface ListenOptions {
  /**
   * Destroy every socket as `close()` starts, as `startHttpServer` does: for apps without the
   * plugin, whose open streams `fastify.close()` would otherwise wait on. Default false.
   */
  destroySockets?: boolean | undefined
}

/**
 * Listens on port 0. `close()` is `fastify.close()` under a deadline; past it, every socket is
 * destroyed (so nothing leaks into the next test) and `close()` rejects, naming the hang.
 *
 * @example
 * const server = await listen(app)
 * try { await openEventStream(`${server.url}/events`) } finally { await server.close() }
 */
export async function listen(
  app: Pick<FastifyInstance, 'listen' | 'close'> & { server: RawServerBase },
  options: ListenOptions = {},
): Promise<TestServer> {
  const connections = trackConnections(app.server as AnyServer)
  await withTimeout(app.listen({ port: 0, host: '127.0.0.1' }), CLOSE_DEADLINE_MS, 'fastify.listen()')
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error(`unexpected address ${address}`)
  let closing: Promise<void> | undefined
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () => {
      if (options.destroySockets) connections.destroyAll()
      closing ??= withTimeout(app.close(), CLOSE_DEADLINE_MS, () => {
        return `fastify.close() with ${connections.size} sockets open`
      }).then(
        () => undefined,
        (error: unknown) => {
          connections.destroyAll()
          throw error instanceof DeadlineError ? error : new Error('fastify.close() failed', { cause: error })
        },
      )
      return closing
    },
  }
}

/** One parsed log line of Fastify's logger (pino). */
export interface LogLine {
  readonly level: number
  readonly msg?: string
  readonly [key: string]: unknown
}

export interface CapturedLogs {
  /** Pass as `fastify({ logger })`. */
  readonly logger: { level: 'warn'; stream: { write(line: string): void } }
  /** Every line logged at `warn` or above. */
  readonly lines: LogLine[]
}

/**
 * A `warn`-level logger writing into an array.
 *
 * @example
 * const logs = captureLogs()
 * const app = fastify({ logger: logs.logger })
 * … expect(logs.lines).toEqual([])
 */
export function captureLogs(): CapturedLogs {
  const lines: LogLine[] = []
  return {
    lines,
    logger: { level: 'warn', stream: { write: (line) => void lines.push(JSON.parse(line) as LogLine) } },
  }
}
