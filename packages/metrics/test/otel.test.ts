/**
 * The OpenTelemetry entry on the real SDK (`@opentelemetry/sdk-metrics`): a real hub behind a real
 * Express app, real clients over real sockets, the SDK's data points read through a MetricReader
 * against what the test did, and the same workload scraped side by side through prom-client and
 * through OpenTelemetry's own Prometheus exporter, so the name mapping the README gives is checked.
 */

import { metrics } from '@opentelemetry/api'
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus'
import {
  AggregationTemporality,
  type DataPoint,
  DataPointType,
  MeterProvider,
  MetricReader,
} from '@opentelemetry/sdk-metrics'
import { createHub } from '@sse/core'
import { codeOf } from '@sse/test-utils'
import { Registry } from 'prom-client'
import { afterEach, expect, it } from 'vitest'
import { registerHubMetrics } from '../src/index.ts'
import { registerHubMetricsOtel } from '../src/otel.ts'
import { runWorkload, scrape, serveHub, WORKLOAD_SAMPLES } from './hub-workload.ts'

/** A pull reader: collects when the test asks, as a Prometheus scrape or an OTLP export would. */
class TestReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

const closing: Array<() => unknown> = []
afterEach(async () => {
  for (const close of closing.splice(0).reverse()) await close()
})

/** A MeterProvider read by a TestReader (cumulative, the SDK's default), closed after the test. */
function sdk(temporality = AggregationTemporality.CUMULATIVE) {
  const reader = new TestReader({ aggregationTemporalitySelector: () => temporality })
  const provider = new MeterProvider({ readers: [reader] })
  closing.push(() => provider.shutdown())
  return { reader, meter: provider.getMeter('test') }
}

interface Point {
  /** A sum that only grows (a counter), a sum that may fall (an up-down counter), or another kind. */
  kind: 'counter' | 'up-down counter' | 'other'
  unit: string
  value: number
}

/** Collects, and returns each data point by `name{key="value"}`, with its instrument's type and unit. */
async function collect(reader: MetricReader): Promise<Map<string, Point>> {
  const { resourceMetrics, errors } = await reader.collect({ timeoutMillis: 5000 })
  expect(errors).toEqual([])
  const points = new Map<string, Point>()
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      for (const point of metric.dataPoints as DataPoint<number>[]) {
        const attributes = Object.entries(point.attributes).map(([key, value]) => `${key}="${String(value)}"`)
        const name =
          attributes.length > 0 ? `${metric.descriptor.name}{${attributes}}` : metric.descriptor.name
        const kind =
          metric.dataPointType !== DataPointType.SUM
            ? 'other'
            : metric.isMonotonic
              ? 'counter'
              : 'up-down counter'
        points.set(name, { kind, unit: metric.descriptor.unit, value: point.value })
      }
    }
  }
  return points
}

const values = (points: Map<string, Point>) =>
  Object.fromEntries([...points].map(([name, point]) => [name, point.value]))

it('reports streams, events, deliveries, closes and resets that match what the clients did', async () => {
  const { reader, meter } = sdk()
  let unregister = () => {}
  const served = await serveHub((_app, hub) => {
    unregister = registerHubMetricsOtel(hub, { meter, topics: ['news', 'sport'] })
  })
  closing.push(() => served.close())
  closing.push(await runWorkload(served))

  const points = await collect(reader)
  expect(values(points)).toEqual({
    'sse.streams': 3,
    'sse.topics': 1,
    'sse.topic.streams{topic="news"}': 3,
    'sse.topic.streams{topic="sport"}': 0,
    'sse.events.published': 5,
    'sse.deliveries': 15,
    'sse.deliveries.dropped': 0,
    'sse.replayed_events': 0,
    'sse.stream.closes{reason="client"}': 1,
    'sse.resets{reason="unknown"}': 1,
    'sse.paced': 0,
  })
  // Counts of things now are up-down counters (they add up across instances); the rest only grow.
  expect(points.get('sse.streams')).toMatchObject({
    kind: 'up-down counter',
    unit: '{stream}',
  })
  expect(points.get('sse.deliveries')).toMatchObject({
    kind: 'counter',
    unit: '{delivery}',
  })
  expect(points.get('sse.paced')).toMatchObject({ kind: 'counter', unit: 's' })

  // Cumulative, collection after collection, by what happened in between.
  await served.hub.publish('news', { data: 'more' })
  const again = await collect(reader)
  expect(again.get('sse.events.published')?.value).toBe(6)
  expect(again.get('sse.deliveries')?.value).toBe(18)

  // Unregistered: no longer observed (a cumulative SDK repeats the last values it had).
  unregister()
  await served.hub.publish('news', { data: 'unseen' })
  const after = await collect(reader)
  expect(after.get('sse.events.published')?.value).toBe(6)
  expect(after.get('sse.deliveries')?.value).toBe(18)
})

it('gives deltas to an exporter that wants them, from the same cumulative observations', async () => {
  const { reader, meter } = sdk(AggregationTemporality.DELTA)
  const hub = createHub({ heartbeat: false })
  closing.push(() => hub.close({ retry: false }))
  registerHubMetricsOtel(hub, { meter })
  await hub.publish('news', { data: 1 })
  await hub.publish('news', { data: 2 })
  expect((await collect(reader)).get('sse.events.published')?.value).toBe(2)
  await hub.publish('news', { data: 3 })
  expect((await collect(reader)).get('sse.events.published')?.value).toBe(1)
})

it('writes, through OpenTelemetry’s Prometheus exporter, the names and values prom-client does', async () => {
  const registry = new Registry()
  const exporter = new PrometheusExporter({
    preventServerStart: true,
    withoutScopeInfo: true,
    withoutTargetInfo: true,
  })
  const provider = new MeterProvider({ readers: [exporter] })
  closing.push(() => provider.shutdown())
  const served = await serveHub((app, hub) => {
    registerHubMetrics(hub, { registry, topics: ['news', 'sport'] })
    registerHubMetricsOtel(hub, { meter: provider.getMeter('@sse/metrics'), topics: ['news', 'sport'] })
    app.get('/metrics', async (_req, res) => {
      res.type(registry.contentType).send(await registry.metrics())
    })
    app.get('/otel-metrics', (req, res) => exporter.getMetricsRequestHandler(req, res))
  })
  closing.push(() => served.close())
  closing.push(await runWorkload(served))

  const prom = await scrape(`${served.url}/metrics`)
  const otel = await scrape(`${served.url}/otel-metrics`)
  // The exporter writes the unit only as a `# UNIT` line, not as a suffix: `sse.paced` (seconds)
  // is `sse_paced_total` there. Every other name, type and value is the same.
  const renamed = (name: string) => name.replace(/^sse_paced_total$/, 'sse_paced_seconds_total')
  const ours = (map: Map<string, number | string>) =>
    Object.fromEntries(
      [...map].filter(([name]) => name.startsWith('sse_')).map(([name, v]) => [renamed(name), v]),
    )
  expect(ours(otel.samples)).toEqual(WORKLOAD_SAMPLES)
  expect(ours(otel.samples)).toEqual(ours(prom.samples))
  expect(ours(otel.types)).toEqual(ours(prom.types))
})

it('keeps reporting after the hub closed', async () => {
  const { reader, meter } = sdk()
  const hub = createHub({ heartbeat: false })
  registerHubMetricsOtel(hub, { meter })
  await hub.close({ retry: false })
  await expect(hub.publish('news', { data: 1 })).rejects.toThrow()
  const points = await collect(reader)
  expect(points.get('sse.streams')?.value).toBe(0)
  expect(points.get('sse.events.published')?.value).toBe(0)
})

it('without a meter, uses the global MeterProvider the SDK was installed as', async () => {
  const reader = new TestReader()
  const provider = new MeterProvider({ readers: [reader] })
  expect(metrics.setGlobalMeterProvider(provider)).toBe(true)
  closing.push(() => metrics.disable())
  closing.push(() => provider.shutdown())
  const hub = createHub({ heartbeat: false })
  closing.push(() => hub.close({ retry: false }))
  registerHubMetricsOtel(hub)
  await hub.publish('news', { data: 1 })
  const { resourceMetrics } = await reader.collect()
  const scope = resourceMetrics.scopeMetrics.find((one) => one.scope.name === '@sse/metrics')
  expect(
    scope?.metrics.find((metric) => metric.descriptor.name === 'sse.events.published')?.dataPoints[0]?.value,
  ).toBe(1)
})

it('without an SDK installed, uses the API’s global meter, a no-op, and the hub works as before', async () => {
  const hub = createHub({ heartbeat: false })
  closing.push(() => hub.close({ retry: false }))
  const unregister = registerHubMetricsOtel(hub)
  expect(await hub.publish('news', { data: 1 })).toMatch(/-1$/)
  unregister()
})

it('refuses a prefix that cannot start an instrument name and topics that are not strings', () => {
  const hub = createHub({ heartbeat: false })
  const { meter } = sdk()
  expect(codeOf(() => registerHubMetricsOtel(hub, { meter, prefix: '1sse.' }))).toBe('SSE_INVALID_OPTION')
  expect(codeOf(() => registerHubMetricsOtel(hub, { meter, prefix: 'sse ' }))).toBe('SSE_INVALID_OPTION')
  expect(codeOf(() => registerHubMetricsOtel(hub, { meter, topics: [''] }))).toBe('SSE_INVALID_OPTION')
  expect(codeOf(() => registerHubMetricsOtel(hub, { meter, prefix: 'app.sse.' }))).toBe('no error')
})
