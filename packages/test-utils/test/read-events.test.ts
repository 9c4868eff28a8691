/**
 * The reader itself, against hand-written bytes: whatever the chunking (one byte at a time, a
 * CRLF split across chunks, a character split across chunks) it must parse the same events,
 * and its waits must fail with a label instead of hanging.
 */
import { afterEach, expect, it } from 'vitest'
import {
  DeadlineError,
  type EventStreamReader,
  openEventStream,
  startHttp2Server,
  startHttpServer,
  type TestServer,
  withTimeout,
} from '../src/index.ts'

const BODY = Buffer.from(
  ': hello\r\n\r\nretry: 250\r\nid: 1\r\nevent: greet\r\ndata: 😀 中\r\ndata: second line\r\r' +
    'data:no space\n\ndata: last\n\n',
  'utf8',
)
const EXPECTED = [
  { id: '1', event: 'greet', data: '😀 中\nsecond line' },
  { data: 'no space' },
  { data: 'last' },
]

let cleanup: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const step of cleanup.reverse()) await step()
  cleanup = []
})

function track<T extends TestServer | EventStreamReader>(resource: T): T {
  cleanup.push(() => resource.close())
  return resource
}

/** Writes `BODY` in chunks of `size` bytes, one per turn of the event loop, then ends. */
async function writeChunked(res: { write(chunk: Uint8Array): unknown; end(): unknown }, size: number) {
  for (let i = 0; i < BODY.length; i += size) {
    res.write(BODY.subarray(i, i + size))
    await new Promise((resolve) => setImmediate(resolve))
  }
  res.end()
}

for (const size of [1, 2, 3, 7, BODY.length]) {
  it(`parses the same events from chunks of ${size} byte(s), over HTTP/1.1 and HTTP/2`, async () => {
    const head = { 'content-type': 'text/event-stream' }
    const server1 = track(
      await startHttpServer((_req, res) => {
        res.writeHead(200, head)
        return writeChunked(res, size)
      }),
    )
    const server2 = track(
      await startHttp2Server((_req, res) => {
        res.writeHead(200, head)
        return writeChunked(res, size)
      }),
    )
    for (const [url, http2] of [
      [server1.url, false],
      [server2.url, true],
    ] as const) {
      const reader = track(await openEventStream(url, { http2 }))
      expect(await reader.waitForEnd()).toBe('end')
      expect(reader.events).toEqual(EXPECTED)
      expect(reader.comments).toEqual(['hello'])
      expect(reader.retries).toEqual([250])
      expect(reader.bytesReceived).toBe(BODY.length)
    }
  })
}

it('iterates events until the stream ends, and next() fails once it has ended', async () => {
  const server = track(
    await startHttpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.end(BODY)
    }),
  )
  const reader = track(await openEventStream(server.url))
  const seen = []
  for await (const event of reader) seen.push(event)
  expect(seen).toEqual(EXPECTED)
  await expect(reader.next()).rejects.toThrow(/ended/)
})

it('fails a wait at its deadline with a label saying what it waited for', async () => {
  const server = track(
    await startHttpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write(':\n\n')
    }),
  )
  const reader = track(await openEventStream(server.url))
  const error = await reader.waitFor(1, 50).catch((caught: unknown) => caught)
  expect(error).toBeInstanceOf(DeadlineError)
  expect(String(error)).toMatch(/waiting for 1 events; got 0 events/)
  await expect(withTimeout(new Promise(() => {}), 10, 'nothing')).rejects.toThrow(
    'nothing: no result after 10 ms',
  )
})

it('closes a server with live streams at once', async () => {
  const server = await startHttpServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.write(':\n\n')
  })
  const reader = track(await openEventStream(server.url))
  await reader.waitForComments(1)
  await withTimeout(server.close(), 2000, 'server.close() with a live stream')
  expect(await reader.waitForEnd()).toBe('aborted')
})
