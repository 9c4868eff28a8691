import { describe, expect, it } from 'vitest'
import { HistoryRing } from './history-ring.ts'

/** What the ring holds, oldest first, as [seq, event, data, time]. */
function contents(ring: HistoryRing): unknown[] {
  return Array.from({ length: ring.count }, (_, i) => [
    ring.seq(i),
    ring.event(i),
    ring.data(i),
    ring.time(i),
  ])
}

describe('HistoryRing', () => {
  it('matches a plain array through pushes and shifts that wrap around and grow it', () => {
    const ring = new HistoryRing(100)
    const model: unknown[][] = []
    let seq = 0
    // Pseudo-random but fixed: pushes outnumber shifts, so the ring wraps while it grows.
    let state = 7
    for (let step = 0; step < 2000; step++) {
      state = (state * 1103515245 + 12345) % 2147483648
      const full = ring.count === 100
      if (ring.count > 0 && (full || state % 3 === 0)) {
        ring.shift()
        model.shift()
      } else {
        seq += 1 + (state % 4) // ascending, with gaps: other topics took the seqs between
        const entry = [seq, seq % 2 ? undefined : 'e', `d${seq}`, seq * 1.5] as const
        ring.push(entry[0], entry[1], entry[2], entry[3])
        model.push([...entry])
      }
      expect(contents(ring)).toEqual(model)
      // The first entry after any seq, by binary search, is the model's.
      const probe = seq - (state % 50)
      const expected = model.findIndex((row) => (row[0] as number) > probe)
      expect(ring.after(probe)).toBe(expected === -1 ? model.length : expected)
    }
    expect(seq).toBeGreaterThan(1000)
  })

  it('never holds more than its limit', () => {
    const ring = new HistoryRing(3)
    for (let seq = 1; seq <= 3; seq++) ring.push(seq, undefined, String(seq), 0)
    expect(contents(ring).map((entry) => (entry as unknown[])[2])).toEqual(['1', '2', '3'])
    ring.shift()
    ring.push(4, undefined, '4', 0)
    expect(contents(ring).map((entry) => (entry as unknown[])[0])).toEqual([2, 3, 4])
    expect(ring.after(0)).toBe(0)
    expect(ring.after(3)).toBe(2)
    expect(ring.after(4)).toBe(3)
  })
})
