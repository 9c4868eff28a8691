/**
 * The code in the root README and in @sse/core's README runs as written: the blocks are the
 * files of `test/readme/` (checked both ways), and each file is imported here with `PORT=0` and
 * read by a real client over a real socket.
 */
import { expect, it } from 'vitest'
import {
  expectReadmeShowsExamples,
  expectReadmeShowsFiles,
  openEventStream,
  useReadmeExamples,
  withTimeout,
} from '../src/index.ts'

const examples = new URL('./readme/', import.meta.url)
const readme = useReadmeExamples(import.meta.url)

it('the READMEs show the example files, and nothing else', () => {
  const core = new URL('../../core/README.md', import.meta.url)
  expect(
    expectReadmeShowsExamples(core, examples, [
      'core-clock.ts',
      'core-hub.ts',
      'core-paced.ts',
      'core-revoke.ts',
    ]),
  ).toHaveLength(4)
  // The root README shows one example per package, each run by that package's own README test.
  const packages = new URL('../../', import.meta.url)
  expectReadmeShowsFiles(new URL('../../../README.md', import.meta.url), [
    new URL('core-hub.ts', examples),
    ...['express', 'fastify', 'koa', 'hono'].map((name) => new URL(`${name}/test/readme/clock.ts`, packages)),
    new URL('redis/test/readme/hub.ts', packages),
    new URL('client/test/readme/node.ts', packages),
  ])
})

it('core-clock.ts: an EventSource gets the server time', async () => {
  const { url } = await readme.run('core-clock.ts')
  await readme.expectTicks(url, 1)
})

it('core-hub.ts: a POST reaches subscribers, and SIGTERM ends the streams and the server', async () => {
  const example = await readme.run('core-hub.ts')
  const reader = await readme.open(example.url)
  const posted = await fetch(example.url, { method: 'POST', signal: AbortSignal.timeout(5000) })
  const id = await withTimeout(posted.text(), 5000, 'the POST body')
  expect(await reader.next()).toEqual({ id, event: 'news', data: '{"title":"hello"}' })

  await readme.shutDown(example, 5000)
  expect(await reader.waitForEnd()).toBe('end')
  expect(reader.retries).toHaveLength(2) // the hub's as it subscribed, then close()'s
})

it('core-paced.ts: a per-client stream paced by stream.ready(), and an export paced by hub.ready()', async () => {
  const { url } = await readme.run('core-paced.ts')
  const tokens = await readme.open(`${url}/answer`, { keepEvents: false })
  expect(await tokens.waitForEnd(30_000)).toBe('end')
  expect(tokens.eventCount).toBe(10_000)

  const readers = await Promise.all(
    [1, 2, 3].map(() => openEventStream(`${url}/export`, { keepEvents: false })),
  )
  readme.defer(() => Promise.all(readers.map((reader) => reader.close())))
  await Promise.all(readers.map((reader) => reader.waitForComments(1)))
  const posted = await fetch(url, { method: 'POST', signal: AbortSignal.timeout(30_000) })
  expect(await withTimeout(posted.text(), 30_000, 'the export to finish')).toBe('done')
  for (const reader of readers) {
    await reader.waitUntil(() => reader.eventCount === 5000, 10_000, 'every row')
  }
})

it('core-revoke.ts: streams carry their user, a logout closes exactly that user’s, the reconnect is refused, and presence follows', async () => {
  const { url } = await readme.run('core-revoke.ts')
  const watching = (reader: { events: ReadonlyArray<{ event?: string | undefined; data: string }> }) =>
    reader.events.filter((event) => event.event === 'watching').map((event) => JSON.parse(event.data))
  const ada = [await readme.open(`${url}/doc?token=t-ada`), await readme.open(`${url}/doc?token=t-ada`)]
  const bob = await readme.open(`${url}/doc?token=t-bob`)
  const lastWatching = (reader: typeof bob) => watching(reader).at(-1) as { streams: number; users: string[] }
  await bob.waitUntil(() => lastWatching(bob)?.streams === 3, 5000, 'bob to see three streams')
  expect(lastWatching(bob).users.sort()).toEqual(['ada', 'bob'])

  const logout = await fetch(`${url}/logout?token=t-ada`, {
    method: 'POST',
    signal: AbortSignal.timeout(5000),
  })
  expect(await withTimeout(logout.json(), 5000, 'the logout answer')).toEqual({ closed: 2 })
  for (const reader of ada) {
    expect(await reader.waitForEnd()).toBe('end')
    expect(reader.events.at(-1)).toMatchObject({ event: 'logout', data: '' })
  }
  // Bob's stream stays, and sees ada leave.
  await bob.waitUntil(() => lastWatching(bob)?.streams === 1, 5000, 'bob to see one stream')
  expect(lastWatching(bob).users).toEqual(['bob'])
  expect(bob.ended).toBeUndefined()
  // The reconnect of a revoked session is refused: a 401 stops an EventSource for good.
  const again = await fetch(`${url}/doc?token=t-ada`, { signal: AbortSignal.timeout(5000) })
  expect(again.status).toBe(401)
})
