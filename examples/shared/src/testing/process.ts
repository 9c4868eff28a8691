/**
 * The example as `npm start` runs it: `node dist/server.mjs` in its own process. It prints its
 * URL, serves, and on SIGTERM ends every stream and exits with code 0 (the graceful path; past
 * its 1.5 s deadline it would exit with 1). With `HTTPS=1` the HTTP/2 examples serve HTTP/2 over
 * TLS with a self-signed certificate made at start; the others refuse with a message.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { type EventStreamReader, openEventStream, withTimeout } from '@sse/test-utils'
import { afterEach, describe, expect, it } from 'vitest'
import { type ExampleUnderTest, WAIT_MS } from './example.ts'
import { connectH2 } from './h2.ts'

interface Started {
  readonly child: ChildProcess
  readonly output: () => string
  readonly exited: Promise<number | null>
}

function run(entry: string, env: Record<string, string>): Started {
  const child = spawn(process.execPath, [entry], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk
  })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return { child, output: () => output, exited }
}

async function urlOf(started: Started): Promise<string> {
  let url: string | undefined
  const printed = new Promise<void>((resolve, reject) => {
    const check = () => {
      url = /(https?:\/\/\S+?)\/?$/m.exec(started.output())?.[1]
      if (url) resolve()
    }
    started.child.stdout?.on('data', check)
    started.exited.then((code) => reject(new Error(`exited with ${code}: ${started.output()}`)))
    check()
  })
  await withTimeout(printed, WAIT_MS, () => `the URL printed at start; output: ${started.output()}`)
  return url!
}

/** Registers the process tests of one example; `entry` is its built `dist/server.mjs`. */
export function describeExampleProcess({ framework, http2 }: ExampleUnderTest, entry: string): void {
  describe(`${framework} example: node dist/server.mjs`, () => {
    const running: Started[] = []
    const readers: EventStreamReader[] = []
    afterEach(async () => {
      await Promise.all(readers.splice(0).map((reader) => reader.close()))
      for (const started of running.splice(0)) {
        if (started.child.exitCode === null && started.child.signalCode === null)
          started.child.kill('SIGKILL')
        await withTimeout(started.exited, WAIT_MS, 'the example process to exit')
      }
    })

    function start(env: Record<string, string> = {}): Started {
      if (!existsSync(entry)) throw new Error(`${entry} is missing: build the example first (pnpm build)`)
      const started = run(entry, env)
      running.push(started)
      return started
    }

    it('prints its URL, and on SIGTERM ends every stream and exits with 0, clients connected', async () => {
      const started = start()
      const url = await urlOf(started)
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      for (const path of ['/events', '/clock']) readers.push(await openEventStream(`${url}${path}`))
      await readers[1]!.waitFor(1, WAIT_MS)
      started.child.kill('SIGTERM')
      expect(await withTimeout(started.exited, WAIT_MS, 'exit after SIGTERM')).toBe(0)
      for (const reader of readers) {
        expect(await reader.waitForEnd(WAIT_MS)).toBe('end')
        expect(reader.events.map((event) => event.event)).toContain('shutdown')
      }
      expect(started.output()).not.toContain('exiting anyway')
    })

    if (http2) {
      it('serves HTTPS with HTTP/2 under HTTPS=1, on a self-signed certificate made at start', async () => {
        const started = start({ HTTPS: '1' })
        const url = await urlOf(started)
        expect(url).toMatch(/^https:\/\//)
        const client = await connectH2(url)
        try {
          const health = await client.get('/health')
          expect(health.status).toBe(200)
          expect(JSON.parse(health.body)).toMatchObject({ framework })
          const clock = await client.events('/clock')
          expect(clock.status).toBe(200)
          expect(clock.contentType).toContain('text/event-stream')
          await clock.waitForEvent((event) => event.event === 'tick', WAIT_MS)
          started.child.kill('SIGTERM')
          expect(await withTimeout(started.exited, WAIT_MS, 'exit after SIGTERM over HTTP/2')).toBe(0)
          await clock.waitForEvent((event) => event.event === 'shutdown', WAIT_MS)
        } finally {
          await client.close()
        }
      })
    } else {
      it('refuses HTTPS=1 with a message saying where HTTP/2 is', async () => {
        const started = start({ HTTPS: '1' })
        expect(await withTimeout(started.exited, WAIT_MS, 'exit')).toBe(1)
        expect(started.output()).toMatch(/cannot serve HTTP\/2.*fastify, koa or hono/)
      })
    }
  })
}
