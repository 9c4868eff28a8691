/**
 * `@sse/metrics/otel`: the same metrics as the Prometheus entry, through `@opentelemetry/api` (an
 * optional peer dependency, as `prom-client` is for the main entry: install the one you use). The
 * meter is the app's, so the metrics go wherever its OpenTelemetry SDK exports: OTLP, Prometheus,
 * the console.
 *
 * Every instrument is observed when the SDK collects (from `hub.stats`, `hub.size` and the hub's
 * `unsubscribe` and `reset` events, counted into two small maps), in one batch callback, so the
 * hub's hot path pays nothing and collecting never throws into the hub.
 *
 * Names follow OpenTelemetry's conventions (dotted, no `_total`, the unit in `unit`, not in the
 * name), chosen so that a Prometheus exporter of OpenTelemetry writes the names of
 * `registerHubMetrics`: `sse.streams` → `sse_streams`, `sse.deliveries` → `sse_deliveries_total`.
 * One differs: `sse.paced` (unit `s`) is `sse_paced_total` through
 * `@opentelemetry/exporter-prometheus`, which does not append units, and `sse_paced_seconds_total`
 * through an exporter that does (as OpenTelemetry's Prometheus compatibility rules ask).
 * Attributes are the same low-cardinality labels: `reason`, and `topic` only for the topics the
 * app names.
 *
 * @example
 * import { metrics } from '@opentelemetry/api'
 * import { createHub } from '@sse/core'
 * import { registerHubMetricsOtel } from '@sse/metrics/otel'
 *
 * const hub = createHub()
 * registerHubMetricsOtel(hub, { meter: metrics.getMeter('my-app'), topics: ['news'] })
 */
import {
  type Attributes,
  type BatchObservableResult,
  type Meter,
  metrics,
  type Observable,
  ValueType,
} from '@opentelemetry/api'
import { type Hub, SseError } from '@sse/core'
import { reportedTopics } from './reported-topics.ts'

export interface HubMetricsOtelOptions {
  /**
   * Where the instruments are created. Default: `metrics.getMeter('@sse/metrics')`, from the global
   * MeterProvider as it is at this call (the API has no proxy for meters): install the SDK first,
   * or the instruments are no-ops for good.
   */
  meter?: Meter | undefined
  /** Prefix of every instrument name. Default `'sse.'`. */
  prefix?: string | undefined
  /**
   * Topics whose open streams are reported one by one (`<prefix>topic.streams`, attribute
   * `topic`). Only these: each is one time series, so name a few known ones, never the topics
   * clients choose. Default: none.
   */
  topics?: readonly string[] | undefined
}

/** Counters read from `hub.stats`: name (without the prefix), unit, description, stat. */
const COUNTERS = [
  ['events.published', '{event}', 'Events published through the hub.', 'published'],
  [
    'deliveries',
    '{delivery}',
    'Event deliveries to streams (one per event per stream), live and replayed.',
    'delivered',
  ],
  ['deliveries.dropped', '{delivery}', "Deliveries dropped by streams with onOverflow: 'drop'.", 'dropped'],
  ['replayed_events', '{event}', 'Events replayed from history to reconnecting streams.', 'replayed'],
] as const

/** An instrument name is a letter, then letters, digits, `_`, `.`, `-` and `/` (the API's rule). */
const PREFIX = /^[a-zA-Z][-_./a-zA-Z0-9]*$/

/**
 * Creates the hub's instruments on `meter`; returns a function that stops observing them (and
 * stops listening to the hub). OpenTelemetry cannot delete an instrument: after the call its values
 * no longer change (an SDK with cumulative temporality goes on repeating the last ones). A second
 * hub on the same meter needs another `prefix`, as with prom-client.
 */
export function registerHubMetricsOtel(hub: Hub, options: HubMetricsOtelOptions = {}): () => void {
  const meter = options.meter ?? metrics.getMeter('@sse/metrics')
  const prefix = options.prefix ?? 'sse.'
  if (prefix !== '' && !PREFIX.test(prefix)) {
    throw new SseError(
      'SSE_INVALID_OPTION',
      `prefix must start an OpenTelemetry instrument name (a letter, then letters, digits, _ . - /), got ${JSON.stringify(prefix)}`,
    )
  }
  const topics = reportedTopics(options.topics)
  const int = { valueType: ValueType.INT }

  const streams = meter.createObservableUpDownCounter(`${prefix}streams`, {
    ...int,
    unit: '{stream}',
    description: 'Streams subscribed to the hub now.',
  })
  const topicCount = meter.createObservableUpDownCounter(`${prefix}topics`, {
    ...int,
    unit: '{topic}',
    description: 'Topics with at least one subscribed stream now.',
  })
  const topicStreams =
    topics.length > 0
      ? meter.createObservableUpDownCounter(`${prefix}topic.streams`, {
          ...int,
          unit: '{stream}',
          description: 'Streams subscribed to a topic now, for the topics the app chose to report.',
        })
      : undefined
  const counters = COUNTERS.map(
    ([name, unit, description, stat]) =>
      [meter.createObservableCounter(`${prefix}${name}`, { ...int, unit, description }), stat] as const,
  )
  const paced = meter.createObservableCounter(`${prefix}paced`, {
    valueType: ValueType.DOUBLE,
    unit: 's',
    description: 'Time during which a publisher awaiting hub.ready() was held by a congested stream.',
  })
  const closes = meter.createObservableCounter(`${prefix}stream.closes`, {
    ...int,
    unit: '{stream}',
    description:
      'Streams that left the hub, by reason: client, server, slow, overflow, revoked or unsubscribe.',
  })
  const resets = meter.createObservableCounter(`${prefix}resets`, {
    ...int,
    unit: '{reset}',
    description:
      'sse-reset notices sent to reconnecting streams, by reason: epoch, trimmed, unknown or revoked.',
  })

  // Counted here, observed at collection: a hub listener only adds to a map, so it cannot throw.
  const closesBy = new Map<string, number>()
  const resetsBy = new Map<string, number>()
  const count = (map: Map<string, number>, reason: string) => map.set(reason, (map.get(reason) ?? 0) + 1)
  const stops = [
    hub.on('unsubscribe', ({ reason }) => count(closesBy, reason)),
    hub.on('reset', ({ reason }) => count(resetsBy, reason)),
  ]

  const observables: Observable<Attributes>[] = [
    streams,
    topicCount,
    ...(topicStreams ? [topicStreams] : []),
    ...counters.map(([counter]) => counter),
    paced,
    closes,
    resets,
  ]
  const observe = (result: BatchObservableResult<Attributes>) => {
    const stats = hub.stats
    result.observe(streams, hub.size)
    result.observe(topicCount, hub.topics().size)
    if (topicStreams)
      for (const topic of topics) result.observe(topicStreams, hub.topicSize(topic), { topic })
    // Cumulative, as the hub counts them: the SDK turns them into deltas if its exporter wants those.
    for (const [counter, stat] of counters) result.observe(counter, stats[stat])
    result.observe(paced, stats.pacedMs / 1000)
    for (const [reason, n] of closesBy) result.observe(closes, n, { reason })
    for (const [reason, n] of resetsBy) result.observe(resets, n, { reason })
  }
  meter.addBatchObservableCallback(observe, observables)
  return () => {
    for (const stop of stops) stop()
    meter.removeBatchObservableCallback(observe, observables)
  }
}
