import { createParser, type EventSourceMessage } from 'eventsource-parser'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Broker, BrokerEntry, BrokerMessage, HistoryResult } from './broker.ts'
import { SseError } from './errors.ts'
import { createEventStream, type EventStream, type EventStreamOptions } from './event-stream.ts'
import { createHub, type Hub, type HubOptions, RESET_EVENT } from './hub.ts'
import { type LogPosition, parseLogId } from './last-event-id.ts'
import { MemoryBroker } from './memory-broker.ts'
import { createMemorySink, type MemorySink } from './testing.ts'
import type { TimerProvider } from './timers.ts'

const tick = () => new Promise<void>((resolve) => setImmediate(resolve))

function events(sink: MemorySink): EventSourceMessage[] {
  const out: EventSourceMessage[] = []
  createParser({ onEvent: (event) => out.push(event) }).feed(sink.text())
  return out
}

function retries(sink: MemorySink): number[] {
  const out: number[] = []
  createParser({ onRetry: (retry) => out.push(retry) }).feed(sink.text())
  return out
}

/** Plays a client that reads whatever it is sent until its subscription is live (replay done). */
async function readUntilLive(client: { sink: MemorySink; ready: Promise<void> }): Promise<void> {
  let live = false
  void client.ready.then(() => {
    live = true
  })
  while (!live) {
    client.sink.drain()
    await tick()
  }
}

const hubs: Hub[] = []
function hubFor(options: HubOptions = {}): Hub {
  const hub = createHub({ heartbeat: false, ...options })
  hubs.push(hub)
  return hub
}

function connect(
  hub: Hub,
  topics: string[],
  options: EventStreamOptions & { filter?: (entry: { data: string }) => boolean; capacity?: number } = {},
): { sink: MemorySink; stream: EventStream; ready: Promise<void> } {
  const sink = createMemorySink({ capacity: options.capacity })
  const stream = createEventStream(sink, { heartbeat: false, ...options })
  const ready = hub.subscribe(stream, { topics, filter: options.filter })
  return { sink, stream, ready }
}

afterEach(async () => {
  vi.restoreAllMocks()
  for (const hub of hubs.splice(0)) await hub.close()
})

describe('hub: publish and fan-out', () => {
  it('delivers to the topic’s subscribers only, with hub-assigned ids', async () => {
    const hub = hubFor()
    const a = connect(hub, ['a'])
    const b = connect(hub, ['b'])
    const id = await hub.publish('a', { event: 'greet', data: { hello: 'world' } })
    await tick()
    expect(parseLogId(id)).toMatchObject({ seq: 1 })
    expect(events(a.sink)).toEqual([{ id, event: 'greet', data: '{"hello":"world"}' }])
    expect(events(b.sink)).toEqual([])
  })

  it('frames once: every subscriber is written the very same bytes', async () => {
    const hub = hubFor()
    const clients = Array.from({ length: 3 }, () => connect(hub, ['t']))
    await hub.publish('t', { data: 'x' })
    await tick()
    const chunks = clients.map((client) => client.sink.chunks.at(-1))
    expect(chunks[0]).toBeInstanceOf(Uint8Array)
    expect(chunks[1]).toBe(chunks[0])
    expect(chunks[2]).toBe(chunks[0])
  })

  it('coalesces events published in the same tick into one write per stream, in order', async () => {
    const hub = hubFor()
    const client = connect(hub, ['t'])
    const writesBefore = client.sink.chunks.length
    await Promise.all([1, 2, 3, 4, 5].map((n) => hub.publish('t', { data: n })))
    await tick()
    expect(client.sink.chunks.length).toBe(writesBefore + 1)
    expect(events(client.sink).map((event) => event.data)).toEqual(['1', '2', '3', '4', '5'])
  })

  it('delivers a stream on several topics every event of those topics in publish order', async () => {
    const hub = hubFor()
    const client = connect(hub, ['a', 'b'])
    for (const [topic, data] of [
      ['a', 'a1'],
      ['c', 'c1'],
      ['b', 'b1'],
      ['a', 'a2'],
    ] as const) {
      await hub.publish(topic, { data })
    }
    await hub.publish('b', { data: 'b2' })
    hub.publish('a', { data: 'a3' })
    hub.publish('b', { data: 'b3' })
    await tick()
    expect(events(client.sink).map((event) => event.data)).toEqual(['a1', 'b1', 'a2', 'b2', 'a3', 'b3'])
  })

  it('applies per-stream filters, and treats a throwing filter as "no"', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    const hub = hubFor()
    const even = connect(hub, ['n'], { filter: (entry) => Number(entry.data) % 2 === 0 })
    const broken = connect(hub, ['n'], {
      filter: () => {
        throw new Error('bug')
      },
    })
    for (let n = 1; n <= 4; n++) hub.publish('n', { data: n })
    await tick()
    expect(events(even.sink).map((event) => event.data)).toEqual(['2', '4'])
    expect(events(broken.sink)).toEqual([])
    expect(error).toHaveBeenCalled()
  })

  it('counts streams, topics and stats, and emits lifecycle events', async () => {
    const hub = hubFor()
    const seen: string[] = []
    hub.on('subscribe', ({ topics }) => seen.push(`+${topics.join(',')}`))
    hub.on('unsubscribe', ({ topics, reason }) => seen.push(`-${topics.join(',')}:${reason}`))
    const one = connect(hub, ['a', 'b', 'a'])
    const two = connect(hub, ['b'])
    expect(hub.size).toBe(2)
    expect(hub.topicSize('a')).toBe(1)
    expect(hub.topicSize('b')).toBe(2)
    expect(hub.topics()).toEqual(
      new Map([
        ['a', 1],
        ['b', 2],
      ]),
    )
    await hub.publish('b', { data: 1 })
    await tick()
    expect(hub.stats).toMatchObject({ streams: 2, published: 1, delivered: 2, dropped: 0 })
    one.sink.disconnect()
    hub.unsubscribe(two.stream)
    expect(two.stream.closed).toBe(false)
    expect(hub.size).toBe(0)
    expect(hub.topics().size).toBe(0)
    expect(seen).toEqual(['+a,b', '+b', '-a,b:client', '-b:unsubscribe'])
  })

  it('rejects bad input with SseError codes and publishes nothing', async () => {
    const hub = hubFor()
    const client = connect(hub, ['t'])
    await expect(hub.publish('', { data: 1 })).rejects.toMatchObject({ code: 'SSE_INVALID_TOPIC' })
    await expect(hub.publish('x'.repeat(257), { data: 1 })).rejects.toMatchObject({
      code: 'SSE_INVALID_TOPIC',
    })
    await expect(hub.publish('t', { event: 'a\nb', data: 1 })).rejects.toMatchObject({
      code: 'SSE_INVALID_EVENT_NAME',
    })
    await expect(hub.publish('t', { data: undefined })).rejects.toMatchObject({ code: 'SSE_EMPTY_EVENT' })
    await expect(hub.publish('t', { data: () => 1 })).rejects.toMatchObject({ code: 'SSE_INVALID_DATA' })
    await expect(hub.subscribe(client.stream, { topics: [] })).rejects.toBeInstanceOf(SseError)
    await tick()
    expect(events(client.sink)).toEqual([])
    expect(hub.stats.published).toBe(0)
  })

  it('rejects an event over maxEventBytes with SSE_EVENT_TOO_LARGE before the broker sees it', async () => {
    const publishes: BrokerMessage[] = []
    const broker = new MemoryBroker()
    const spy = broker.publish.bind(broker)
    broker.publish = (topic: string, message: BrokerMessage) => {
      publishes.push(message)
      return spy(topic, message)
    }
    const hub = hubFor({ broker, maxEventBytes: 1000 })
    const client = connect(hub, ['t'])
    // Counted as framed, in UTF-8, with the longest id: 300 characters of 中 are 900 bytes of data.
    for (const data of ['x'.repeat(800), '中'.repeat(300), '\n'.repeat(150), { big: 'x'.repeat(5000) }]) {
      await expect(hub.publish('t', { data })).rejects.toMatchObject({ code: 'SSE_EVENT_TOO_LARGE' })
    }
    expect(publishes).toEqual([])
    expect((await broker.head()).seq).toBe(0)
    const id = await hub.publish('t', { event: 'ok', data: 'x'.repeat(600) })
    await tick()
    expect(events(client.sink)).toEqual([{ id, event: 'ok', data: 'x'.repeat(600) }])
    expect(hub.stats.published).toBe(1)
  })

  it('takes events up to 1 MiB framed by default, and rejects a maxEventBytes that is not a positive integer', async () => {
    const hub = hubFor()
    const client = connect(hub, ['t'])
    await hub.publish('t', { data: 'x'.repeat(1024 * 1024 - 300) })
    await expect(hub.publish('t', { data: 'x'.repeat(1024 * 1024) })).rejects.toMatchObject({
      code: 'SSE_EVENT_TOO_LARGE',
    })
    await tick()
    expect(events(client.sink)).toHaveLength(1)
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => createHub({ heartbeat: false, maxEventBytes: bad })).toThrow(
        expect.objectContaining({ code: 'SSE_INVALID_OPTION' }),
      )
    }
  })
})

describe('hub: slow clients', () => {
  it('closes a stream that overflows without holding back the others', async () => {
    const hub = hubFor()
    const fast = Array.from({ length: 3 }, () => connect(hub, ['t']))
    const slow = connect(hub, ['t'], { capacity: 1, maxBufferedBytes: 1024 })
    for (let i = 0; i < 200; i++) {
      hub.publish('t', { data: 'x'.repeat(100) })
      if (i % 10 === 0) await tick()
    }
    await tick()
    expect(slow.stream.closed).toBe(true)
    for (const client of fast) expect(events(client.sink)).toHaveLength(200)
    expect(hub.stats.overflowCloses).toBe(1)
    expect(hub.size).toBe(3)
  })

  it("counts drops for 'drop' streams and keeps them subscribed", async () => {
    const hub = hubFor()
    const slow = connect(hub, ['t'], { capacity: 1, maxBufferedBytes: 1024, onOverflow: 'drop' })
    for (let i = 0; i < 100; i++) {
      hub.publish('t', { data: 'x'.repeat(100) })
      await tick()
    }
    expect(slow.stream.closed).toBe(false)
    expect(hub.stats.dropped).toBeGreaterThan(0)
    expect(hub.stats.dropped).toBe(slow.stream.droppedEvents)
    expect(hub.stats.delivered + hub.stats.dropped).toBe(100)
    expect(slow.stream.bufferedBytes).toBeLessThanOrEqual(1024)
  })
})

describe('hub: publisher backpressure (ready)', () => {
  afterEach(() => {
    vi.useRealTimers()
  })
  const fakeClock = () => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })

  it('resolves at once while nothing is congested, and waits for a congested stream until it drains', async () => {
    const hub = hubFor()
    const client = connect(hub, ['t'], { capacity: 100 })
    let released = false
    await hub.ready()
    await hub.publish('t', { data: 'x'.repeat(200) }) // fills the sink
    void hub.ready().then(() => {
      released = true
    })
    await tick()
    expect(released).toBe(false)
    client.sink.drain()
    await tick()
    expect(released).toBe(true)
  })

  it('waits only for the streams of the topic it is asked about', async () => {
    const hub = hubFor()
    connect(hub, ['busy'], { capacity: 1 })
    connect(hub, ['quiet'])
    await hub.publish('busy', { data: 1 })
    let quiet = false
    let all = false
    void hub.ready('quiet').then(() => {
      quiet = true
    })
    void hub.ready().then(() => {
      all = true
    })
    await tick()
    expect([quiet, all]).toEqual([true, false])
  })

  it('stops waiting for a stalled stream once it is slow: closes it as "slow", the others get everything', async () => {
    fakeClock()
    const hub = hubFor()
    const reasons: string[] = []
    hub.on('unsubscribe', ({ reason }) => reasons.push(reason))
    const healthy = Array.from({ length: 3 }, () =>
      connect(hub, ['t'], { capacity: 1000, slowAfterMs: 1000 }),
    )
    const stalled = connect(hub, ['t'], { capacity: 1000, slowAfterMs: 1000 })
    let published = 0
    const publisher = (async () => {
      for (; published < 200; published++) {
        await hub.publish('t', { data: 'y'.repeat(500) })
        await hub.ready()
      }
    })()
    // The healthy clients read every 100 ms; the stalled one never does.
    for (let ms = 0; ms < 60_000 && published < 200; ms += 100) {
      await vi.advanceTimersByTimeAsync(100)
      for (const client of healthy) client.sink.drain()
    }
    await publisher
    expect(stalled.stream.closeReason).toBe('slow')
    expect(reasons).toEqual(['slow'])
    for (const client of healthy) {
      expect(client.stream.closed).toBe(false)
      expect(events(client.sink)).toHaveLength(200)
    }
    expect(hub.stats).toMatchObject({ slowCloses: 1, overflowCloses: 0 })
    expect(hub.stats.pacedMs).toBeGreaterThanOrEqual(1000) // it waited for the stalled one, once
  })

  it("does not wait for a slow stream under 'drop', which drops until it drains", async () => {
    fakeClock()
    const hub = hubFor()
    const stalled = connect(hub, ['t'], { capacity: 1, slowAfterMs: 1000, onOverflow: 'drop' })
    await hub.publish('t', { data: 1 })
    let released = false
    void hub.ready().then(() => {
      released = true
    })
    await vi.advanceTimersByTimeAsync(1100)
    expect(released).toBe(true)
    expect(stalled.stream.closed).toBe(false)
    await hub.publish('t', { data: 2 })
    await hub.ready() // at once: a slow 'drop' stream holds nobody
    expect(stalled.stream.droppedEvents).toBe(1)
  })

  it('releases a waiting publisher at once on close()', async () => {
    const hub = hubFor()
    connect(hub, ['t'], { capacity: 1 })
    await hub.publish('t', { data: 1 })
    const waiting = hub.ready()
    await hub.close()
    await expect(waiting).resolves.toBe(undefined)
    await expect(hub.ready()).resolves.toBe(undefined)
  })

  it('releases a waiting publisher when the stream it waits for leaves', async () => {
    const hub = hubFor()
    const client = connect(hub, ['t'], { capacity: 1 })
    await hub.publish('t', { data: 1 })
    const waiting = hub.ready()
    client.sink.disconnect()
    await expect(waiting).resolves.toBe(undefined)
  })
})

describe('hub: replay under flow control', () => {
  it('writes history in pages, each once the client read the one before, then goes live', async () => {
    const hub = hubFor({ historySize: 200 })
    const ids: string[] = []
    for (let i = 0; i < 100; i++) ids.push(await hub.publish('t', { data: `${i}:${'z'.repeat(16 * 1024)}` }))
    const client = connect(hub, ['t'], { capacity: 1, lastEventId: ids[0] })
    let live = false
    void client.ready.then(() => {
      live = true
    })
    await tick()
    // A client that does not read pins one page of history, not all 99 events (1.6 MiB).
    expect(client.sink.buffered).toBeLessThan(100 * 1024)
    expect(live).toBe(false)
    await hub.publish('t', { data: 'during' })
    await readUntilLive(client)
    await hub.publish('t', { data: 'after' })
    await tick()
    client.sink.drain()
    const data = events(client.sink).map((event) => event.data.split(':')[0])
    expect(data).toEqual([...Array.from({ length: 99 }, (_, i) => String(i + 1)), 'during', 'after'])
    expect(hub.stats.replayed).toBe(99)
  })
})

/**
 * A broker that answers history a few entries at a time, as one that copies entries out of a
 * store does (`next`): the in-memory log underneath, and a record of every page asked for.
 */
class PagedBroker extends MemoryBroker {
  readonly asked: LogPosition[] = []
  constructor(
    readonly pageEntries: number,
    historySize: number,
  ) {
    super({ historySize })
  }

  override async history(topics: readonly string[], after: LogPosition): Promise<HistoryResult> {
    this.asked.push(after)
    const whole = await super.history(topics, after)
    if (whole.kind !== 'ok' || whole.entries.length <= this.pageEntries) return whole
    const entries = whole.entries.slice(0, this.pageEntries)
    return { kind: 'ok', entries, head: whole.head, next: entries.at(-1)! }
  }
}

describe('hub: a broker that answers history in pages', () => {
  it('asks for the next page only once the client took the one before, and misses nothing at the seams', async () => {
    const broker = new PagedBroker(10, 1000)
    const hub = hubFor({ broker })
    const ids: string[] = []
    for (let i = 0; i < 45; i++) ids.push(await hub.publish(i % 3 === 0 ? 'other' : 't', { data: i }))
    const client = connect(hub, ['t'], { capacity: 1, lastEventId: ids[0] })
    await tick()
    // The client has not read: one page was asked for, the next waits.
    expect(broker.asked).toHaveLength(1)
    await hub.publish('t', { data: 'during' })
    await readUntilLive(client)
    // Each page ends at the seq of its last entry of the topic; the next one starts there.
    expect(broker.asked.map((position) => position.seq)).toEqual([1, 15, 30, 45])
    const expected = Array.from({ length: 45 }, (_, i) => i)
      .filter((i) => i > 0 && i % 3 !== 0)
      .map(String)
    expect(events(client.sink).map((event) => event.data)).toEqual([...expected, 'during'])
  })

  it('sends the reset when history is trimmed between two pages, then goes live', async () => {
    const broker = new PagedBroker(10, 50)
    const hub = hubFor({ broker })
    const ids: string[] = []
    for (let i = 0; i < 40; i++) ids.push(await hub.publish('t', { data: i }))
    const client = connect(hub, ['t'], { capacity: 1, lastEventId: ids[0] })
    await tick()
    // While the client is stalled on its first page, the log moves on past where it stands.
    for (let i = 0; i < 60; i++) await hub.publish('other', { data: i })
    await readUntilLive(client)
    // The reset stands for the log as of its id: what comes after it is live.
    await hub.publish('t', { data: 'live' })
    await tick()
    client.sink.drain()
    const got = events(client.sink)
    expect(got.map((event) => event.data).slice(0, 10)).toEqual(
      Array.from({ length: 10 }, (_, i) => String(i + 1)),
    )
    expect(got[10]!.event).toBe(RESET_EVENT)
    expect(JSON.parse(got[10]!.data)).toEqual({ reason: 'trimmed', lastEventId: ids[0] })
    expect(got.slice(11).map((event) => event.data)).toEqual(['live'])
    expect(hub.stats).toMatchObject({ replayed: 10, resets: 1 })
  })
})

describe('hub: replay by Last-Event-ID', () => {
  it('replays exactly the missed events, then continues live', async () => {
    const hub = hubFor()
    const ids: string[] = []
    for (let i = 1; i <= 5; i++) ids.push(await hub.publish('t', { data: i }))
    const client = connect(hub, ['t'], { lastEventId: ids[1] })
    await client.ready
    await hub.publish('t', { data: 6 })
    await tick()
    expect(events(client.sink).map((event) => event.data)).toEqual(['3', '4', '5', '6'])
    expect(events(client.sink).map((event) => event.id)).toEqual([ids[2], ids[3], ids[4], expect.any(String)])
    expect(hub.stats.replayed).toBe(3)
  })

  it('replays nothing for a client that is up to date', async () => {
    const hub = hubFor()
    const last = await hub.publish('t', { data: 1 })
    const client = connect(hub, ['t'], { lastEventId: last })
    await client.ready
    expect(events(client.sink)).toEqual([])
  })

  it('replays a multi-topic stream in global order, skipping other topics', async () => {
    const hub = hubFor()
    const first = await hub.publish('a', { data: 'a0' })
    for (const [topic, data] of [
      ['a', 'a1'],
      ['x', 'x1'],
      ['b', 'b1'],
      ['a', 'a2'],
      ['b', 'b2'],
    ] as const) {
      await hub.publish(topic, { data })
    }
    const client = connect(hub, ['b', 'a'], { lastEventId: first })
    await client.ready
    expect(events(client.sink).map((event) => event.data)).toEqual(['a1', 'b1', 'a2', 'b2'])
  })

  it('applies the stream’s filter to replayed events', async () => {
    const hub = hubFor()
    const first = await hub.publish('t', { data: 0 })
    for (let i = 1; i <= 6; i++) await hub.publish('t', { data: i })
    const client = connect(hub, ['t'], { lastEventId: first, filter: (entry) => Number(entry.data) > 4 })
    await client.ready
    expect(events(client.sink).map((event) => event.data)).toEqual(['5', '6'])
  })

  describe('the history → live seam', () => {
    /** A broker whose history answers only when released, computed then (or at call time). */
    class GatedBroker extends MemoryBroker {
      release: () => void = () => {}
      constructor(private readonly snapshotAtCall: boolean) {
        super()
      }
      override history(topics: readonly string[], after: LogPosition): Promise<HistoryResult> {
        const early = super.history(topics, after)
        return new Promise((resolve) => {
          this.release = () => resolve(this.snapshotAtCall ? early : super.history(topics, after))
        })
      }
    }

    for (const snapshotAtCall of [false, true]) {
      it(`has no duplicate and no gap when events are published during the history read (snapshot ${
        snapshotAtCall ? 'at call' : 'at answer'
      })`, async () => {
        const broker = new GatedBroker(snapshotAtCall)
        const hub = hubFor({ broker })
        const ids: string[] = []
        for (let i = 1; i <= 3; i++) ids.push(await hub.publish('t', { data: i }))
        const client = connect(hub, ['t'], { lastEventId: ids[0] })
        for (let i = 4; i <= 6; i++) await hub.publish('t', { data: i })
        await tick()
        expect(events(client.sink)).toEqual([]) // held back while history is read
        broker.release()
        await client.ready
        await hub.publish('t', { data: 7 })
        await tick()
        expect(events(client.sink).map((event) => event.data)).toEqual(['2', '3', '4', '5', '6', '7'])
      })
    }

    it('drops live entries that arrive after history already delivered them (a lagging broker)', async () => {
      /** Delivers live entries a macrotask late, as a networked broker does. */
      class LaggingBroker extends MemoryBroker {
        override subscribe(listener: (entry: BrokerEntry) => void): () => void {
          return super.subscribe((entry) => setTimeout(() => listener(entry), 5))
        }
      }
      const hub = hubFor({ broker: new LaggingBroker() })
      const first = await hub.publish('t', { data: 1 })
      await new Promise((resolve) => setTimeout(resolve, 20))
      hub.publish('t', { data: 2 })
      hub.publish('t', { data: 3 })
      const client = connect(hub, ['t'], { lastEventId: first })
      await client.ready
      await new Promise((resolve) => setTimeout(resolve, 30))
      expect(events(client.sink).map((event) => event.data)).toEqual(['2', '3'])
    })
  })

  describe('reset instead of a silent gap', () => {
    function resetOf(sink: MemorySink) {
      const [event] = events(sink)
      expect(event?.event).toBe(RESET_EVENT)
      return { id: event?.id, notice: JSON.parse(event?.data ?? '{}') }
    }

    it('for an id from another epoch (history lost: restart)', async () => {
      const hub = hubFor()
      const head = await hub.publish('t', { data: 1 })
      const client = connect(hub, ['t'], { lastEventId: 'otherepoch-5' })
      await client.ready
      const { id, notice } = resetOf(client.sink)
      expect(notice).toEqual({ reason: 'epoch', lastEventId: 'otherepoch-5' })
      expect(id).toBe(head) // resuming from the reset's id continues from now
      expect(hub.stats.resets).toBe(1)
    })

    it('for an id trimmed from history', async () => {
      const hub = hubFor({ historySize: 3 })
      const ids: string[] = []
      for (let i = 1; i <= 10; i++) ids.push(await hub.publish('t', { data: i }))
      const client = connect(hub, ['t'], { lastEventId: ids[2] })
      await client.ready
      expect(resetOf(client.sink).notice.reason).toBe('trimmed')
      expect(resetOf(client.sink).id).toBe(ids[9])
      // The last three are still replayable.
      const recent = connect(hub, ['t'], { lastEventId: ids[6] })
      await recent.ready
      expect(events(recent.sink).map((event) => event.data)).toEqual(['8', '9', '10'])
    })

    it('for an id whose events were evicted by historyMaxBytes (createHub passes it to its MemoryBroker)', async () => {
      // 1 (topic) + 100 (data) per entry: 3 fit in 350.
      const hub = hubFor({ historyMaxBytes: 350 })
      const ids: string[] = []
      for (let i = 0; i < 10; i++) ids.push(await hub.publish('t', { data: `${i}`.padEnd(100, '.') }))
      const client = connect(hub, ['t'], { lastEventId: ids[5] })
      await client.ready
      expect(resetOf(client.sink).notice).toEqual({ reason: 'trimmed', lastEventId: ids[5] })
      expect(resetOf(client.sink).id).toBe(ids[9])
      const recent = connect(hub, ['t'], { lastEventId: ids[6] })
      await recent.ready
      expect(events(recent.sink).map((event) => event.data[0])).toEqual(['7', '8', '9'])
      // A quiet topic whose one event was seen is not reset by the busy topic's evictions.
      const quiet = await hub.publish('quiet', { data: 'q' })
      for (let i = 0; i < 5; i++) await hub.publish('t', { data: 'x'.repeat(100) })
      const quietClient = connect(hub, ['quiet'], { lastEventId: quiet })
      await quietClient.ready
      expect(events(quietClient.sink)).toEqual([])
    })

    it('not for a quiet topic whose own events were all seen, when a busy topic trimmed the log', async () => {
      const hub = hubFor({ historySize: 3 })
      const quiet = await hub.publish('quiet', { data: 'q' })
      for (let i = 0; i < 10; i++) await hub.publish('busy', { data: i })
      const client = connect(hub, ['quiet'], { lastEventId: quiet })
      await client.ready
      expect(events(client.sink)).toEqual([])
      await hub.publish('quiet', { data: 'q2' })
      await tick()
      expect(events(client.sink).map((event) => event.data)).toEqual(['q2'])
    })

    it('for an id older than the history’s maximum age', async () => {
      let now = 0
      const timers: TimerProvider = {
        setTimeout: () => 0,
        clearTimeout: () => {},
        setInterval: () => 0,
        clearInterval: () => {},
        now: () => now,
      }
      const hub = hubFor({ historyMaxAgeMs: 1000, timers })
      const first = await hub.publish('t', { data: 1 })
      await hub.publish('t', { data: 2 })
      now = 500
      const fresh = connect(hub, ['t'], { lastEventId: first })
      await fresh.ready
      expect(events(fresh.sink).map((event) => event.data)).toEqual(['2'])
      now = 2000
      const stale = connect(hub, ['t'], { lastEventId: first })
      await stale.ready
      expect(resetOf(stale.sink).notice.reason).toBe('trimmed')
    })

    it("for a Last-Event-ID that cannot be read (too long, not UTF-8, repeated): reason 'unknown', then live", async () => {
      const hub = hubFor()
      await hub.publish('t', { data: 'before' })
      for (const raw of ['x'.repeat(300), '\xff\xfe', ['1', '2']]) {
        const client = connect(hub, ['t'], { lastEventId: raw })
        await client.ready
        expect(client.stream.lastEventId).toBe(undefined)
        await hub.publish('t', { data: 'live' })
        await tick()
        const [reset, live] = events(client.sink)
        expect(reset).toMatchObject({ event: RESET_EVENT })
        expect(JSON.parse(reset!.data)).toEqual({ reason: 'unknown', lastEventId: '' })
        expect(live).toMatchObject({ data: 'live' })
        client.stream.close()
      }
      // No header at all (or an empty one) is a first visit: no reset.
      for (const raw of [undefined, '']) {
        const client = connect(hub, ['t'], { lastEventId: raw })
        await client.ready
        expect(events(client.sink)).toEqual([])
      }
    })

    it('for an id that is not one of ours, or from the future', async () => {
      const hub = hubFor()
      const id = await hub.publish('t', { data: 1 })
      const foreign = connect(hub, ['t'], { lastEventId: 'not-an-id-of-ours' })
      const future = connect(hub, ['t'], { lastEventId: id.replace(/-\d+$/, '-999') })
      await Promise.all([foreign.ready, future.ready])
      expect(resetOf(foreign.sink).notice.reason).toBe('unknown')
      expect(resetOf(future.sink).notice.reason).toBe('unknown')
    })

    it('live events after a reset continue normally', async () => {
      const hub = hubFor()
      await hub.publish('t', { data: 1 })
      const client = connect(hub, ['t'], { lastEventId: 'zz-1' })
      await client.ready
      await hub.publish('t', { data: 2 })
      await tick()
      expect(events(client.sink).map((event) => event.event ?? event.data)).toEqual([RESET_EVENT, '2'])
    })
  })

  it('closes the stream (so the client retries) when the broker cannot read history', async () => {
    class DownBroker extends MemoryBroker {
      override history(): Promise<HistoryResult> {
        return Promise.reject(new SseError('SSE_BROKER_UNAVAILABLE', 'down'))
      }
    }
    const hub = hubFor({ broker: new DownBroker() })
    const errors: unknown[] = []
    hub.on('error', (error) => errors.push(error))
    const client = connect(hub, ['t'], { lastEventId: 'abc-1' })
    await client.ready
    expect(client.stream.closed).toBe(true)
    expect(hub.size).toBe(0)
    expect(errors).toHaveLength(1)
  })

  it('bounds the events held back during a slow history read', async () => {
    let release: () => void = () => {}
    class SlowBroker extends MemoryBroker {
      override history(topics: readonly string[], after: LogPosition): Promise<HistoryResult> {
        return new Promise((resolve) => {
          release = () => resolve(super.history(topics, after))
        })
      }
    }
    const hub = hubFor({ broker: new SlowBroker() })
    const first = await hub.publish('t', { data: 0 })
    const client = connect(hub, ['t'], { lastEventId: first, maxBufferedBytes: 2000 })
    for (let i = 0; i < 50; i++) hub.publish('t', { data: 'x'.repeat(100) })
    await tick()
    expect(client.stream.closed).toBe(true)
    expect(hub.stats.overflowCloses).toBe(1)
    release()
    await client.ready
  })
})

describe('hub: heartbeat', () => {
  it('runs one ticker for all its streams, and stops it on close', async () => {
    const intervals = new Map<number, () => void>()
    let next = 1
    const timers: TimerProvider = {
      setTimeout: () => 0,
      clearTimeout: () => {},
      setInterval: (callback) => {
        intervals.set(next, callback)
        return next++
      },
      clearInterval: (handle) => {
        intervals.delete(handle as number)
      },
      now: () => 0,
    }
    const hub = createHub({ heartbeat: 1000, timers, retry: false })
    const clients = Array.from({ length: 5 }, () => {
      const sink = createMemorySink()
      const stream = createEventStream(sink, { heartbeat: 1000, timers })
      hub.subscribe(stream, { topics: ['t'] })
      return sink
    })
    expect(intervals.size).toBe(1)
    for (const callback of intervals.values()) callback()
    for (const callback of intervals.values()) callback()
    for (const sink of clients) expect(sink.text()).toBe(':\n\n:\n\n')
    await hub.close({ retry: false })
    expect(intervals.size).toBe(0)
  })
})

describe('hub: options that belong to the broker, and who closes it', () => {
  it('refuses history options beside a broker of your own, naming where they go', () => {
    const broker = new MemoryBroker()
    for (const options of [{ historySize: 10 }, { historyMaxBytes: 1024 }, { historyMaxAgeMs: 1000 }]) {
      const name = Object.keys(options)[0]!
      const error = (() => {
        try {
          createHub({ broker, ...options })
        } catch (caught) {
          return caught as SseError
        }
        return undefined
      })()
      expect(error, name).toBeInstanceOf(SseError)
      expect(error!.code).toBe('SSE_INVALID_OPTION')
      expect(error!.message).toContain(name)
      expect(error!.message).toContain('give it to the broker')
    }
    expect(() => createHub({ broker, historySize: 1, historyMaxBytes: 1 })).toThrow(
      /historySize, historyMaxBytes configure .* give them to the broker/,
    )
  })

  it('closes the broker it made, leaves yours open, and closes yours when handed over with closeBroker', async () => {
    const closed: string[] = []
    const watched = (name: string) => {
      const broker = new MemoryBroker()
      const close = broker.close.bind(broker)
      broker.close = () => {
        closed.push(name)
        return close()
      }
      return broker
    }
    await createHub({ broker: watched('yours'), heartbeat: false }).close()
    await createHub({ broker: watched('handed over'), closeBroker: true, heartbeat: false }).close()
    expect(closed).toEqual(['handed over'])
    // The one it made: publishing after close() fails because its broker is closed too.
    const own = createHub({ heartbeat: false })
    await own.close()
    await expect(own.publish('t', { data: 1 })).rejects.toBeInstanceOf(SseError)
  })
})

describe('hub: the retry hint sent as a stream subscribes', () => {
  it('sends each stream a retry in [500, 1500] ms by default, jittered per stream', async () => {
    const hub = hubFor()
    const clients = Array.from({ length: 20 }, () => connect(hub, ['t']))
    await Promise.all(clients.map((client) => client.ready))
    const sent = clients.map((client) => retries(client.sink))
    for (const values of sent) {
      expect(values).toHaveLength(1)
      expect(values[0]).toBeGreaterThanOrEqual(500)
      expect(values[0]).toBeLessThanOrEqual(1500)
    }
    expect(new Set(sent.map((values) => values[0])).size).toBeGreaterThan(1)
  })

  it('sends the configured range, none with retry: false, and leaves a stream’s own retry alone', async () => {
    const ranged = connect(hubFor({ retry: { min: 200, max: 200 } }), ['t'])
    const none = connect(hubFor({ retry: false }), ['t'])
    const own = connect(hubFor(), ['t'], { retry: 7000 })
    await Promise.all([ranged.ready, none.ready, own.ready])
    expect(retries(ranged.sink)).toEqual([200])
    expect(retries(none.sink)).toEqual([])
    expect(retries(own.sink)).toEqual([7000])
  })

  it('rejects a range that is not integer milliseconds with 0 <= min <= max', () => {
    for (const retry of [
      { min: 2, max: 1 },
      { min: -1, max: 5 },
      { min: 0.5, max: 1 },
    ]) {
      expect(() => createHub({ retry })).toThrow(/createHub\(\{ retry \}\) needs integer milliseconds/)
    }
  })
})

describe('hub: close', () => {
  it('sends the final event and a jittered retry to each client, then closes every stream', async () => {
    const hub = createHub({ heartbeat: false, retry: false })
    const clients = Array.from({ length: 20 }, () => connect(hub, ['t']))
    await hub.close({ event: { event: 'bye', data: 'restarting' }, retry: { min: 1000, max: 5000 } })
    for (const client of clients) {
      expect(client.stream.closed).toBe(true)
      expect(events(client.sink)).toEqual([{ event: 'bye', data: 'restarting', id: undefined }])
      const [retry] = retries(client.sink)
      expect(retry).toBeGreaterThanOrEqual(1000)
      expect(retry).toBeLessThanOrEqual(5000)
    }
    expect(new Set(clients.map((client) => retries(client.sink)[0])).size).toBeGreaterThan(1)
    expect(hub.size).toBe(0)
    expect(hub.closed).toBe(true)
  })

  it('delivers what was published before close, then refuses publishes', async () => {
    const hub = createHub({ heartbeat: false })
    const client = connect(hub, ['t'])
    hub.publish('t', { data: 'last' })
    await hub.close({ retry: false })
    expect(events(client.sink).map((event) => event.data)).toEqual(['last'])
    await expect(hub.publish('t', { data: 1 })).rejects.toMatchObject({ code: 'SSE_HUB_CLOSED' })
  })

  it('tells a stream that subscribes after close to retry later, and closes it', async () => {
    const hub = createHub({ heartbeat: false })
    await hub.close()
    const client = connect(hub, ['t'])
    await client.ready
    expect(client.stream.closed).toBe(true)
    expect(retries(client.sink)).toHaveLength(1)
  })

  it('leaves a broker it did not create open', async () => {
    const broker = new MemoryBroker()
    const close = vi.spyOn(broker, 'close')
    await createHub({ broker, heartbeat: false }).close()
    expect(close).not.toHaveBeenCalled()
  })
})

describe('hub: many clients coming and going', () => {
  it('leaves nothing behind after rapid connect/disconnect cycles', async () => {
    const hub = hubFor()
    const last = await hub.publish('t', { data: 0 })
    for (let i = 0; i < 500; i++) {
      const client = connect(hub, ['t', `user-${i % 7}`], i % 3 === 0 ? { lastEventId: last } : {})
      if (i % 2 === 0) client.sink.disconnect()
      else {
        await client.ready
        client.stream.close()
      }
    }
    await tick()
    expect(hub.size).toBe(0)
    expect(hub.topics().size).toBe(0)
  })
})

describe('hub: a broker with ready()', () => {
  it('registers streams only once the broker delivers from a known position, asking once', async () => {
    let release: () => void = () => {}
    let asked = 0
    class StartingBroker extends MemoryBroker {
      ready(): Promise<void> {
        asked++
        return new Promise((resolve) => {
          release = resolve
        })
      }
    }
    const hub = hubFor({ broker: new StartingBroker() })
    const first = connect(hub, ['t'])
    const second = connect(hub, ['t'])
    await tick()
    expect(hub.size).toBe(0)
    release()
    await Promise.all([first.ready, second.ready])
    expect(hub.size).toBe(2)
    await connect(hub, ['t']).ready
    expect(asked).toBe(1)
  })

  it('closes a stream with a retry when ready() fails, reports it, and asks again next time', async () => {
    let asked = 0
    class DownBroker extends MemoryBroker {
      ready(): Promise<void> {
        asked++
        return Promise.reject(new SseError('SSE_BROKER_UNAVAILABLE', 'down'))
      }
    }
    const hub = hubFor({ broker: new DownBroker(), retry: false })
    const errors: unknown[] = []
    hub.on('error', (error) => errors.push(error))
    const clients: Array<ReturnType<typeof connect>> = []
    for (let i = 0; i < 2; i++) {
      clients.push(connect(hub, ['t']))
      await clients[i]!.ready
    }
    // Not registered without a known position in the log (events published elsewhere could pass
    // it by): closed, with a retry hint, so the client comes back once the broker is.
    expect(hub.size).toBe(0)
    for (const client of clients) {
      expect(client.stream.closed).toBe(true)
      const [retry] = retries(client.sink)
      expect(retry).toBeGreaterThanOrEqual(1000)
      expect(retry).toBeLessThanOrEqual(5000)
    }
    expect(asked).toBe(2)
    expect(errors).toHaveLength(2)
  })
})

describe('hub: a broker that lost live events', () => {
  it('closes every stream so clients resume from history, and reports the gap', async () => {
    let reportGap: (error: SseError) => void = () => {}
    class GappyBroker extends MemoryBroker {
      override subscribe(
        listener: (entry: BrokerEntry) => void,
        onGap?: (error: SseError) => void,
      ): () => void {
        if (onGap) reportGap = onGap
        return super.subscribe(listener)
      }
    }
    const hub = hubFor({ broker: new GappyBroker() })
    const errors: unknown[] = []
    hub.on('error', (error) => errors.push(error))
    const clients = [connect(hub, ['a']), connect(hub, ['a', 'b'])]
    hub.publish('a', { data: 'before the gap' })
    reportGap(new SseError('SSE_BROKER_GAP', 'lost'))
    for (const client of clients) {
      expect(client.stream.closed).toBe(true)
      expect(events(client.sink).map((event) => event.data)).toEqual(['before the gap'])
    }
    expect(hub.size).toBe(0)
    expect(errors).toEqual([expect.objectContaining({ code: 'SSE_BROKER_GAP' })])
  })
})

describe('hub: a broker’s contract as the hub relies on it', () => {
  it('publishes through any Broker implementation and replays from it', async () => {
    // A minimal broker written against the interface only, as @sse/redis is.
    const log: BrokerEntry[] = []
    const listeners = new Set<(entry: BrokerEntry) => void>()
    const broker: Broker = {
      async publish(topic: string, message: BrokerMessage) {
        const entry = { ...message, topic, epoch: 'e', seq: log.length + 1 }
        log.push(entry)
        for (const listener of listeners) listener(entry)
        return entry
      },
      subscribe(listener) {
        listeners.add(listener)
        return () => listeners.delete(listener)
      },
      async history(topics, after) {
        const head = { epoch: 'e', seq: log.length }
        if (after.epoch !== 'e') return { kind: 'reset', reason: 'epoch', head }
        return { kind: 'ok', entries: log.filter((e) => e.seq > after.seq && topics.includes(e.topic)), head }
      },
      async head() {
        return { epoch: 'e', seq: log.length }
      },
      async close() {},
    }
    const hub = hubFor({ broker })
    expect(await hub.publish('t', { data: 'one' })).toBe('e-1')
    await hub.publish('t', { data: 'two' })
    const client = connect(hub, ['t'], { lastEventId: 'e-1' })
    await client.ready
    expect(events(client.sink)).toEqual([{ id: 'e-2', event: undefined, data: 'two' }])
  })
})

describe('hub: principals, tags, revoke and presence', () => {
  function reader(hub: Hub, topics: string[], principal?: string, tags?: string[], lastEventId?: string) {
    const sink = createMemorySink()
    const stream = createEventStream(sink, { heartbeat: false, lastEventId })
    const ready = hub.subscribe(stream, { topics, principal, tags })
    return { sink, stream, ready }
  }

  it('closes exactly the streams of a principal, after their last event and retry, with the reason revoked', async () => {
    const hub = hubFor({ retry: false })
    const reasons: string[] = []
    hub.on('unsubscribe', ({ reason }) => reasons.push(reason))
    const ann = [reader(hub, ['a'], 'ann'), reader(hub, ['b'], 'ann')]
    const bob = reader(hub, ['a'], 'bob')
    const nobody = reader(hub, ['a'])
    await Promise.all([...ann, bob, nobody].map((client) => client.ready))
    expect(hub.revoke({ principal: 'ann' }, { event: { event: 'revoked', data: 'bye' }, retry: 9000 })).toBe(
      2,
    )
    for (const client of ann) {
      expect(client.stream.closeReason).toBe('revoked')
      expect(events(client.sink)).toEqual([{ event: 'revoked', data: 'bye', id: undefined }])
      expect(retries(client.sink)).toEqual([9000])
    }
    expect(bob.stream.closed).toBe(false)
    expect(nobody.stream.closed).toBe(false)
    expect(reasons).toEqual(['revoked', 'revoked'])
    expect(hub.size).toBe(2)
    expect(hub.revoke({ principal: 'ann' })).toBe(0)
  })

  it('selects by tag and topic together, and counts presence per topic and principal', async () => {
    const hub = hubFor({ retry: false })
    const clients = [
      reader(hub, ['doc'], 'ann', ['editor']),
      reader(hub, ['doc'], 'ann', ['editor']),
      reader(hub, ['doc', 'chat'], 'bob', ['viewer', 'editor']),
      reader(hub, ['chat'], 'cid', ['editor']),
      reader(hub, ['doc']),
    ]
    await Promise.all(clients.map((client) => client.ready))
    expect(hub.presence('doc')).toEqual({
      streams: 4,
      principals: new Map([
        ['ann', 2],
        ['bob', 1],
      ]),
    })
    expect(hub.presence('none')).toEqual({ streams: 0, principals: new Map() })
    // Editors of 'doc' only: not cid's 'chat' stream, not the anonymous one.
    expect(hub.revoke({ tag: 'editor', topic: 'doc' })).toBe(3)
    expect(clients.map((client) => client.stream.closed)).toEqual([true, true, true, false, false])
    expect(hub.presence('doc')).toEqual({ streams: 1, principals: new Map() })
    expect(hub.presence('chat')).toEqual({ streams: 1, principals: new Map([['cid', 1]]) })
  })

  it('resets, never replays, a revoked principal resuming from before the revocation', async () => {
    const hub = hubFor({ retry: false })
    const first = await hub.publish('t', { data: 'allowed' })
    const ann = reader(hub, ['t'], 'ann')
    await ann.ready
    hub.revoke({ principal: 'ann' })
    await hub.publish('t', { data: 'published while revoked' })
    // Allowed again later (authorize said so), with the id it had: no replay of the gap.
    const back = reader(hub, ['t'], 'ann', undefined, first)
    await back.ready
    const [notice] = events(back.sink)
    expect(notice?.event).toBe(RESET_EVENT)
    expect(JSON.parse(notice!.data)).toEqual({ reason: 'revoked', lastEventId: first })
    await hub.publish('t', { data: 'live' })
    await tick()
    expect(
      events(back.sink)
        .slice(1)
        .map((event) => event.data),
    ).toEqual(['live'])
    // Another principal with the same id is replayed as ever.
    const bob = reader(hub, ['t'], 'bob', undefined, first)
    await bob.ready
    expect(events(bob.sink).map((event) => event.data)).toEqual(['published while revoked', 'live'])
    // And ann, once back and resuming from an id after the revocation, is replayed too.
    const lastLive = events(back.sink).at(-1)!.id!
    await hub.publish('t', { data: 'after' })
    const again = reader(hub, ['t'], 'ann', undefined, lastLive)
    await again.ready
    expect(events(again.sink).map((event) => event.data)).toEqual(['after'])
  })

  it('rejects bad selectors, principals, tags and options with SseError codes, closing nothing', async () => {
    const hub = hubFor()
    const client = reader(hub, ['t'], 'ann')
    await client.ready
    const codeOf = (run: () => unknown) => {
      try {
        run()
      } catch (error) {
        return error instanceof SseError ? error.code : 'not an SseError'
      }
      return 'no error'
    }
    expect(codeOf(() => hub.revoke({}))).toBe('SSE_INVALID_OPTION')
    expect(codeOf(() => hub.revoke({ user: 'ann' } as never))).toBe('SSE_INVALID_OPTION')
    expect(codeOf(() => hub.revoke({ principal: '' }))).toBe('SSE_INVALID_OPTION')
    expect(codeOf(() => hub.revoke(null as never))).toBe('SSE_INVALID_OPTION')
    expect(codeOf(() => hub.revoke({ principal: 'ann' }, { retry: -1 }))).toBe('SSE_INVALID_RETRY')
    expect(codeOf(() => hub.revoke({ principal: 'ann' }, { event: { event: 'a\nb', data: '' } }))).toBe(
      'SSE_INVALID_EVENT_NAME',
    )
    expect(client.stream.closed).toBe(false)
    for (const [principal, tags] of [
      ['', undefined],
      ['x'.repeat(257), undefined],
      ['ann', Array.from({ length: 33 }, (_, i) => `t${i}`)],
      ['ann', ['']],
    ] as const) {
      const bad = reader(hub, ['t'], principal, tags as string[] | undefined)
      await expect(bad.ready).rejects.toMatchObject({ code: 'SSE_INVALID_OPTION' })
      expect(bad.stream.closed).toBe(true)
    }
    expect(hub.size).toBe(1)
  })
})
