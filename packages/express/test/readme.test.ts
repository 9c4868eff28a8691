/**
 * The README's code runs as written. Every ```ts block of README.md is a verbatim excerpt of a
 * file in `test/readme/`, every line of those files is shown in the README, and each file is
 * run here: imported as it is (with `PORT=0`), then read over a real socket by a real client.
 */
import { fetchJson, postJson, useReadmeExamples } from '@sse/test-utils'
import { expect, it } from 'vitest'

const readme = useReadmeExamples(import.meta.url)

readme.itShowsTheExamples('shows every example file in full, and nothing in a ts block that is not in one')

it('clock.ts: sends the server time every second to an EventSource', async () => {
  const { url } = await readme.run('clock.ts')
  await readme.expectTicks(`${url}/clock`, 1)
})

it('hub.ts: refuses without a login, fans a POST out to subscribers, and shuts down on SIGTERM', async () => {
  const example = await readme.run('hub.ts')
  const { url } = example
  expect(await fetchJson(`${url}/events`)).toMatchObject({ status: 401, body: { error: 'login first' } })

  const reader = await readme.open(`${url}/events?topics=news,sport`, {
    headers: { authorization: 'Bearer demo' },
  })
  expect(reader.status).toBe(200)
  // The head went out from the same synchronous step that subscribed the stream.
  const posted = await postJson(`${url}/news`, { title: 'hello' })
  expect(posted.status).toBe(201)
  const { id } = posted.body as { id: string }
  expect(await reader.next()).toEqual({ id, event: 'news', data: '{"title":"hello"}' })

  await readme.shutDown(example, 5000)
  expect(await reader.waitForEnd()).toBe('end')
  expect(reader.retries).toHaveLength(2) // the hub's as it subscribed, then close()'s
})

readme.itStreamsTheAnswer()
