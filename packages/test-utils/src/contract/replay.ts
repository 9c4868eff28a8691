/**
 * Contract cases on `Last-Event-ID`: exact replay then live, ids that cannot be resumed from
 * (garbage, unknown, another epoch, trimmed) answered with the reset event, many reconnects paced
 * within the stream's byte cap, and raw UTF-8 bytes decoded.
 */
import { DEFAULT_MAX_BUFFERED_BYTES, type EventStream, parseLogId, RESET_EVENT } from '@sse/core'
import { expect, it } from 'vitest'
import { liveBytes } from '../live-bytes.ts'
import { pollUntil } from '../with-timeout.ts'
import { HEAVY_TEST_MS, numbered, queuedBytes } from './numbered-events.ts'
import type { ContractCases } from './suite.ts'

export function replayCases({ s }: ContractCases): void {
  it('replays exactly the missed events for a Last-Event-ID, then goes live without duplicates', async () => {
    const ids: string[] = []
    for (let i = 1; i <= 5; i++) ids.push(await s.hub.publish('replay', { data: `e${i}` }))
    // An event published while the replay is still being read must appear once, after it.
    s.hub.afterSubscribe = () => {
      void s.hub.publish('replay', { data: 'e6' }).then((id) => ids.push(id))
    }
    const reader = await s.open(s.hubUrl(['replay']), { headers: { 'last-event-id': ids[1]! } })
    await reader.waitForEvent((event) => event.data === 'e6')
    s.hub.afterSubscribe = undefined
    ids.push(await s.hub.publish('replay', { data: 'e7' }))
    await reader.waitForEvent((event) => event.data === 'e7')
    expect(reader.events.map((event) => [event.id, event.data])).toEqual(
      ['e3', 'e4', 'e5', 'e6', 'e7'].map((data, i) => [ids[i + 2], data]),
    )
    expect(s.hub.stats.replayed).toBe(3)
  })

  it("answers a garbage Last-Event-ID with 200, an sse-reset ('unknown') and live events, never a 4xx", async () => {
    const garbage: Array<string | Buffer> = [
      'x'.repeat(300),
      Buffer.from([0xff, 0xfe, 0xfd]), // not UTF-8 at all
      Buffer.from([0xe2, 0x80]), // a truncated sequence
      Buffer.from([0xed, 0xa0, 0x80]), // an encoded lone surrogate
    ]
    for (const [i, value] of garbage.entries()) {
      const reader = await s.open(s.hubUrl(['garbage']), { headers: { 'last-event-id': value } })
      expect(reader.status).toBe(200)
      await s.hubSize(1)
      await s.hub.publish('garbage', { data: `live ${i}` })
      // Not a silent gap: the client is told its id could not be resumed from.
      const reset = await reader.next()
      expect(reset.event).toBe(RESET_EVENT)
      expect(JSON.parse(reset.data)).toEqual({ reason: 'unknown', lastEventId: '' })
      expect(await reader.next()).toMatchObject({ data: `live ${i}` })
      await reader.close()
      await s.hubSize(0)

      const streamReader = await s.open(s.streamUrl(), { headers: { 'last-event-id': value } })
      expect(streamReader.status).toBe(200)
      expect((await s.nextStream()).lastEventId).toBeUndefined()
    }
    expect(s.hub.stats.resets).toBe(garbage.length)
  })

  it('answers an id it cannot resume from with the sse-reset event, then goes live', async () => {
    const first = await s.hub.publish('reset', { data: 'before' })
    const { epoch } = parseLogId(first)!
    const cases = [
      { lastEventId: `${epoch}-999999`, reason: 'unknown' },
      { lastEventId: 'zzzzzzzz-1', reason: 'epoch' },
      { lastEventId: 'not-one-of-ours', reason: 'unknown' },
    ]
    for (const [i, { lastEventId, reason }] of cases.entries()) {
      const reader = await s.open(s.hubUrl(['reset']), { headers: { 'last-event-id': lastEventId } })
      expect(reader.status).toBe(200)
      const notice = await reader.next()
      expect(notice.event).toBe(RESET_EVENT)
      expect(JSON.parse(notice.data)).toEqual({ reason, lastEventId })
      await s.hub.publish('reset', { data: `live ${i}` })
      expect(await reader.next()).toMatchObject({ data: `live ${i}` })
      await reader.close()
      await s.hubSize(0)
    }

    // Trimmed: the events after the id are no longer in history.
    await s.useHub({ historySize: 2 })
    const ids: string[] = []
    for (let i = 1; i <= 5; i++) ids.push(await s.hub.publish('reset', { data: `e${i}` }))
    const reader = await s.open(s.hubUrl(['reset']), { headers: { 'last-event-id': ids[0]! } })
    const notice = await reader.next()
    expect(notice.event).toBe(RESET_EVENT)
    expect(JSON.parse(notice.data)).toMatchObject({ reason: 'trimmed' })
  })

  it(
    '50 reconnects with an old Last-Event-ID that never read keep the queued bytes under the stream cap',
    async () => {
      // 8 MiB of history: more than a socket's kernel buffers take (about 4 MiB on loopback),
      // so a replay written whole would sit in the process, 50 times over.
      const EVENT_BYTES = 16 * 1024
      const EVENTS = 512
      const CLIENTS = 50
      // Each adapter's own stream (the per-client route), subscribed to the hub with the
      // client's Last-Event-ID: here the slow limit can be set past the time it takes a loaded
      // machine to open all 50, so none is closed as slow before they are all measured.
      s.streamOptions = { heartbeat: false, slowAfterMs: 600_000 }
      const ids: string[] = []
      for (let seq = 0; seq < EVENTS; seq++)
        ids.push(await s.hub.publish('old', { data: numbered(seq, EVENT_BYTES) }))
      const before = await liveBytes()
      const readers = await Promise.all(
        Array.from({ length: CLIENTS }, () =>
          s.open(s.streamUrl(), { headers: { 'last-event-id': ids[0]! }, keepEvents: false }),
        ),
      )
      for (const reader of readers) reader.pause()
      const streams: EventStream[] = []
      for (let i = 0; i < CLIENTS; i++) streams.push(await s.nextStream())
      for (const stream of streams) void s.hub.subscribe(stream, { topics: ['old'] })
      // Every replay backed up: the client stopped reading and the kernel's buffers are full.
      await pollUntil(
        () => streams.every((stream) => stream.congested),
        60_000,
        () =>
          `every stream to back up (${streams.filter((stream) => stream.congested).length} of ${CLIENTS})`,
      )
      const held = (await liveBytes()).buffers - before.buffers
      // Bytes, not time: all 50 together hold less than one stream's cap each (1 MiB), where
      // whole replays would pin about 50 × 8 MiB. The queues in core hold at most a page each.
      expect(held).toBeLessThan(CLIENTS * DEFAULT_MAX_BUFFERED_BYTES)
      expect(queuedBytes(streams)).toBeLessThanOrEqual(CLIENTS * (64 * 1024 + EVENT_BYTES + 64))
      expect(s.hub.stats.replayed).toBeLessThan(CLIENTS * (EVENTS - 1))
      expect(streams.every((stream) => !stream.closed)).toBe(true)

      // Nothing is lost by pacing: a reader that comes back gets the rest of history in order,
      // through the hub route this time.
      await readers[0]!.close()
      const seqs: number[] = []
      const again = await s.open(s.hubUrl(['old']), {
        headers: { 'last-event-id': ids[0]! },
        keepEvents: false,
        onEvent: (event) => seqs.push(Number.parseInt(event.data, 10)),
      })
      await again.waitUntil(() => seqs.length === EVENTS - 1, 60_000, `the ${EVENTS - 1} missed events`)
      expect(seqs).toEqual(Array.from({ length: EVENTS - 1 }, (_, i) => i + 1))
    },
    HEAVY_TEST_MS,
  )

  it('decodes a UTF-8 Last-Event-ID sent as raw bytes', async () => {
    s.streamOptions = { heartbeat: false }
    const cases: Array<[sent: string | Buffer, decoded: string]> = [
      ['\u00e2\u0080\u00a6', '…'], // E2 80 A6 as a latin1 string: what Node hands a server
      [Buffer.from('😀 ünïcödé', 'utf8'), '😀 ünïcödé'],
      ['plain-ascii-42', 'plain-ascii-42'],
    ]
    for (const [sent, decoded] of cases) {
      const reader = await s.open(s.streamUrl(), { headers: { 'last-event-id': sent } })
      const stream = await s.nextStream()
      expect(stream.lastEventId).toBe(decoded)
      stream.send({ data: stream.lastEventId ?? '(none)' })
      expect((await reader.next()).data).toBe(decoded)
    }
  })
}
