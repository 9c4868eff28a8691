import { afterEach, describe, expect, it, vi } from 'vitest'
import { SseError } from './errors.ts'
import { createEventStream, DEFAULT_MAX_BUFFERED_BYTES, DEFAULT_SLOW_AFTER_MS } from './event-stream.ts'
import { DEFAULT_MAX_EVENT_BYTES } from './format.ts'
import { SSE_HEADERS } from './sink.ts'
import { createMemorySink } from './testing.ts'
import type { TimerProvider } from './timers.ts'

/** A manual clock: intervals fire only when the test says so. */
function manualTimers(): TimerProvider & { fire(): void; active: number } {
  const intervals = new Map<number, () => void>()
  let next = 1
  return {
    setTimeout: () => 0,
    clearTimeout: () => {},
    setInterval(callback) {
      intervals.set(next, callback)
      return next++
    },
    clearInterval(handle) {
      intervals.delete(handle as number)
    },
    now: () => 0,
    fire() {
      for (const callback of [...intervals.values()]) callback()
    },
    get active() {
      return intervals.size
    },
  }
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe('createEventStream: opening', () => {
  it('commits status 200 and the SSE headers once, then writes a comment so the client opens at once', () => {
    const sink = createMemorySink()
    createEventStream(sink, { heartbeat: false })
    expect(sink.opens).toBe(1)
    expect(sink.head).toEqual({ status: 200, headers: SSE_HEADERS })
    expect(sink.text()).toBe(':\n\n')
    expect(sink.flushes).toBe(1)
  })

  it('sends retry as the first frame when asked, and merges extra headers', () => {
    const sink = createMemorySink()
    createEventStream(sink, {
      heartbeat: false,
      retry: 2500,
      headers: { 'Access-Control-Allow-Origin': '*' },
    })
    expect(sink.text()).toBe('retry: 2500\n\n')
    expect(sink.head?.headers).toEqual({ ...SSE_HEADERS, 'Access-Control-Allow-Origin': '*' })
  })

  it('exposes the decoded Last-Event-ID, and treats a bad one as absent', () => {
    expect(createEventStream(createMemorySink(), { heartbeat: false, lastEventId: '42' }).lastEventId).toBe(
      '42',
    )
    expect(
      createEventStream(createMemorySink(), { heartbeat: false, lastEventId: 'â\x80¦' }).lastEventId,
    ).toBe('…')
    expect(
      createEventStream(createMemorySink(), { heartbeat: false, lastEventId: '\xff\xfe' }).lastEventId,
    ).toBe(undefined)
    expect(
      createEventStream(createMemorySink(), { heartbeat: false, lastEventId: ['1', '2'] }).lastEventId,
    ).toBe(undefined)
  })

  it('rejects invalid options with SseError', () => {
    expect(() => createEventStream(createMemorySink(), { maxBufferedBytes: -1 })).toThrow(SseError)
    expect(() => createEventStream(createMemorySink(), { onOverflow: 'explode' as 'drop' })).toThrow(SseError)
    expect(() => createEventStream(createMemorySink(), { retry: 1.5 })).toThrow(SseError)
    expect(() => createEventStream(createMemorySink(), { heartbeat: 0 })).toThrow(SseError)
  })

  it('does nothing on a sink whose client already left', () => {
    const sink = createMemorySink()
    sink.disconnect()
    const stream = createEventStream(sink, { heartbeat: false })
    expect(stream.closed).toBe(true)
    expect(stream.signal.aborted).toBe(true)
    expect(sink.opens).toBe(0)
    expect(stream.send({ data: 'x' })).toBe(false)
  })
})

describe('createEventStream: sending', () => {
  it('frames events and comments', () => {
    const sink = createMemorySink()
    const stream = createEventStream(sink, { heartbeat: false })
    expect(stream.send({ event: 'tick', id: '1', data: { n: 1 } })).toBe(true)
    expect(stream.comment('hi')).toBe(true)
    expect(sink.text()).toBe(':\n\nid: 1\nevent: tick\ndata: {"n":1}\n\n: hi\n\n')
  })

  it('throws SseError on injection and writes nothing of it', () => {
    const sink = createMemorySink()
    const stream = createEventStream(sink, { heartbeat: false })
    expect(() => stream.send({ event: 'a\ndata: x', data: 'y' })).toThrow(SseError)
    expect(() => stream.send({ id: '1\n', data: 'y' })).toThrow(SseError)
    expect(sink.text()).toBe(':\n\n')
    expect(stream.closed).toBe(false)
  })

  it('refuses an event over maxEventBytes (UTF-8, framed) with SSE_EVENT_TOO_LARGE, writes nothing, and stays open', () => {
    const sink = createMemorySink()
    const stream = createEventStream(sink, { heartbeat: false, maxEventBytes: 100 })
    // Framed: `data: ` + 93 bytes + `\n\n` = 101.
    const over = [
      { data: 'x'.repeat(93) },
      { data: 'é'.repeat(47) },
      { data: '\n'.repeat(20) },
      { data: 'x'.repeat(10_000) },
    ]
    for (const event of over) {
      expect(() => stream.send(event)).toThrow(expect.objectContaining({ code: 'SSE_EVENT_TOO_LARGE' }))
    }
    expect(sink.text()).toBe(':\n\n')
    expect(stream.closed).toBe(false)
    expect(stream.send({ data: 'x'.repeat(92) })).toBe(true) // exactly 100 bytes framed
    expect(sink.text()).toBe(`:\n\ndata: ${'x'.repeat(92)}\n\n`)
  })

  it('takes events up to 1 MiB framed by default', () => {
    const sink = createMemorySink()
    const stream = createEventStream(sink, { heartbeat: false })
    expect(DEFAULT_MAX_EVENT_BYTES).toBe(1024 * 1024)
    expect(stream.send({ data: 'x'.repeat(DEFAULT_MAX_EVENT_BYTES - 8) })).toBe(true)
    expect(() => stream.send({ data: 'x'.repeat(DEFAULT_MAX_EVENT_BYTES - 7) })).toThrow(
      expect.objectContaining({ code: 'SSE_EVENT_TOO_LARGE' }),
    )
    expect(sink.buffered).toBe(3 + DEFAULT_MAX_EVENT_BYTES)
  })

  it('rejects a maxEventBytes that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => createEventStream(createMemorySink(), { maxEventBytes: bad })).toThrow(
        expect.objectContaining({ code: 'SSE_INVALID_OPTION' }),
      )
    }
  })

  it('uses the stream’s serializer', () => {
    const sink = createMemorySink()
    const stream = createEventStream(sink, { heartbeat: false, serializer: (value) => `#${String(value)}` })
    stream.send({ data: 5 })
    expect(sink.text()).toBe(':\n\ndata: #5\n\n')
  })

  it('makes writes after the client left silent no-ops', () => {
    const sink = createMemorySink()
    const stream = createEventStream(sink, { heartbeat: false })
    sink.disconnect()
    expect(stream.closed).toBe(true)
    expect(stream.send({ data: 'late' })).toBe(false)
    expect(stream.comment()).toBe(false)
    expect(sink.text()).toBe(':\n\n')
  })
})

describe('createEventStream: backpressure', () => {
  it('queues while the sink is full and writes the whole queue as one chunk on drain', () => {
    const sink = createMemorySink({ capacity: 10 })
    const stream = createEventStream(sink, { heartbeat: false })
    stream.send({ data: 'aaaaaaaaaa' }) // fills the sink
    const writes = sink.chunks.length
    stream.send({ data: 'b' })
    stream.send({ data: 'c' })
    expect(sink.chunks.length).toBe(writes)
    expect(stream.bufferedBytes).toBe('data: b\n\n'.length * 2)
    sink.drain()
    expect(sink.chunks.length).toBe(writes + 1)
    expect(stream.bufferedBytes).toBe(0)
    expect(sink.text()).toBe(':\n\ndata: aaaaaaaaaa\n\ndata: b\n\ndata: c\n\n')
  })

  it("closes past maxBufferedBytes under 'close' (the default), reporting 'overflow'", () => {
    const sink = createMemorySink({ capacity: 1 })
    const onClose = vi.fn()
    const stream = createEventStream(sink, { heartbeat: false, maxBufferedBytes: 100, onClose })
    let accepted = 0
    while (stream.send({ data: 'x'.repeat(20) })) accepted++
    expect(accepted).toBe(3) // the prelude filled the sink; 3 frames of 28 bytes fit under 100, a 4th does not
    expect(stream.closed).toBe(true)
    expect(stream.signal.aborted).toBe(true)
    expect(sink.closed).toBe(true)
    expect(stream.bufferedBytes).toBe(0)
    expect(onClose).toHaveBeenCalledWith('overflow')
  })

  it("drops events past maxBufferedBytes under 'drop', keeps the stream, and counts the drops", () => {
    const sink = createMemorySink({ capacity: 1 })
    const stream = createEventStream(sink, { heartbeat: false, maxBufferedBytes: 100, onOverflow: 'drop' })
    const results = Array.from({ length: 10 }, (_, i) => stream.send({ data: `${i}`.padStart(20, '.') }))
    expect(results.filter(Boolean)).toHaveLength(3)
    expect(stream.droppedEvents).toBe(7)
    expect(stream.closed).toBe(false)
    expect(stream.bufferedBytes).toBeLessThanOrEqual(100)
    sink.drain()
    // The drain sent the queue as one chunk; new events are taken again.
    expect(sink.text()).toContain(`data: ${'2'.padStart(20, '.')}\n\n`)
    expect(stream.bufferedBytes).toBe(0)
    expect(stream.send({ data: 'after' })).toBe(true)
    sink.drain()
    expect(sink.text().endsWith('data: after\n\n')).toBe(true)
  })

  it('defaults to a 1 MiB cap and a 5 s slowness limit', () => {
    expect(DEFAULT_MAX_BUFFERED_BYTES).toBe(1024 * 1024)
    expect(DEFAULT_SLOW_AFTER_MS).toBe(5000)
  })
})

describe('createEventStream: pace (slowness by progress, ready())', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('closes a stream that stays congested past slowAfterMs with no drain, reporting "slow"', () => {
    vi.useFakeTimers()
    const sink = createMemorySink({ capacity: 1 })
    const onClose = vi.fn()
    const stream = createEventStream(sink, { heartbeat: false, slowAfterMs: 1000, onClose })
    expect(stream.congested).toBe(true) // the prelude filled the sink
    stream.send({ data: 'queued' })
    vi.advanceTimersByTime(999)
    expect(stream.closed).toBe(false)
    vi.advanceTimersByTime(10)
    expect(stream.closed).toBe(true)
    expect(stream.closeReason).toBe('slow')
    expect(onClose).toHaveBeenCalledWith('slow')
    expect(sink.closed).toBe(true)
  })

  it('never judges a stream that drains, however long it is busy and however much it is sent', () => {
    vi.useFakeTimers()
    const sink = createMemorySink({ capacity: 64 })
    const stream = createEventStream(sink, { heartbeat: false, slowAfterMs: 1000, maxBufferedBytes: 1024 })
    // Congested nearly all the time for 60 s, but the client reads every 900 ms: it progresses.
    for (let i = 0; i < 600; i++) {
      while (!stream.congested) stream.send({ data: 'x'.repeat(50) })
      vi.advanceTimersByTime(90)
      if (i % 10 === 9) sink.drain()
    }
    expect(stream.closed).toBe(false)
  })

  it("under 'drop', a slow stream drops events until it drains, then takes them again", () => {
    vi.useFakeTimers()
    const sink = createMemorySink({ capacity: 1 })
    const stream = createEventStream(sink, { heartbeat: false, slowAfterMs: 1000, onOverflow: 'drop' })
    expect(stream.send({ data: 'kept' })).toBe(true)
    vi.advanceTimersByTime(1100)
    expect(stream.closed).toBe(false)
    expect(stream.send({ data: 'dropped' })).toBe(false)
    expect(stream.droppedEvents).toBe(1)
    sink.drain() // writes the queue ('kept'), which fills the sink again: progress, not slow
    expect(stream.send({ data: 'after' })).toBe(true)
    sink.drain()
    expect(sink.text()).toBe(':\n\ndata: kept\n\ndata: after\n\n')
  })

  it('gives the I/O two turns before judging, so a drain that was due is not mistaken for a stall', () => {
    const timeouts: Array<() => void> = []
    let now = 0
    const timers: TimerProvider = {
      ...manualTimers(),
      setTimeout: (callback) => timeouts.push(callback),
      now: () => now,
    }
    const sink = createMemorySink({ capacity: 1 })
    const stream = createEventStream(sink, { heartbeat: false, slowAfterMs: 1000, timers })
    now = 5000 // the event loop was blocked past the limit
    timeouts.shift()!() // the check: defers its verdict by two timer turns
    timeouts.shift()!()
    expect(stream.closed).toBe(false)
    sink.drain() // the I/O that was waiting (a drain comes a turn after the client's reads)
    timeouts.shift()!()
    expect(stream.closed).toBe(false)
    // Truly stalled: judged after the two turns.
    stream.send({ data: 'fills the sink again' })
    now = 20_000
    while (timeouts.length > 0 && !stream.closed) timeouts.shift()!()
    expect(stream.closeReason).toBe('slow')
  })

  it('ready() resolves true at once when not congested, on drain when congested, false once closed', async () => {
    const sink = createMemorySink({ capacity: 1 })
    const stream = createEventStream(sink, { heartbeat: false })
    let settled: boolean | undefined
    void stream.ready().then((value) => {
      settled = value
    })
    await Promise.resolve()
    expect(settled).toBe(undefined)
    sink.drain()
    await Promise.resolve()
    expect(settled).toBe(true)
    expect(await stream.ready()).toBe(true)
    stream.send({ data: 'fills' })
    const waiting = stream.ready()
    stream.close()
    expect(await waiting).toBe(false)
    expect(await stream.ready()).toBe(false)
    expect(stream.closeReason).toBe('server')
  })

  it('an awaited-write loop never queues in core, and ends with false when the client leaves', async () => {
    const sink = createMemorySink({ capacity: 1000 })
    const stream = createEventStream(sink, { heartbeat: false })
    const drainer = setInterval(() => sink.drain(), 1)
    let sent = 0
    let maxQueued = 0
    while (await stream.ready()) {
      stream.send({ data: 'y'.repeat(100) })
      maxQueued = Math.max(maxQueued, stream.bufferedBytes)
      if (++sent === 500) sink.disconnect()
    }
    clearInterval(drainer)
    expect(sent).toBe(500)
    expect(maxQueued).toBe(0)
    expect(stream.closeReason).toBe('client')
  })

  it('rejects a slowAfterMs that is not a positive finite number', () => {
    for (const slowAfterMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => createEventStream(createMemorySink(), { slowAfterMs })).toThrow(
        expect.objectContaining({ code: 'SSE_INVALID_OPTION' }),
      )
    }
  })
})

describe('createEventStream: closing', () => {
  it('close() ends the sink once, aborts the signal and reports "server"', () => {
    const sink = createMemorySink()
    const reasons: string[] = []
    const stream = createEventStream(sink, { heartbeat: false, onClose: (reason) => reasons.push(reason) })
    stream.onClose((reason) => reasons.push(`second:${reason}`))
    stream.close()
    stream.close()
    expect(reasons).toEqual(['server', 'second:server'])
    expect(stream.signal.aborted).toBe(true)
  })

  it('close() still delivers the events send() accepted while the client was slow', () => {
    const sink = createMemorySink({ capacity: 1 })
    const stream = createEventStream(sink, { heartbeat: false })
    stream.send({ data: 'queued 1' })
    stream.send({ event: 'done', data: 'queued 2' })
    expect(stream.bufferedBytes).toBeGreaterThan(0)
    stream.close()
    expect(sink.text()).toBe(':\n\ndata: queued 1\n\nevent: done\ndata: queued 2\n\n')
    expect(sink.closed).toBe(true)
  })

  it('reports "client" when the peer leaves', () => {
    const sink = createMemorySink()
    const onClose = vi.fn()
    createEventStream(sink, { heartbeat: false, onClose })
    sink.disconnect()
    expect(onClose).toHaveBeenCalledWith('client')
  })

  it('keeps cleaning up when a close listener throws', () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    const sink = createMemorySink()
    const after = vi.fn()
    const stream = createEventStream(sink, {
      heartbeat: false,
      onClose: () => {
        throw new Error('user bug')
      },
    })
    stream.onClose(after)
    stream.close()
    expect(after).toHaveBeenCalledOnce()
    expect(sink.closed).toBe(true)
    expect(error).toHaveBeenCalledOnce()
  })

  it('removes a listener with the returned function', () => {
    const stream = createEventStream(createMemorySink(), { heartbeat: false })
    const listener = vi.fn()
    const off = stream.onClose(listener)
    off()
    stream.close()
    expect(listener).not.toHaveBeenCalled()
  })
})

describe('createEventStream: heartbeat', () => {
  it('shares one ticker among streams and pings only idle ones', () => {
    const timers = manualTimers()
    const idle = createMemorySink()
    const busy = createMemorySink()
    const idleStream = createEventStream(idle, { heartbeat: 1000, timers })
    const busyStream = createEventStream(busy, { heartbeat: 1000, timers })
    expect(timers.active).toBe(1)
    timers.fire() // both wrote their prelude during this interval: no ping yet
    expect(idle.text()).toBe(':\n\n')
    busyStream.send({ data: 'x' })
    timers.fire()
    expect(idle.text()).toBe(':\n\n:\n\n')
    expect(busy.text()).toBe(':\n\ndata: x\n\n')
    idleStream.close()
    busyStream.close()
    expect(timers.active).toBe(0)
  })

  it('skips a stream under backpressure', () => {
    const timers = manualTimers()
    const sink = createMemorySink({ capacity: 1 })
    const stream = createEventStream(sink, { heartbeat: 1000, timers })
    timers.fire()
    timers.fire()
    timers.fire()
    expect(sink.chunks).toHaveLength(1)
    expect(stream.bufferedBytes).toBe(0)
    stream.close()
  })

  it('writes the same heartbeat bytes to every stream', () => {
    const timers = manualTimers()
    const a = createMemorySink()
    const b = createMemorySink()
    const streams = [
      createEventStream(a, { heartbeat: 500, timers }),
      createEventStream(b, { heartbeat: 500, timers }),
    ]
    timers.fire()
    timers.fire()
    expect(a.chunks[1]).toBe(b.chunks[1])
    for (const stream of streams) stream.close()
  })

  it('runs on the runtime timers by default, unref’d (works with fake timers)', () => {
    vi.useFakeTimers()
    try {
      const sink = createMemorySink()
      const stream = createEventStream(sink, { heartbeat: 15_000 })
      vi.advanceTimersByTime(15_000)
      expect(sink.text()).toBe(':\n\n')
      vi.advanceTimersByTime(15_000)
      expect(sink.text()).toBe(':\n\n:\n\n')
      stream.close()
      expect(vi.getTimerCount()).toBe(0)
    } finally {
      vi.useRealTimers()
    }
  })
})
