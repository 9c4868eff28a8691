/**
 * redis-server stopped and restarted under a running cluster (append-only persistence, as a
 * deployment should run it): while it is down every POST answers 503 with a message that says
 * what happened, the streams stay open, and afterwards delivery resumes. Every event whose POST
 * was answered 2xx reaches every client, once, in order.
 */
import { openEventStream, pollUntil } from '@sse/test-utils'
import { expect, it } from 'vitest'
import { cleanup, describeCluster, openSource, startPublisher, startRedisAndCluster } from './harness.ts'

describeCluster('redis-server stopped and restarted under the cluster', () => {
  it('answers 503 while Redis is down, keeps streams open, and loses nothing that was published', async () => {
    const { redis, cluster } = await startRedisAndCluster(
      { COMMAND_TIMEOUT_MS: '300', RETRY_MS: '100' },
      { persist: true },
    )
    const readers = await Promise.all(
      cluster.instances.map((instance) =>
        openEventStream(`${instance.url}/events?topics=alerts`, { keepEvents: true }),
      ),
    )
    for (const reader of readers) cleanup(() => reader.close())
    const source = await openSource(`${cluster.url}/events?topics=alerts`)
    const receivedIds = () => [
      ...readers.map((reader) => reader.events.map((event) => event.id!)),
      source.ids(),
    ]

    // Publish through every instance in turn, without pause, all along.
    const publisher = startPublisher(
      cluster.instances.map((instance) => instance.url),
      'alerts',
    )
    const ok = () => publisher.attempts.filter((attempt) => attempt.status === 201).length
    await pollUntil(() => ok() >= 10, 10_000, '10 events published before the outage')

    await redis.stop()
    const downFrom = publisher.attempts.length
    const refusedSince = (from: number) =>
      publisher.attempts.slice(from).filter((attempt) => attempt.status === 503)
    await pollUntil(() => refusedSince(downFrom).length >= 6, 10_000, '503s while Redis is down')
    const refused = refusedSince(downFrom)[0]!
    expect(refused.body).toEqual({
      error: expect.stringMatching(
        /^Redis is unreachable from instance [abc]: the notification was not confirmed/,
      ),
      code: 'SSE_BROKER_UNAVAILABLE',
    })
    expect(refused.headers.get('retry-after')).toBe('1')
    expect(readers.map((reader) => reader.ended)).toEqual([undefined, undefined, undefined])

    await redis.start()
    const upFrom = publisher.attempts.length
    await pollUntil(
      () => publisher.attempts.slice(upFrom).filter((attempt) => attempt.status === 201).length >= 10,
      15_000,
      '10 events published after the restart',
    )
    await publisher.stop()

    const statuses = new Set(publisher.attempts.map((attempt) => attempt.status))
    expect([...statuses].sort()).toEqual([201, 503])
    const published = publisher.published
    await pollUntil(
      () => receivedIds().every((ids) => published.every((id) => ids.includes(id))),
      15_000,
      () => `every client to have the ${published.length} published events`,
    )
    const attempted = new Map(publisher.attempts.map((attempt, index) => [attempt.message, index]))
    for (const [index, ids] of receivedIds().entries()) {
      const events = index < readers.length ? readers[index]!.events : source.messages
      // Each once, in publishing order. An event answered 503 may show up: Redis stored it just as
      // it went down, and the answer was lost with the connection. Never one that was not attempted.
      expect(new Set(ids).size).toBe(ids.length)
      const order = events.map((event) => attempted.get(JSON.parse(event.data).message as string))
      expect(order.every((position) => position !== undefined)).toBe(true)
      expect(order).toEqual([...order].sort((x, y) => x! - y!))
      expect(ids.filter((id) => published.includes(id))).toEqual(published)
    }
    // The streams lived through the outage: no reconnect was needed.
    expect(readers.map((reader) => reader.ended)).toEqual([undefined, undefined, undefined])
    expect(source.opens).toBe(1)
    console.log(
      `${publisher.attempts.length} POSTs: ${published.length} published (201), ` +
        `${publisher.attempts.length - published.length} refused (503) while Redis was down; ` +
        `every client received all ${published.length}, and ${receivedIds()[0]!.length - published.length} more`,
    )
  })
})
