/**
 * The README's code runs as written: its ```ts block is `test/readme/metrics.ts`, imported as it
 * is (with `PORT=0`) and used over a real socket by a real client, then scraped.
 */
import { expectReadmeShowsExamples, openEventStream, runExample } from '@sse/test-utils'
import { register } from 'prom-client'
import { afterEach, expect, it } from 'vitest'

const examplesDir = new URL('./readme/', import.meta.url)
const cleanup: Array<() => unknown> = []
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step()
  register.clear()
})

it('shows the example file in full, and nothing in a ts block that is not in it', () => {
  expectReadmeShowsExamples(new URL('../README.md', import.meta.url), examplesDir)
})

it('metrics.ts: /metrics counts the stream and the event a client got', async () => {
  const example = await runExample(new URL('metrics.ts', examplesDir))
  cleanup.push(() => example.close())
  const reader = await openEventStream(`${example.url}/events`)
  cleanup.push(() => reader.close())
  const posted = await fetch(`${example.url}/news`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ title: 'hello' }),
  })
  expect(posted.status).toBe(201)
  expect(JSON.parse((await reader.next()).data)).toEqual({ title: 'hello' })
  const text = await (await fetch(`${example.url}/metrics`)).text()
  expect(text).toMatch(/^sse_streams 1$/m)
  expect(text).toMatch(/^sse_topic_streams\{topic="news"\} 1$/m)
  expect(text).toMatch(/^sse_events_published_total 1$/m)
  expect(text).toMatch(/^sse_deliveries_total 1$/m)
  expect(text).toMatch(/^process_resident_memory_bytes \d+/m)
})
