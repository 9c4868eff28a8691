/**
 * One workload for both exporters' tests: a real hub behind a real Express app, read by real
 * clients over real sockets, and a scraper that parses the exposition text with a real parser.
 */
import { createHub, type Hub } from '@sse/core'
import { sseHub } from '@sse/express'
import { openEventStream, pollUntil, startHttpServer } from '@sse/test-utils'
import express from 'express'
// @ts-expect-error: the parser ships no types; what it returns is described below.
import parsePrometheusTextFormat from 'parse-prometheus-text-format'
import { expect } from 'vitest'

interface Family {
  name: string
  type: string
  metrics: Array<{ value: string; labels?: Record<string, string> }>
}

export interface Served {
  readonly hub: Hub
  readonly app: express.Express
  readonly url: string
  /** Closes the server, then the hub. */
  close(): Promise<void>
}

/**
 * A hub (no heartbeat) and an app with `/events` on topic `news`; `routes` adds the app's own
 * (a `/metrics`) before it listens.
 */
export async function serveHub(routes: (app: express.Express, hub: Hub) => void): Promise<Served> {
  const hub = createHub({ heartbeat: false })
  const app = express()
  app.get('/events', sseHub({ hub, topics: () => ['news'] }))
  routes(app, hub)
  const server = await startHttpServer(app)
  const closing: Array<() => unknown> = [() => hub.close({ retry: false }), () => server.close()]
  return {
    hub,
    app,
    url: server.url,
    async close() {
      for (const step of closing.splice(0).reverse()) await step()
    },
  }
}

/**
 * What both tests do, and what the metrics must then say: three clients read five events, one
 * leaves (a `client` close), and one reconnects with an id no log knows (an `unknown` reset).
 * Returns a function that closes the clients still open.
 */
export async function runWorkload({ hub, url }: Served): Promise<() => Promise<void>> {
  const readers = await Promise.all([0, 1, 2].map(() => openEventStream(`${url}/events`)))
  const closeAll = async () => {
    for (const reader of readers) await reader.close()
  }
  try {
    await pollUntil(() => hub.size === 3, 5000, 'three streams')
    for (let i = 0; i < 5; i++) await hub.publish('news', { data: i })
    for (const reader of readers) await reader.waitFor(5)
    await readers[0]!.close()
    await pollUntil(() => hub.size === 2, 5000, 'the closed stream to leave')
    const stale = await openEventStream(`${url}/events`, { headers: { 'last-event-id': 'nope' } })
    readers.push(stale)
    await stale.next()
  } catch (error) {
    await closeAll()
    throw error
  }
  return closeAll
}

/** The samples the workload leaves, by `name{label="value"}`, as Prometheus names them. */
export const WORKLOAD_SAMPLES = {
  sse_streams: 3,
  sse_topics: 1,
  'sse_topic_streams{topic="news"}': 3,
  'sse_topic_streams{topic="sport"}': 0,
  sse_events_published_total: 5,
  sse_deliveries_total: 15,
  sse_deliveries_dropped_total: 0,
  sse_replayed_events_total: 0,
  'sse_stream_closes_total{reason="client"}': 1,
  'sse_resets_total{reason="unknown"}': 1,
  sse_paced_seconds_total: 0,
} as const

/** Scrapes `url` and returns each sample's value by `name{label="value"}`, and each family's type. */
export async function scrape(
  url: string,
): Promise<{ samples: Map<string, number>; types: Map<string, string> }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) })
  expect(response.status).toBe(200)
  expect(response.headers.get('content-type')).toMatch(/^text\/plain/)
  const families = parsePrometheusTextFormat(await response.text()) as Family[]
  const samples = new Map<string, number>()
  const types = new Map<string, string>()
  for (const family of families) {
    types.set(family.name, family.type)
    for (const metric of family.metrics) {
      // Without the scope labels OpenTelemetry's exporter adds (`otel_scope_name`): not ours.
      const labels = Object.entries(metric.labels ?? {})
        .filter(([name]) => !name.startsWith('otel_scope_'))
        .map(([name, value]) => `${name}="${value}"`)
      samples.set(
        labels.length > 0 ? `${family.name}{${labels.join(',')}}` : family.name,
        Number(metric.value),
      )
    }
  }
  return { samples, types }
}
