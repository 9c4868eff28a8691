/**
 * What every example's `src/server.ts` does: read its settings from the environment, start,
 * print the URL, and on SIGINT/SIGTERM shut down gracefully (the process is gone within 2 s,
 * pages connected or not).
 *
 * Environment: `PORT` (default 3000; 0 picks a free one), `HOST` (default: every interface),
 * `HTTPS=1` for HTTPS with HTTP/2 where the example supports it, with `CERT` and `KEY` (PEM
 * paths) or else a self-signed certificate made at start.
 */
import { type Certificate, loadCertificate } from './certificate.ts'
import type { RunningServer } from './listen-gracefully.ts'

export interface StartOptions {
  readonly port: number
  readonly host?: string | undefined
  /** Serve HTTPS with HTTP/2 (and HTTP/1.1 for older clients) with this certificate. */
  readonly tls?: Certificate | undefined
}

export interface ExampleMain {
  /** Shown in messages, e.g. `Express`. */
  readonly framework: string
  /** Whether `HTTPS=1` is supported (HTTP/2 needs the framework to run on `node:http2`). */
  readonly http2: boolean
  readonly start: (options: StartOptions) => Promise<RunningServer>
}

/** Past this, shutdown gives up on being graceful and exits anyway. */
export const SHUTDOWN_DEADLINE_MS = 1500

function readPort(value: string | undefined): number {
  if (value === undefined || value === '') return 3000
  const port = Number(value)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`PORT must be a whole number from 0 to 65535, got ${JSON.stringify(value)}`)
  }
  return port
}

const truthy = (value: string | undefined) => value !== undefined && /^(1|true|yes|on)$/i.test(value)

/**
 * Runs an example as a process.
 *
 * @example
 * await runExample({ framework: 'Koa', http2: true, start: startServer })
 */
export async function runExample({ framework, http2, start }: ExampleMain): Promise<void> {
  const env = process.env
  let running: RunningServer
  let certificate: Certificate | undefined
  try {
    const port = readPort(env.PORT)
    if (truthy(env.HTTPS)) {
      if (!http2) {
        throw new Error(
          `${framework} cannot serve HTTP/2 (it does not run on node:http2). Run examples/fastify, koa or hono with HTTPS=1, or put a proxy that speaks HTTP/2 to browsers in front.`,
        )
      }
      certificate = await loadCertificate({ cert: env.CERT, key: env.KEY })
    }
    running = await start({ port, host: env.HOST || undefined, tls: certificate })
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EADDRINUSE') console.error(`Port ${env.PORT ?? 3000} is in use: set PORT to another one.`)
    else console.error(error instanceof Error ? error.message : error)
    process.exit(1)
  }

  console.log(`@sse live demo (${framework}): ${running.url}/`)
  if (certificate?.selfSigned) {
    console.log(
      '  HTTPS with HTTP/2, self-signed certificate: the browser warns once (set CERT and KEY to use yours).',
    )
  }
  console.log('  Open it in a few tabs, send a notification, restart the server. Ctrl+C to stop.')

  let stopping = false
  const stop = (signal: NodeJS.Signals) => {
    // One Ctrl+C can arrive twice (from the terminal, and forwarded by npm): shut down once.
    if (stopping) return
    stopping = true
    console.log(`\n${signal}: closing every stream, then the server`)
    setTimeout(() => {
      console.error(`still not closed after ${SHUTDOWN_DEADLINE_MS} ms: exiting anyway`)
      process.exit(1)
    }, SHUTDOWN_DEADLINE_MS).unref()
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('shutdown failed:', error)
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}
