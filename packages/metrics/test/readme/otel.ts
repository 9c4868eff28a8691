import { PrometheusExporter } from '@opentelemetry/exporter-prometheus'
import { MeterProvider } from '@opentelemetry/sdk-metrics'
import { createHub } from '@sse/core'
import { sseHub } from '@sse/express'
import { registerHubMetricsOtel } from '@sse/metrics/otel'
import express from 'express'

// Your app's OpenTelemetry SDK: here a Prometheus exporter that the app serves itself; an OTLP
// exporter works the same. (Or `metrics.setGlobalMeterProvider(provider)` first, and no `meter`.)
const exporter = new PrometheusExporter({ preventServerStart: true })
const provider = new MeterProvider({ readers: [exporter] })

const hub = createHub()
registerHubMetricsOtel(hub, { meter: provider.getMeter('my-app'), topics: ['news'] })

const app = express()
app.get('/events', sseHub({ hub, topics: () => ['news'] }))
app.post('/news', express.json(), async (req, res) => {
  res.status(201).json({ id: await hub.publish('news', { data: req.body }) })
})
app.get('/metrics', (req, res) => exporter.getMetricsRequestHandler(req, res))
app.listen(process.env.PORT ?? 3000)
