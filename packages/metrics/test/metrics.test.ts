/**
 * The metrics of a real hub behind a real Express app, read over a real socket the way Prometheus
 * scrapes them (`/metrics`), parsed with a real exposition-format parser, against what the test did.
 */
import { createHub } from '@sse/core'
import { codeOf } from '@sse/test-utils'
import { Registry } from 'prom-client'
import { afterEach, expect, it } from 'vitest'
import { registerHubMetrics } from '../src/index.ts'
import { runWorkload, scrape, serveHub, WORKLOAD_SAMPLES } from './hub-workload.ts'

const closing: Array<() => unknown> = []
afterEach(async () => {
  for (const close of closing.splice(0).reverse()) await close()
})

it('exposes streams, events, deliveries, closes and resets that match what the clients did', async () => {
  const registry = new Registry()
  let unregister = () => {}
  const served = await serveHub((app, hub) => {
    unregister = registerHubMetrics(hub, { registry, topics: ['news', 'sport'] })
    app.get('/metrics', async (_req, res) => {
      res.type(registry.contentType).send(await registry.metrics())
    })
  })
  closing.push(() => served.close())
  closing.push(await runWorkload(served))

  const { samples, types } = await scrape(`${served.url}/metrics`)
  expect(Object.fromEntries([...samples].filter(([name]) => name.startsWith('sse_')))).toEqual(
    WORKLOAD_SAMPLES,
  )
  expect(types.get('sse_streams')).toBe('GAUGE')
  expect(types.get('sse_deliveries_total')).toBe('COUNTER')

  // Counters only grow, scrape after scrape, by what happened in between.
  await served.hub.publish('news', { data: 'more' })
  const again = (await scrape(`${served.url}/metrics`)).samples
  expect(again.get('sse_events_published_total')).toBe(6)
  expect(again.get('sse_deliveries_total')).toBe(18)

  unregister()
  expect(await registry.metrics()).not.toContain('sse_')
})

it('refuses a prefix that is not a metric name and topics that are not strings', () => {
  const hub = createHub({ heartbeat: false })
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
