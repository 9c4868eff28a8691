/**
 * The README's code runs as written: its ```ts blocks are `test/readme/metrics.ts` and
 * `test/readme/otel.ts`, each imported as it is (with `PORT=0`) and used over a real socket by a
 * real client, then scraped.
 */
import type http from 'node:http'
import { createRequire } from 'node:module'
import { expectReadmeShowsExamples, openEventStream, runExample, runningServer } from '@sse/test-utils'
import { register } from 'prom-client'
import { afterEach, expect, it, vi } from 'vitest'
import { scrape } from './hub-workload.ts'

const examplesDir = new URL('./readme/', import.meta.url)
/** `node:http` as CommonJS code sees it (Express and the exporter call `createServer` on it). */
const nodeHttp = createRequire(import.meta.url)('node:http') as typeof http
const cleanup: Array<() => unknown> = []
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step()
  register.clear()
})

it('shows the example file in full, and nothing in a ts block that is not in it', () => {
  expectReadmeShowsExamples(new URL('../README.md', import.meta.url), examplesDir)
})

/** A reader of the example's `/events`, one POST to `/news`, and that event read: the workload both examples count. */
async function oneEventThrough(url: string): Promise<void> {
  const reader = await openEventStream(`${url}/events`)
  cleanup.push(() => reader.close())
  const posted = await fetch(`${url}/news`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ title: 'hello' }),
  })
  expect(posted.status).toBe(201)
  expect(JSON.parse((await reader.next()).data)).toEqual({ title: 'hello' })
}

it('metrics.ts: /metrics counts the stream and the event a client got', async () => {
  const example = await runExample(new URL('metrics.ts', examplesDir))
  cleanup.push(() => example.close())
  await oneEventThrough(example.url)
  const text = await (await fetch(`${example.url}/metrics`)).text()
  expect(text).toMatch(/^sse_streams 1$/m)
  expect(text).toMatch(/^sse_topic_streams\{topic="news"\} 1$/m)
  expect(text).toMatch(/^sse_events_published_total 1$/m)
  expect(text).toMatch(/^sse_deliveries_total 1$/m)
  expect(text).toMatch(/^process_resident_memory_bytes \d+/m)
})

/**
 * As `runExample`, for an example whose one listening server is not the only one it creates: the
 * SDK's `PrometheusExporter` creates its own, which never listens under `preventServerStart`.
 */
async function runListening(name: string) {
  const createServer = vi.spyOn(nodeHttp, 'createServer')
  const port = process.env.PORT
  process.env.PORT = '0'
  let servers: http.Server[]
  try {
    await import(new URL(name, examplesDir).href)
  } finally {
    servers = createServer.mock.results.map((result) => result.value as http.Server)
    createServer.mockRestore()
    if (port === undefined) delete process.env.PORT
    else process.env.PORT = port
  }
  const listening = servers.filter((server) => server.listening)
  expect(listening, `readme/${name} listens on one server`).toHaveLength(1)
  return runningServer(listening[0]!, `readme/${name}`)
}

it('otel.ts: /metrics, written by OpenTelemetry’s Prometheus exporter, counts the same', async () => {
  const example = await runListening('otel.ts')
  cleanup.push(() => example.close())
  await oneEventThrough(example.url)
  const { samples } = await scrape(`${example.url}/metrics`)
  expect(samples.get('sse_streams')).toBe(1)
  expect(samples.get('sse_topic_streams{topic="news"}')).toBe(1)
  expect(samples.get('sse_events_published_total')).toBe(1)
  expect(samples.get('sse_deliveries_total')).toBe(1)
})
