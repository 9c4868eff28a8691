/**
 * The README's examples, run as written: each `ts` block of the README is an excerpt of a file in
 * `test/readme/`, and here each file serves a real client on a real socket. The one change is
 * the port: `@hono/node-server`'s `serve` listens on 127.0.0.1, port 0.
 */
import type { ServerType } from '@hono/node-server'
import { fetchText, readResponse, runningServer, useReadmeExamples, withTimeout } from '@sse/test-utils'
import { describe, expect, it, vi } from 'vitest'

/** Every server an example started through `serve`, with the `fetch` it was given. */
const served = vi.hoisted((): Array<{ server: ServerType; fetch: (request: Request) => unknown }> => [])
vi.mock('@hono/node-server', async (importOriginal) => {
  const original = await importOriginal<typeof import('@hono/node-server')>()
  const serve: typeof original.serve = (options, listener) => {
    const server = original.serve({ ...options, port: 0, hostname: '127.0.0.1' }, listener)
    served.push({ server, fetch: (request) => options.fetch(request, undefined as never) })
    return server
  }
  return { ...original, serve }
})

/** Imports an example with its `serve` listening on port 0; returns the one server it started, and the app's `fetch`. */
async function startHono(load: () => Promise<unknown>, name: string) {
  const count = served.length
  await withTimeout(load(), 5000, `importing ${name}`)
  const started = served.slice(count)
  if (started.length !== 1) throw new Error(`${name} called serve() ${started.length} times`)
  const { server, fetch } = started[0]!
  return {
    ...(await runningServer(server, name)),
    /** The app's `fetch`, to call it without a server, as Bun, Deno and Workers do. */
    fetch: async (request: Request) => (await fetch(request)) as Response,
  }
}

const readme = useReadmeExamples(import.meta.url, startHono)
const { open } = readme

async function post(url: string, body?: string): Promise<unknown> {
  const answer = await fetchText(url, { method: 'POST', body })
  expect(answer.status, url).toBeLessThan(300)
  return answer.body === '' ? undefined : JSON.parse(answer.body)
}

readme.describeTheReadme(['answer.ts', 'clock.ts', 'hub.ts', 'shutdown.ts', 'versus-stream-sse.ts'])

describe('README examples', () => {
  it('clock.ts: an EventSource gets the server time every second', async () => {
    const { fetch: appFetch, url } = await readme.run('clock.ts')
    await readme.expectTicks(`${url}/clock`, 2)
    // The same app without a server, as Bun, Deno and Workers call it.
    const reader = readResponse(await appFetch(new Request('http://localhost/clock')))
    readme.defer(() => reader.cancel())
    expect((await reader.waitFor(1, 5000))[0]?.event).toBe('tick')
  })

  it('hub.ts: topics from the query, authorize by cookie, publishing from a POST route', async () => {
    const { url } = await readme.run('hub.ts')
    await readme.expectNotesHub(url)
  })

  it('versus-stream-sse.ts: both deliver; only the hub route sends ids, replays, and sends no hop-by-hop headers', async () => {
    const { url } = await readme.run('versus-stream-sse.ts')
    const theirs = await open(`${url}/streamsse/notes`)
    const ours = await open(`${url}/notes`)
    // streamSSE sets both, which Node's HTTP/2 refuses (ERR_HTTP2_INVALID_CONNECTION_HEADERS).
    expect(theirs.headers['transfer-encoding']).toBe('chunked')
    expect(theirs.rawHeaders.map((name) => name.toLowerCase())).toContain('connection')
    expect(ours.headers['cache-control']).toBe('no-cache, no-transform')
    expect(ours.headers['x-accel-buffering']).toBe('no')
    await ours.waitForComments(1)

    // Both routes subscribe before their heads go out, so the next publishes reach them.
    await post(`${url}/streamsse/notes`, 'one')
    const { id } = (await post(`${url}/notes`, 'one')) as { id: string }
    expect(await theirs.next()).toEqual({ event: 'note', id: undefined, data: 'one' })
    expect(await ours.next()).toEqual({ event: 'note', id, data: 'one' })

    // A client that reconnects after missing an event: only the hub route replays it.
    await ours.close()
    await post(`${url}/notes`, 'missed')
    const again = await open(`${url}/notes`, { headers: { 'last-event-id': id } })
    expect(await again.next()).toMatchObject({ event: 'note', data: 'missed' })
  })

  it('shutdown.ts: on SIGTERM every stream ends with the last event, and the server closes', async () => {
    const example = await readme.run('shutdown.ts')
    await readme.expectByeOnSigterm(example, `${example.url}/events`)
  })

  readme.itStreamsTheAnswer()
})
