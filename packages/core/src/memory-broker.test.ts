import { describe, expect, it } from 'vitest'
import type { BrokerEntry, HistoryResult } from './broker.ts'
import { DEFAULT_HISTORY_MAX_BYTES, MemoryBroker, type MemoryBrokerOptions } from './memory-broker.ts'
import type { TimerProvider } from './timers.ts'

function brokerWith(options: MemoryBrokerOptions): MemoryBroker {
  return new MemoryBroker(options)
}

/** The seqs a history answer replays, or its reset reason. */
function replayed(result: HistoryResult): number[] | string {
  return result.kind === 'ok' ? result.entries.map((entry) => entry.seq) : result.reason
}

async function publishAll(
  broker: MemoryBroker,
  list: Array<[topic: string, data: string]>,
): Promise<BrokerEntry[]> {
  const out: BrokerEntry[] = []
  for (const [topic, data] of list) out.push(await broker.publish(topic, { data }))
  return out
}

describe('MemoryBroker: history bounded by size (historyMaxBytes)', () => {
  it('keeps at most historyMaxBytes of topic, event and data, evicting the oldest first', async () => {
    // Each entry: topic 't' (1) + event 'e' (1) + data (38) = 40.
    const broker = brokerWith({ historyMaxBytes: 100 })
    const data = 'x'.repeat(38)
    for (let i = 0; i < 5; i++) await broker.publish('t', { event: 'e', data })
    const head = await broker.head()
    // 2 entries (80) fit, 3 (120) do not: seqs 4 and 5 stay.
    expect(replayed(await broker.history(['t'], { epoch: broker.epoch, seq: 3 }))).toEqual([4, 5])
    expect(replayed(await broker.history(['t'], { epoch: broker.epoch, seq: 2 }))).toBe('trimmed')
    expect(head.seq).toBe(5)
  })

  it('20 events of 10 MiB: the default keeps 64 MiB of them, not 200 MiB', async () => {
    const broker = brokerWith({})
    const big = 'x'.repeat(10 * 1024 * 1024)
    for (let i = 0; i < 20; i++) await broker.publish('t', { data: big })
    const kept = await broker.history(['t'], { epoch: broker.epoch, seq: 14 })
    expect(replayed(kept)).toEqual([15, 16, 17, 18, 19, 20])
    const bytes = kept.kind === 'ok' ? kept.entries.reduce((sum, entry) => sum + entry.data.length, 0) : 0
    expect(bytes).toBeLessThanOrEqual(DEFAULT_HISTORY_MAX_BYTES)
    expect(replayed(await broker.history(['t'], { epoch: broker.epoch, seq: 13 }))).toBe('trimmed')
  })

  it('evicts from the topic that holds the most: a busy topic pushes out its own history, not a quiet one', async () => {
    const broker = brokerWith({ historyMaxBytes: 100 })
    const [quiet] = await publishAll(broker, [['quiet', 'q']])
    // Busy entries of 50: past 100, the busy topic (the larger) gives up its oldest, each time.
    await publishAll(broker, [
      ['busy', 'b'.repeat(46)],
      ['busy', 'b'.repeat(46)],
      ['busy', 'b'.repeat(46)],
    ])
    // The quiet topic kept its event: a client that had not seen it gets it.
    expect(replayed(await broker.history(['quiet'], { epoch: broker.epoch, seq: 0 }))).toEqual([1])
    expect(replayed(await broker.history(['quiet'], { epoch: broker.epoch, seq: quiet!.seq }))).toEqual([])
    // The busy topic lost seqs 2 and 3: a reset for readers behind them, never a silent gap.
    expect(replayed(await broker.history(['busy'], { epoch: broker.epoch, seq: 1 }))).toBe('trimmed')
    expect(replayed(await broker.history(['busy'], { epoch: broker.epoch, seq: 3 }))).toEqual([4])
    // Both topics at once: the entries of each after the position, in seq order.
    expect(replayed(await broker.history(['busy', 'quiet'], { epoch: broker.epoch, seq: 3 }))).toEqual([4])
  })

  it('evicts by count from the topic with the most entries, so a quiet topic keeps its few', async () => {
    const broker = brokerWith({ historySize: 10 })
    const quiet = await publishAll(broker, [
      ['quiet', 'a'],
      ['quiet', 'b'],
    ])
    for (let i = 0; i < 1000; i++) await broker.publish('busy', { data: String(i) })
    expect(replayed(await broker.history(['quiet'], { epoch: broker.epoch, seq: 0 }))).toEqual(
      quiet.map((entry) => entry.seq),
    )
    // The busy topic kept the rest of the 10: its newest 8.
    const busy = await broker.history(['busy'], { epoch: broker.epoch, seq: 994 })
    expect(replayed(busy)).toEqual([995, 996, 997, 998, 999, 1000, 1001, 1002])
  })

  it('evicts the oldest entry among topics holding as many: per-user topics keep the most recent users', async () => {
    const broker = new MemoryBroker({ historySize: 10 })
    const before = await broker.publish('user:start', { data: 's' })
    for (let i = 0; i < 30; i++) await broker.publish(`user:${i}`, { data: String(i) })
    const kept: number[] = []
    for (let i = 0; i < 30; i++) {
      const result = await broker.history([`user:${i}`], before)
      if (result.kind === 'ok' && result.entries.length === 1) kept.push(i)
      else expect(result).toMatchObject({ kind: 'reset', reason: 'trimmed' })
    }
    // Before ties were broken by age, each publish evicted the one just before it: 0–8 and 29 stayed.
    expect(kept).toEqual(Array.from({ length: 10 }, (_, i) => 20 + i))
  })

  it('does not keep an entry larger than historyMaxBytes, and reports it trimmed', async () => {
    const broker = brokerWith({ historyMaxBytes: 100 })
    const [small, huge] = await publishAll(broker, [
      ['t', 'x'],
      ['t', 'y'.repeat(200)],
    ])
    expect(replayed(await broker.history(['t'], { epoch: broker.epoch, seq: small!.seq }))).toBe('trimmed')
    expect(replayed(await broker.history(['t'], { epoch: broker.epoch, seq: huge!.seq }))).toEqual([])
    // The log is empty, not stuck over the bound: the next entries are kept.
    await publishAll(broker, [['t', 'z']])
    expect(replayed(await broker.history(['t'], { epoch: broker.epoch, seq: huge!.seq }))).toEqual([3])
  })

  it('keeps none with historyMaxBytes 0, yet still tells a reconnect its events are gone', async () => {
    const broker = brokerWith({ historyMaxBytes: 0 })
    await publishAll(broker, [['t', 'a']])
    expect(replayed(await broker.history(['t'], { epoch: broker.epoch, seq: 0 }))).toBe('trimmed')
    expect(replayed(await broker.history(['t'], { epoch: broker.epoch, seq: 1 }))).toEqual([])
  })

  it('frees the size of what count and age evict, so the entries after them are kept', async () => {
    // By count: without the release, the total would pass 100 and evict b as well.
    const counted = brokerWith({ historySize: 2, historyMaxBytes: 100 })
    const [a] = await publishAll(counted, [
      ['t', 'a'.repeat(49)],
      ['t', 'b'.repeat(49)],
      ['t', 'c'.repeat(49)],
    ])
    expect(replayed(await counted.history(['t'], { epoch: counted.epoch, seq: a!.seq }))).toEqual([2, 3])

    let now = 0
    const timers: TimerProvider = {
      setTimeout: () => 0,
      clearTimeout: () => {},
      setInterval: () => 0,
      clearInterval: () => {},
      now: () => now,
    }
    const aged = brokerWith({ historyMaxAgeMs: 1000, historyMaxBytes: 100, timers })
    await publishAll(aged, [
      ['t', 'a'.repeat(49)],
      ['t', 'b'.repeat(49)],
    ])
    now = 5000
    await publishAll(aged, [
      ['t', 'c'.repeat(49)],
      ['t', 'd'.repeat(49)],
    ])
    expect(replayed(await aged.history(['t'], { epoch: aged.epoch, seq: 2 }))).toEqual([3, 4])
  })

  it('rejects a historyMaxBytes that is not a non-negative integer', () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new MemoryBroker({ historyMaxBytes: bad })).toThrow(
        expect.objectContaining({ code: 'SSE_INVALID_OPTION' }),
      )
    }
  })
})
