/**
 * When history cannot be replayed, the client is told so, through nginx, end to end: a
 * `Last-Event-ID` older than the history Redis still keeps gets an `sse-reset` (`trimmed`), and
 * after Redis lost its data (here `FLUSHALL`; a restart without persistence is the same) the open
 * streams are closed, and their reconnection gets an `sse-reset` (`epoch`) before the new events.
 */
import { openEventStream, pollUntil } from '@sse/test-utils'
import { Redis } from 'ioredis'
import { expect, it } from 'vitest'
import { cleanup, describeCluster, notify, openSource, startRedisAndCluster } from './harness.ts'

describeCluster('history that cannot be replayed, through nginx', () => {
  it('sends a reset to an id trimmed from history, and after Redis was flushed', async () => {
    const { redis, cluster } = await startRedisAndCluster({ HISTORY_SIZE: '5', RETRY_MS: '100' })
    const [a, b] = cluster.instances

    // Redis trims whole stream nodes (100 entries by default): 300 events leave the first far behind.
    const ids: string[] = []
    for (let i = 0; i < 300; i++) {
      const { status, body } = await notify(a!.url, 'news', `n${i}`)
      expect(status).toBe(201)
      ids.push(body.id!)
    }
    const trimmed = await openEventStream(`${cluster.url}/events?topics=news`, {
      headers: { 'last-event-id': ids[0]! },
    })
    cleanup(() => trimmed.close())
    const [reset] = await trimmed.waitFor(1)
    expect(reset).toEqual({
      event: 'sse-reset',
      id: ids.at(-1),
      data: JSON.stringify({ reason: 'trimmed', lastEventId: ids[0] }),
    })
    // Then it is live, from the head it was given.
    const next = await notify(b!.url, 'news', 'after the reset')
    expect((await trimmed.waitFor(2))[1]).toMatchObject({ event: 'notification', id: next.body.id })

    // A client with everything so far; then Redis loses it all.
    const client = await openSource(`${cluster.url}/events?topics=news`)
    const before = await notify(b!.url, 'news', 'before the flush')
    await pollUntil(() => client.ids().includes(before.body.id!), 5000, 'the event before the flush')
    const admin = new Redis(redis.url)
    cleanup(() => admin.disconnect())
    await admin.flushall()
    // Each instance notices within a second (the reader's idle check) and closes its streams.
    await pollUntil(() => client.opens === 2, 10_000, 'the client to reconnect after the flush')
    await pollUntil(() => client.messages.at(-1)?.type === 'sse-reset', 5000, 'the reset')
    const epochReset = client.messages.at(-1)!
    expect(client.connections[1]!.lastEventId).toBe(before.body.id)
    expect(JSON.parse(epochReset.data)).toEqual({ reason: 'epoch', lastEventId: before.body.id })
    const after = await notify(a!.url, 'news', 'after the flush')
    expect(after.body.id!.split('-')[0]).not.toBe(before.body.id!.split('-')[0])
    await pollUntil(() => client.ids().at(-1) === after.body.id, 5000, 'the first event of the new epoch')
    expect(client.messages.map((message) => message.type).slice(-3)).toEqual([
      'notification',
      'sse-reset',
      'notification',
    ])
  })
})
