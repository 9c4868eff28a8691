/**
 * Contract cases on flow control against the real transport: the queue of a client that stops
 * reading stays bounded (closed or dropping), publishers paced by `hub.ready()` and
 * `stream.ready()` deliver every byte, and among many readers exactly the stalled ones are cut.
 */
import type { EventStream } from '@sse/core'
import { expect, it } from 'vitest'
import { pollUntil, withTimeout } from '../with-timeout.ts'
import { HEAVY_TEST_MS, numbered, orderedCounter, queuedBytes } from './numbered-events.ts'
import type { ContractCases } from './suite.ts'

/** Sends 16 KiB events to a client that does not read, until `stop()` holds; reports the largest queue seen. */
async function flood(
  stream: EventStream,
  stop: () => boolean,
  limitBytes: number,
): Promise<{ sent: number; maxBuffered: number }> {
  const payload = 'x'.repeat(16 * 1024)
  let sent = 0
  let maxBuffered = 0
  while (!stop()) {
    if (sent * payload.length > limitBytes) {
      throw new Error(
        `sent ${sent} events of 16 KiB and the client never backed up: is the sink reporting backpressure?`,
      )
    }
    // One event per turn of the event loop: a client that reads keeps up with this rate, so
    // the queue only grows because this client stopped reading.
    stream.send({ id: String(sent), data: payload })
    sent++
    maxBuffered = Math.max(maxBuffered, stream.bufferedBytes)
    await new Promise((resolve) => setImmediate(resolve))
  }
  return { sent, maxBuffered }
}

export function flowControlCases({ s }: ContractCases): void {
  it("bounds the queue of a client that stops reading, and closes it under 'close'", async () => {
    const maxBufferedBytes = 64 * 1024
    s.streamOptions = { heartbeat: false, maxBufferedBytes, onOverflow: 'close' }
    const reader = await s.open(s.streamUrl())
    const stream = await s.nextStream()
    let reason: string | undefined
    stream.onClose((why) => {
      reason = why
    })
    await reader.waitForComments(1)
    reader.pause()
    const { maxBuffered } = await withTimeout(
      flood(stream, () => stream.closed, 64 * 1024 * 1024),
      20_000,
      'flooding a paused client until it overflows',
    )
    expect(maxBuffered).toBeGreaterThan(0) // the sink reported backpressure and the queue was used
    expect(maxBuffered).toBeLessThanOrEqual(maxBufferedBytes)
    expect(stream.signal.aborted).toBe(true)
    expect(reason).toBe('overflow')
    // The client got a prefix of the events, nothing skipped; it would reconnect and resume.
    reader.resume()
    await reader.waitForEnd(10_000)
    expect(reader.events.every((event, i) => event.id === String(i))).toBe(true)
  })

  it("bounds the queue of a client that stops reading, and drops events under 'drop'", async () => {
    const maxBufferedBytes = 64 * 1024
    s.streamOptions = { heartbeat: false, maxBufferedBytes, onOverflow: 'drop' }
    const reader = await s.open(s.streamUrl())
    const stream = await s.nextStream()
    await reader.waitForComments(1)
    reader.pause()
    const { sent, maxBuffered } = await withTimeout(
      flood(stream, () => stream.droppedEvents > 0 || stream.closed, 64 * 1024 * 1024),
      20_000,
      'flooding a paused client until it drops',
    )
    expect(maxBuffered).toBeGreaterThan(0)
    expect(maxBuffered).toBeLessThanOrEqual(maxBufferedBytes)
    expect(stream.closed).toBe(false)
    expect(stream.droppedEvents).toBeGreaterThan(0)

    reader.resume()
    await pollUntil(
      () => stream.bufferedBytes === 0,
      10_000,
      () => `the queue to drain (${stream.bufferedBytes} bytes)`,
    )
    stream.send({ id: 'last', data: 'after the drops' })
    await reader.waitForEvent((event) => event.id === 'last', 10_000)
    const received = reader.events.filter((event) => event.id !== 'last')
    expect(received.length + stream.droppedEvents).toBe(sent)
    const seqs = received.map((event) => Number(event.id))
    expect(seqs.every((seq, i) => i === 0 || seq > seqs[i - 1]!)).toBe(true)
  })

  it(
    'delivers every byte of a 50 MiB publish loop paced by hub.ready() to a reader at full speed',
    async () => {
      const EVENT_BYTES = 4096
      const EVENTS = (50 * 1024 * 1024) / EVENT_BYTES
      const counter = orderedCounter()
      const reader = await s.open(s.hubUrl(['bulk']), { keepEvents: false, onEvent: counter.onEvent })
      await s.hubSize(1)
      const [stream] = s.hub.subscribed
      let maxQueued = 0
      const publishing = (async () => {
        for (let seq = 0; seq < EVENTS; ) {
          const batch: Promise<string>[] = []
          for (let i = 0; i < 64 && seq < EVENTS; i++)
            batch.push(s.hub.publish('bulk', { data: numbered(seq++, EVENT_BYTES) }))
          await Promise.all(batch)
          maxQueued = Math.max(maxQueued, stream!.bufferedBytes)
          await s.hub.ready('bulk')
        }
      })()
      await withTimeout(publishing, 120_000, 'publishing 50 MiB paced by hub.ready()')
      await reader.waitUntil(() => counter.count === EVENTS, 120_000, `all ${EVENTS} events`)
      expect(counter.ok).toBe(true)
      expect(stream!.closed).toBe(false)
      // Paced, core never held more than the batch in flight.
      expect(maxQueued).toBeLessThanOrEqual(64 * (EVENT_BYTES + 64))
      expect(s.hub.stats).toMatchObject({ slowCloses: 0, overflowCloses: 0, dropped: 0 })
    },
    HEAVY_TEST_MS,
  )

  it(
    'delivers every byte of a 50 MiB per-stream loop that awaits stream.ready(), never queueing in core',
    async () => {
      s.streamOptions = { heartbeat: false }
      const EVENT_BYTES = 4096
      const EVENTS = (50 * 1024 * 1024) / EVENT_BYTES
      const counter = orderedCounter()
      const reader = await s.open(s.streamUrl(), { keepEvents: false, onEvent: counter.onEvent })
      const stream = await s.nextStream()
      let maxQueued = 0
      const producing = (async () => {
        let seq = 0
        while (seq < EVENTS && (await stream.ready())) {
          stream.send({ data: numbered(seq++, EVENT_BYTES) })
          maxQueued = Math.max(maxQueued, stream.bufferedBytes)
        }
        return seq
      })()
      expect(await withTimeout(producing, 120_000, 'a 50 MiB awaited-write loop')).toBe(EVENTS)
      await reader.waitUntil(() => counter.count === EVENTS, 120_000, `all ${EVENTS} events`)
      expect(counter.ok).toBe(true)
      expect(maxQueued).toBe(0)
      // A loop with no end stops cleanly when the client goes away: ready() resolves false.
      const endless = (async () => {
        let more = 0
        while (await stream.ready()) stream.send({ data: numbered(EVENTS + more++, EVENT_BYTES) })
        return stream.closeReason
      })()
      await reader.close()
      expect(await withTimeout(endless, 10_000, 'the endless loop to end once the client left')).toBe(
        'client',
      )
    },
    HEAVY_TEST_MS,
  )

  it(
    '20 readers at full speed get every event while exactly the 5 that never read are closed as slow',
    async () => {
      // 20, not 100 (bench/flow.mjs runs 100 + 5 per adapter, one process at a time): every stream
      // here fills kernel socket buffers of up to 4 MiB, and under \`npm test\` several adapters run
      // this case at once; 105 streams each pushed Linux into TCP memory pressure in CI, which
      // stalls every socket on the machine, healthy ones too (they were then cut as slow).
      const HEALTHY = 20
      const STALLED = 5
      const EVENT_BYTES = 1024
      // Enough for a stalled reader's socket buffers (a few MiB on loopback) to fill.
      const EVENTS = 8192
      // 32 rounds of 256 KiB: each round waits for all 105 streams, so fewer rounds hold up under load.
      const BATCH = 256
      s.streamOptions = { heartbeat: false } // the default slowAfterMs (5 s): a healthy reader on a loaded machine is never near it
      const counters = Array.from({ length: HEALTHY }, () => orderedCounter())
      const healthy = await Promise.all(
        counters.map((counter) => s.open(s.streamUrl(), { keepEvents: false, onEvent: counter.onEvent })),
      )
      const stalled = await Promise.all(Array.from({ length: STALLED }, () => s.open(s.streamUrl())))
      const streams: EventStream[] = []
      for (let i = 0; i < HEALTHY + STALLED; i++) streams.push(await s.nextStream())
      await Promise.all(stalled.map((reader) => reader.waitForComments(1)))
      for (const reader of stalled) reader.pause()
      const reasons: string[] = []
      s.hub.on('unsubscribe', ({ reason }) => reasons.push(reason))
      // The streams of the per-client route, subscribed to the suite's hub: each adapter's own stream.
      await Promise.all(streams.map((stream) => s.hub.subscribe(stream, { topics: ['crowd'] })))
      let maxQueued = 0
      const publishing = (async () => {
        for (let seq = 0; seq < EVENTS; ) {
          const batch: Promise<string>[] = []
          for (let i = 0; i < BATCH && seq < EVENTS; i++)
            batch.push(s.hub.publish('crowd', { data: numbered(seq++, EVENT_BYTES) }))
          await Promise.all(batch)
          maxQueued = Math.max(maxQueued, queuedBytes(streams))
          await s.hub.ready('crowd')
        }
      })()
      await withTimeout(publishing, 120_000, 'publishing to 100 healthy and 5 stalled readers')
      await Promise.all(
        healthy.map((reader, i) =>
          reader.waitUntil(() => counters[i]!.count === EVENTS, 60_000, `reader ${i}: all ${EVENTS} events`),
        ),
      )
      expect(counters.every((counter) => counter.ok)).toBe(true)
      expect(streams.slice(0, HEALTHY).every((stream) => !stream.closed)).toBe(true)
      expect(streams.slice(HEALTHY).map((stream) => stream.closeReason)).toEqual(Array(STALLED).fill('slow'))
      expect(reasons).toEqual(Array(STALLED).fill('slow'))
      expect(s.hub.stats).toMatchObject({ slowCloses: STALLED, overflowCloses: 0, dropped: 0 })
      // Memory: core held at most about one batch per stream at any moment (generous bound).
      expect(maxQueued).toBeLessThanOrEqual((HEALTHY + STALLED) * BATCH * (EVENT_BYTES + 64))
    },
    HEAVY_TEST_MS,
  )
}
