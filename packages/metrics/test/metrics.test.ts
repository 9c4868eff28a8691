/**
 * The metrics of a real hub behind a real Express app, read over a real socket the way Prometheus
 * scrapes them (`/metrics`), parsed with a real exposition-format parser, against what the test did.
 */
import { createHub, isSseError } from '@sse/core'
import { sseHub } from '@sse/express'
import { openEventStream, pollUntil, startHttpServer } from '@sse/test-utils'
import express from 'express'
// @ts-expect-error: the parser ships no types; what it returns is described below.
import parsePrometheusTextFormat from 'parse-prometheus-text-format'
import { Registry } from 'prom-client'
import { afterEach, expect, it } from 'vitest'
import { registerHubMetrics } from '../src/index.ts'

interface Family {
  name: string
  type: string
  metrics: Array<{ value: string; labels?: Record<string, string> }>
}

const closing: Array<() => unknown> = []
afterEach(async () => {
  for (const close of closing.splice(0).reverse()) await close()
})

/** Scrapes `url` and returns each sample's value by `name{label="value"}`. */
async function scrape(url: string): Promise<Map<string, number>> {
  const response = await fetch(url)
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
  const families = parsePrometheusTextFormat(await response.text()) as Family[]
  const samples = new Map<string, number>()
  for (const family of families) {
    for (const metric of family.metrics) {
      const labels = Object.entries(metric.labels ?? {}).map(([name, value]) => `${name}="${value}"`)
      samples.set(
        labels.length > 0 ? `${family.name}{${labels.join(',')}}` : family.name,
        Number(metric.value),
      )
    }
  }
  return samples
}

it('exposes streams, events, deliveries, closes and resets that match what the clients did', async () => {
  const hub = createHub({ heartbeat: false })
  closing.push(() => hub.close({ retry: false }))
  const registry = new Registry()
  const unregister = registerHubMetrics(hub, { registry, topics: ['news', 'sport'] })
  const app = express()
  app.get('/events', sseHub({ hub, topics: () => ['news'] }))
  app.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics())
  })
  const server = await startHttpServer(app)
  closing.push(() => server.close())

  const readers = await Promise.all([0, 1, 2].map(() => openEventStream(`${server.url}/events`)))
  for (const reader of readers) closing.push(() => reader.close())
  await pollUntil(() => hub.size === 3, 5000, 'three streams')
  for (let i = 0; i < 5; i++) await hub.publish('news', { data: i })
  for (const reader of readers) await reader.waitFor(5)
  await readers[0]!.close()
  await pollUntil(() => hub.size === 2, 5000, 'the closed stream to leave')
  // A reconnect with an id no log knows: an sse-reset ('unknown'), then live.
  const stale = await openEventStream(`${server.url}/events`, { headers: { 'last-event-id': 'nope' } })
  closing.push(() => stale.close())
  await stale.next()

  const samples = await scrape(`${server.url}/metrics`)
  expect(samples.get('sse_streams')).toBe(3)
  expect(samples.get('sse_topics')).toBe(1)
  expect(samples.get('sse_topic_streams{topic="news"}')).toBe(3)
  expect(samples.get('sse_topic_streams{topic="sport"}')).toBe(0)
  expect(samples.get('sse_events_published_total')).toBe(5)
  expect(samples.get('sse_deliveries_total')).toBe(15)
  expect(samples.get('sse_deliveries_dropped_total')).toBe(0)
  expect(samples.get('sse_replayed_events_total')).toBe(0)
  expect(samples.get('sse_stream_closes_total{reason="client"}')).toBe(1)
  expect(samples.get('sse_resets_total{reason="unknown"}')).toBe(1)
  expect(samples.get('sse_paced_seconds_total')).toBe(0)

  // Counters only grow, scrape after scrape, by what happened in between.
  await hub.publish('news', { data: 'more' })
  const again = await scrape(`${server.url}/metrics`)
  expect(again.get('sse_events_published_total')).toBe(6)
  expect(again.get('sse_deliveries_total')).toBe(18)

  unregister()
  expect(await registry.metrics()).not.toContain('sse_')
})

it('refuses a prefix that is not a metric name and topics that are not strings', () => {
  const hub = createHub({ heartbeat: false })
  const codeOf = (run: () => unknown) => {
    try {
      run()
    } catch (error) {
      return isSseError(error) ? error.code : 'not an SseError'
    }
    return 'no error'
  }
  expect(codeOf(() => registerHubMetrics(hub, { registry: new Registry(), prefix: 'bad prefix ' }))).toBe(
    'SSE_INVALID_OPTION',
  )
  expect(codeOf(() => registerHubMetrics(hub, { registry: new Registry(), topics: [''] }))).toBe(
    'SSE_INVALID_OPTION',
  )
  // Another prefix in the same registry: two hubs side by side.
  const registry = new Registry()
  registerHubMetrics(hub, { registry })
  expect(codeOf(() => registerHubMetrics(hub, { registry, prefix: 'other_sse_' }))).toBe('no error')
})
