/** The public surface of `@sse/redis`, never changed by accident. */
import { expect, it } from 'vitest'
import * as redis from '../src/index.ts'

it('exports the same names', () => {
  expect(Object.keys(redis).sort()).toMatchInlineSnapshot(`
    [
      "DEFAULT_INSTANCE_LEASE_MS",
      "DEFAULT_MAX_IN_FLIGHT",
      "DEFAULT_MAX_QUEUED",
      "DEFAULT_STARTUP_TIMEOUT_MS",
      "RedisBroker",
    ]
  `)
})

it('gives RedisBroker the Broker methods and ready(), and nothing else public', () => {
  expect(Object.getOwnPropertyNames(redis.RedisBroker.prototype).sort()).toMatchInlineSnapshot(`
    [
      "close",
      "constructor",
      "control",
      "head",
      "history",
      "publish",
      "ready",
      "subscribe",
    ]
  `)
})
