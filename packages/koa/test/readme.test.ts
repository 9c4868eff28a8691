/**
 * The README's examples, run as written: each `ts` block of the README is a file in
 * `test/readme/`, byte for byte, and here each file serves a real client on a real socket. The
 * one change is the port: `app.listen(3000)` listens on 127.0.0.1, port 0.
 */
import type { Server } from 'node:http'
import { fetchText, runningServer, useReadmeExamples, withTimeout } from '@sse/test-utils'
import Koa from 'koa'
import { describe, expect, it, vi } from 'vitest'

/** Imports an example with its `listen(3000)` listening on port 0; returns the one server it started. */
async function startKoa(load: () => Promise<unknown>, name: string) {
  const servers: Server[] = []
  const listen = Koa.prototype.listen
  const spy = vi.spyOn(Koa.prototype, 'listen').mockImplementation(function (this: Koa) {
    const server = (listen as (port: number, host: string) => Server).call(this, 0, '127.0.0.1')
    servers.push(server)
    return server
  })
  try {
    await withTimeout(load(), 5000, `importing ${name}`)
  } finally {
    spy.mockRestore()
  }
  const [server] = servers
  if (!server || servers.length > 1) throw new Error(`${name} called listen() ${servers.length} times`)
  return runningServer(server, name)
}

const readme = useReadmeExamples(import.meta.url, startKoa)

readme.describeTheReadme(['answer.ts', 'clock.ts', 'hub.ts', 'shutdown.ts'])

describe('README examples', () => {
  it('clock.ts: an EventSource gets the server time every second', async () => {
    const { url } = await readme.run('clock.ts')
    await readme.expectTicks(`${url}/clock`, 2)
    expect((await fetchText(`${url}/`)).status).toBe(404)
  })

  it('hub.ts: topics from the query, authorize by cookie, publishing from a POST route', async () => {
    const { url } = await readme.run('hub.ts')
    await readme.expectNotesHub(url)
  })

  it('shutdown.ts: on SIGTERM every stream ends with the last event, and the server closes', async () => {
    const example = await readme.run('shutdown.ts')
    await readme.expectByeOnSigterm(example, example.url)
  })

  readme.itStreamsTheAnswer()
})
