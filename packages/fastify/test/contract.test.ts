/**
 * The adapter contract against a real Fastify 5 on a real socket, over HTTP/1.1 and over h2c
 * (`fastify({ http2: true })`). `/stream` opens a per-client stream with `reply.sse()` (the
 * plugin) or `sse(request, reply)` (no plugin); `/hub` is `sseHub` with the suite's `authorize`
 * and `key`. With the plugin, `fastify.close()` ends the open streams itself, so `close()` is
 * `app.close()` under a deadline; without it, `close()` destroys the sockets first. Nothing
 * Fastify logs at `warn` or above is expected from any case (a 500 from a failing `authorize`
 * included: it is an answer, not an error handed to Fastify).
 */
import { type AdapterFixture, describeAdapterContract } from '@sse/test-utils'
import fastify, { type FastifyInstance, type RawServerBase } from 'fastify'
import { afterAll, expect } from 'vitest'
import { sse, sseHub, ssePlugin } from '../src/index.ts'
import { captureLogs, listen } from './listen.ts'

const logs = captureLogs()
afterAll(() => {
  expect(logs.lines).toEqual([])
})

async function routes<S extends RawServerBase>(
  app: FastifyInstance<S>,
  fixture: AdapterFixture,
  plugin: boolean,
) {
  if (plugin) await app.register(ssePlugin)
  app.get(fixture.paths.stream, (request, reply) => {
    const stream = plugin ? reply.sse(fixture.streamOptions) : sse(request, reply, fixture.streamOptions)
    fixture.onStream(stream, request.url)
  })
  app.get(fixture.paths.hub, sseHub(fixture.hubOptions((request) => request.url)))
  return listen(app, { destroySockets: !plugin })
}

describeAdapterContract('fastify', (fixture) => routes(fastify({ logger: logs.logger }), fixture, true))

describeAdapterContract('fastify without the plugin (sse(request, reply))', (fixture) =>
  routes(fastify({ logger: logs.logger }), fixture, false),
)

describeAdapterContract(
  'fastify',
  (fixture) => routes(fastify({ http2: true, logger: logs.logger }), fixture, true),
  { http2: true },
)
