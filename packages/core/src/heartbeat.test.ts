import { describe, expect, it } from 'vitest'
import { HEARTBEAT_FRAME, HEARTBEAT_SLICE, Heartbeat, type HeartbeatMember } from './heartbeat.ts'
import type { TimerProvider } from './timers.ts'

/** Timers that run only when told to: the interval by `tick()`, timeouts by `runTimeouts()`. */
function manualTimers() {
  let interval: (() => void) | undefined
  const timeouts = new Map<number, { callback: () => void; ms: number }>()
  let next = 1
  const timers: TimerProvider = {
    setTimeout: (callback, ms) => {
      timeouts.set(next, { callback, ms })
      return next++
    },
    clearTimeout: (handle) => {
      timeouts.delete(handle as number)
    },
    setInterval: (callback) => {
      interval = callback
      return 0
    },
    clearInterval: () => {
      interval = undefined
    },
    now: () => 0,
  }
  return {
    timers,
    get intervalRunning() {
      return interval !== undefined
    },
    get pendingTimeouts() {
      return timeouts.size
    },
    /** Fires the interval once. */
    tick: () => interval?.(),
    /** Fires the pending timeouts, one at a time, until none is left; returns their delays. */
    runTimeouts(): number[] {
      const delays: number[] = []
      for (let guard = 0; timeouts.size > 0 && guard < 10_000; guard++) {
        const [handle, timeout] = timeouts.entries().next().value as [
          number,
          { callback: () => void; ms: number },
        ]
        timeouts.delete(handle)
        delays.push(timeout.ms)
        timeout.callback()
      }
      return delays
    },
  }
}

/** A member that counts its visits and checks it is given the shared frame. */
function member(onVisit?: () => void): HeartbeatMember & { visits: number } {
  return {
    visits: 0,
    onHeartbeat(frame) {
      expect(frame).toBe(HEARTBEAT_FRAME)
      this.visits++
      onVisit?.()
    },
  }
}

describe('Heartbeat', () => {
  it('visits up to a slice of members in one tick, with no timer of its own', () => {
    const clock = manualTimers()
    const heartbeat = new Heartbeat(1000, clock.timers, 4)
    const members = Array.from({ length: 4 }, () => member())
    for (const one of members) heartbeat.add(one)
    clock.tick()
    expect(members.map((one) => one.visits)).toEqual([1, 1, 1, 1])
    expect(clock.pendingTimeouts).toBe(0)
  })

  it('cuts a larger pass into slices spread over the first half of the interval, each member once', () => {
    const clock = manualTimers()
    const heartbeat = new Heartbeat(1000, clock.timers, 3)
    const members = Array.from({ length: 10 }, () => member())
    for (const one of members) heartbeat.add(one)
    clock.tick()
    expect(members.filter((one) => one.visits === 1)).toHaveLength(3)
    const delays = clock.runTimeouts()
    expect(delays).toEqual([125, 125, 125]) // 4 slices: 3 waits of 1000 / 2 / 4 ms
    expect(delays.reduce((sum, ms) => sum + ms, 0)).toBeLessThanOrEqual(500)
    expect(members.map((one) => one.visits)).toEqual(Array(10).fill(1))
    clock.tick()
    clock.runTimeouts()
    expect(members.map((one) => one.visits)).toEqual(Array(10).fill(2))
  })

  it('skips members that leave during a pass and visits those that join it', () => {
    const clock = manualTimers()
    const heartbeat = new Heartbeat(1000, clock.timers, 2)
    const members = Array.from({ length: 6 }, () => member())
    for (const one of members) heartbeat.add(one)
    clock.tick()
    heartbeat.delete(members[4]!)
    const late = member()
    heartbeat.add(late)
    clock.runTimeouts()
    expect(members.map((one) => one.visits)).toEqual([1, 1, 1, 1, 0, 1])
    expect(late.visits).toBe(1)
  })

  it('lets a pass that is still under way finish before the next begins: no member twice, none skipped', () => {
    const clock = manualTimers()
    const heartbeat = new Heartbeat(1000, clock.timers, 2)
    const members = Array.from({ length: 5 }, () => member())
    for (const one of members) heartbeat.add(one)
    clock.tick()
    clock.tick() // the loop was too busy to run the slices in time
    expect(members.map((one) => one.visits)).toEqual([1, 1, 0, 0, 0])
    clock.runTimeouts()
    expect(members.map((one) => one.visits)).toEqual([2, 2, 2, 2, 2])
  })

  it('stops mid-pass when its last member leaves, or on stop(), leaving no timer', () => {
    const clock = manualTimers()
    const heartbeat = new Heartbeat(1000, clock.timers, 2)
    const members: HeartbeatMember[] = []
    // Each visit closes every member (a write that found every peer gone).
    const closeAll = () => {
      for (const one of members) heartbeat.delete(one)
    }
    for (let i = 0; i < 5; i++) members.push(member(closeAll))
    for (const one of members) heartbeat.add(one)
    clock.tick()
    expect(clock.pendingTimeouts).toBe(0)
    expect(clock.intervalRunning).toBe(false)

    const other = new Heartbeat(1000, clock.timers, 2)
    for (let i = 0; i < 5; i++) other.add(member())
    clock.tick()
    expect(clock.pendingTimeouts).toBe(1)
    other.stop()
    expect(clock.pendingTimeouts).toBe(0)
    expect(clock.intervalRunning).toBe(false)
  })

  it('tick() visits every member at once, ending a sliced pass under way', () => {
    const clock = manualTimers()
    const heartbeat = new Heartbeat(1000, clock.timers, 2)
    const members = Array.from({ length: 5 }, () => member())
    for (const one of members) heartbeat.add(one)
    clock.tick()
    heartbeat.tick()
    expect(clock.pendingTimeouts).toBe(0)
    expect(members.map((one) => one.visits)).toEqual([2, 2, 1, 1, 1])
  })

  it('slices by HEARTBEAT_SLICE by default', () => {
    const clock = manualTimers()
    const heartbeat = new Heartbeat(15_000, clock.timers)
    const members = Array.from({ length: HEARTBEAT_SLICE * 2 + 1 }, () => member())
    for (const one of members) heartbeat.add(one)
    clock.tick()
    expect(members.filter((one) => one.visits === 1)).toHaveLength(HEARTBEAT_SLICE)
    expect(clock.runTimeouts()).toEqual([2500, 2500])
    expect(members.every((one) => one.visits === 1)).toBe(true)
  })
})
