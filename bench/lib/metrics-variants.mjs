/**
 * The servers of the metrics-cost benchmark (`metrics-cost.mjs`): the `@sse/core` hub of
 * `fanout.mjs`'s (c), as it is (`off`), with `@sse/metrics` on prom-client (`prom`), and with
 * `@sse/metrics/otel` on the OpenTelemetry SDK (`otel`). The two with metrics are also scraped
 * while they run, every `METRICS_SCRAPE_MS`, in the server's own process: Prometheus scrapes every
 * 15 to 60 s, so this is the cost of metrics at their most expensive. `again` is `off` once more,
 * a control: how far two runs of the same code differ on this machine.
 */
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics'
import { registerHubMetrics } from '@sse/metrics'
import { registerHubMetricsOtel } from '@sse/metrics/otel'
import { Registry } from 'prom-client'
import { coreVariant } from './variants.mjs'

/** @typedef {import('./variants.mjs').Variant} Variant */
/** @typedef {keyof typeof METRICS_LABELS} MetricsVariantName */

export const METRICS_LABELS = {
  off: '@sse/core hub, no metrics',
  prom: '+ @sse/metrics (prom-client)',
  otel: '+ @sse/metrics/otel (SDK)',
  // The same as `off`, run as a variant of its own: its ratio to `off` is the noise of the machine.
  again: 'no metrics, again (control)',
}

/** How often the variants with metrics are scraped during a run (ms). */
export const METRICS_SCRAPE_MS = 100

/** A pull reader, as the Prometheus exporter of the SDK is: collects when asked. */
export class PullReader extends MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}

/**
 * @param {MetricsVariantName} name
 * @param {string} payload
 * @returns {Variant}
 */
export function createMetricsVariant(name, payload) {
  if (name === 'off' || name === 'again') return coreVariant(payload)
  let scrapes = 0
  let scrapedBytes = 0
  let scrapeMs = 0
  /** @type {() => Promise<number>} resolves with the size of what one scrape produced */
  let scrape
  const variant = coreVariant(payload, undefined, (hub) => {
    if (name === 'prom') {
      const registry = new Registry()
      registerHubMetrics(hub, { registry, topics: ['bench'] })
      scrape = async () => (await registry.metrics()).length
    } else {
      const reader = new PullReader()
      const provider = new MeterProvider({ readers: [reader] })
      registerHubMetricsOtel(hub, { meter: provider.getMeter('bench'), topics: ['bench'] })
      scrape = async () => JSON.stringify((await reader.collect()).resourceMetrics).length
    }
  })
  const timer = setInterval(async () => {
    const start = performance.now()
    scrapedBytes += await scrape()
    scrapeMs += performance.now() - start
    scrapes++
  }, METRICS_SCRAPE_MS)
  timer.unref()
  const stats = variant.stats
  return {
    ...variant,
    stats: () => ({ ...stats?.(), scrapes, scrapedBytes, scrapeMs: Math.round(scrapeMs * 100) / 100 }),
  }
}
