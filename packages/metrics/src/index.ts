/**
 * `@sse/metrics`: Prometheus metrics for a hub, over `prom-client` (a peer dependency: the
 * registry is the app's, next to its other metrics). Everything is read from the hub when the
 * registry is scraped (`hub.stats`, `hub.size`) or counted from its lifecycle events, so the hub's
 * hot path pays nothing, and collecting never throws into the hub.
 *
 * Names and labels follow Prometheus conventions: `_total` counters, base units (seconds), and
 * low-cardinality labels only: a close `reason`, a reset `reason`, and `topic` only for the
 * topics the app names in `topics`. With many instances, each exposes its own `/metrics` and
 * Prometheus adds them up (`sum(sse_streams)`); set an `instance` label with the registry's
 * default labels if the scrape config does not.
 *
 * @example
 * import { createHub } from '@sse/core'
 * import { registerHubMetrics } from '@sse/metrics'
 * import { register } from 'prom-client'
 *
 * const hub = createHub()
 * registerHubMetrics(hub)
 * app.get('/metrics', async (_req, res) => {
 *   res.type(register.contentType).send(await register.metrics())
 * })
 */
import { type Hub, SseError } from '@sse/core'
import { Counter, register as defaultRegistry, Gauge, type Registry } from 'prom-client'
import { reportedTopics } from './reported-topics.ts'

export interface HubMetricsOptions {
  /** Where the metrics go. Default: prom-client's default registry. */
  registry?: Registry | undefined
  /** Prefix of every metric name. Default `'sse_'`. */
  prefix?: string | undefined
  /**
   * Topics whose open streams are reported one by one (`<prefix>topic_streams{topic}`). Only
   * these: a label per topic is one time series each, so name a few known ones, never the
   * topics clients choose. Default: none.
   */
  topics?: readonly string[] | undefined
}

/** The hub's counters that only ever grow, by metric name (without the prefix) and help. */
const COUNTERS = [
  ['events_published_total', 'Events published through the hub.', 'published'],
  [
    'deliveries_total',
    'Event deliveries to streams (one per event per stream), live and replayed.',
    'delivered',
  ],
  ['deliveries_dropped_total', "Deliveries dropped by streams with onOverflow: 'drop'.", 'dropped'],
  ['replayed_events_total', 'Events replayed from history to reconnecting streams.', 'replayed'],
] as const

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/

/**
 * Registers the hub's metrics in `registry`; returns a function that removes them again (and
 * stops listening to the hub). Registering the same names twice in one registry throws, as
 * prom-client does: use a prefix, or another registry, for a second hub.
 */
export function registerHubMetrics(hub: Hub, options: HubMetricsOptions = {}): () => void {
  const registry = options.registry ?? defaultRegistry
  const prefix = options.prefix ?? 'sse_'
  if (prefix !== '' && !NAME.test(prefix)) {
    throw new SseError(
      'SSE_INVALID_OPTION',
      `prefix must be a valid Prometheus name prefix, got ${JSON.stringify(prefix)}`,
    )
  }
  const topics = reportedTopics(options.topics)
  const registers = [registry]
  const names: string[] = []
  const named = (name: string) => {
    names.push(prefix + name)
    return prefix + name
  }

  new Gauge({
    name: named('streams'),
    help: 'Streams subscribed to the hub now.',
    registers,
    collect() {
      this.set(hub.size)
    },
  })
  new Gauge({
    name: named('topics'),
    help: 'Topics with at least one subscribed stream now.',
    registers,
    collect() {
      this.set(hub.topics().size)
    },
  })
  if (topics.length > 0) {
    new Gauge({
      name: named('topic_streams'),
      help: 'Streams subscribed to a topic now, for the topics the app chose to report.',
      labelNames: ['topic'],
      registers,
      collect() {
        for (const topic of topics) this.set({ topic }, hub.topicSize(topic))
      },
    })
  }
  for (const [name, help, stat] of COUNTERS) {
    let seen = 0
    new Counter({
      name: named(name),
      help,
      registers,
      collect() {
        // The hub's own counter, as a Prometheus counter: what grew since the last scrape.
        const now = hub.stats[stat]
        if (now > seen) this.inc(now - seen)
        seen = now
      },
    })
  }
  let pacedMs = 0
  new Counter({
    name: named('paced_seconds_total'),
    help: 'Time during which a publisher awaiting hub.ready() was held by a congested stream.',
    registers,
    collect() {
      const now = hub.stats.pacedMs
      if (now > pacedMs) this.inc((now - pacedMs) / 1000)
      pacedMs = now
    },
  })
  const closes = new Counter({
    name: named('stream_closes_total'),
    help: 'Streams that left the hub, by reason: client, server, slow, overflow, revoked or unsubscribe.',
    labelNames: ['reason'],
    registers,
  })
  const resets = new Counter({
    name: named('resets_total'),
    help: 'sse-reset notices sent to reconnecting streams, by reason: epoch, trimmed, unknown or revoked.',
    labelNames: ['reason'],
    registers,
  })
  const stops = [
    hub.on('unsubscribe', ({ reason }) => closes.inc({ reason })),
    hub.on('reset', ({ reason }) => resets.inc({ reason })),
  ]
  return () => {
    for (const stop of stops) stop()
    for (const name of names) registry.removeSingleMetric(name)
  }
}
