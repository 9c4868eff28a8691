import { createParser, type EventSourceMessage } from 'eventsource-parser'
import { afterEach, describe, expect, it } from 'vitest'
import type { Broker } from './broker.ts'
import type { BrokerControl, ControlTarget, PresenceChange, RevokeCommand } from './control.ts'
import { isSseError } from './errors.ts'
import { createEventStream } from './event-stream.ts'
import { createHub, type Hub, type HubOptions } from './hub.ts'
import { type LogPosition, parseLogId } from './last-event-id.ts'
import { MemoryBroker } from './memory-broker.ts'
import { createMemorySink, type MemorySink } from './testing.ts'

function events(sink: MemorySink): EventSourceMessage[] {
  const out: EventSourceMessage[] = []
  createParser({ onEvent: (event) => out.push(event) }).feed(sink.text())
  return out
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve))

const hubs: Hub[] = []
function hubFor(options: HubOptions = {}): Hub {
  const hub = createHub({ heartbeat: false, retry: false, ...options })
  hubs.push(hub)
  return hub
}

async function connect(hub: Hub, topics: string[], principal?: string, tags?: string[]) {
  const sink = createMemorySink()
  const stream = createEventStream(sink, { heartbeat: false })
  await hub.subscribe(stream, { topics, principal, tags })
  return { sink, stream }
}

afterEach(async () => {
  for (const hub of hubs.splice(0)) await hub.close()
})

describe('revokeEverywhere and presenceEverywhere on one process (no broker control)', () => {
  it('revokes here and reports this process as the whole, complete cluster', async () => {
    const hub = hubFor()
    const ann = await connect(hub, ['doc'], 'ann')
    const bob = await connect(hub, ['doc'], 'bob')
    const result = await hub.revokeEverywhere(
      { principal: 'ann' },
      { event: { event: 'bye', data: { a: 1 } } },
    )
    expect(result).toEqual({ local: 1, closed: 1, instances: 1, missing: 0, complete: true })
    expect(ann.stream.closeReason).toBe('revoked')
    expect(events(ann.sink)).toEqual([{ event: 'bye', data: '{"a":1}', id: undefined }])
    expect(bob.stream.closed).toBe(false)
  })

  it('rejects bad selectors and options with SseError, closing nothing', async () => {
    const hub = hubFor()
    const ann = await connect(hub, ['doc'], 'ann')
    for (const [selector, options] of [
      [{}, {}],
      [{ who: 'ann' }, {}],
      [{ principal: 'ann' }, { timeoutMs: -5 }],
      [{ principal: 'ann' }, { timeoutMs: 1.5 }],
      [{ principal: 'ann' }, { retry: 'soon' }],
      [{ tag: '' }, {}],
    ] as const) {
      const error = await hub
        .revokeEverywhere(selector as never, options as never)
        .catch((thrown: unknown) => thrown)
      expect(isSseError(error), JSON.stringify([selector, options])).toBe(true)
    }
    expect(ann.stream.closed).toBe(false)
  })

  it('answers presence with principals, and emits one presence event per topic per tick with joins and leaves', async () => {
    const hub = hubFor()
    const changes: PresenceChange[] = []
    hub.on('presence', (change) => changes.push(change))
    const [ann] = await Promise.all([
      connect(hub, ['doc'], 'ann'),
      connect(hub, ['doc'], 'ann'),
      connect(hub, ['doc', 'chat'], 'bob'),
    ])
    await tick()
    expect(await hub.presenceEverywhere('doc')).toMatchObject({
      topic: 'doc',
      streams: 3,
      principals: new Map([
        ['ann', 2],
        ['bob', 1],
      ]),
      instances: 1,
      stale: false,
    })
    expect(changes).toEqual([
      { topic: 'doc', streams: 3, joined: ['ann', 'bob'], left: [] },
      { topic: 'chat', streams: 1, joined: ['bob'], left: [] },
    ])
    changes.length = 0
    ann!.stream.close()
    await tick()
    expect(changes).toEqual([{ topic: 'doc', streams: 2, joined: [], left: [] }])
    changes.length = 0
    hub.revoke({ principal: 'bob' })
    await tick()
    expect(changes).toEqual([
      { topic: 'doc', streams: 1, joined: [], left: ['bob'] },
      { topic: 'chat', streams: 0, joined: [], left: ['bob'] },
    ])
    await expect(hub.presenceEverywhere('')).rejects.toMatchObject({ code: 'SSE_INVALID_TOPIC' })
  })
})

describe('a broker with control', () => {
  /** A MemoryBroker with a control that records what the hub hands it. */
  function brokerWithControl() {
    const calls: {
      revoked: RevokeCommand[]
      changed: string[][]
      targets: ControlTarget[]
      annRevokedAt: LogPosition | undefined
    } = { revoked: [], changed: [], targets: [], annRevokedAt: undefined }
    const control: BrokerControl = {
      attach: (target) => {
        calls.targets.push(target)
        return () => {}
      },
      ready: async () => {},
      revoke: async (command, { local }) => {
        calls.revoked.push(command)
        return { local, closed: local + 2, instances: 3, missing: 0, complete: true }
      },
      revokedAt: async (principal) => (principal === 'ann' && calls.annRevokedAt ? [calls.annRevokedAt] : []),
      changed: (_target, topics) => {
        calls.changed.push([...topics])
      },
      presence: async (topic) => ({
        topic,
        streams: 7,
        principals: undefined,
        instances: 3,
        stale: false,
        asOf: 1,
      }),
    }
    const broker: Broker = Object.assign(new MemoryBroker(), { control })
    return { broker, calls }
  }

  it('closes here first, then hands the revocation (its last event serialized once) to the control', async () => {
    const { broker, calls } = brokerWithControl()
    const hub = hubFor({ broker, closeBroker: true })
    const ann = await connect(hub, ['doc'], 'ann', ['staff'])
    expect(calls.changed).toEqual([['doc']])
    const result = await hub.revokeEverywhere({ tag: 'staff' }, { event: { data: { n: 1 } }, retry: 10 })
    expect(result).toMatchObject({ local: 1, closed: 3, complete: true })
    expect(ann.stream.closeReason).toBe('revoked')
    expect(calls.revoked).toEqual([
      {
        selector: { principal: undefined, tag: 'staff', topic: undefined },
        event: { event: undefined, data: '{"n":1}' },
        retry: 10,
        at: undefined,
      },
    ])
    expect(calls.changed).toEqual([['doc'], ['doc']])
    expect(await hub.presenceEverywhere('doc')).toMatchObject({ streams: 7, instances: 3 })
  })

  it('applies a revocation from another instance, and resets a resume revoked elsewhere', async () => {
    const { broker, calls } = brokerWithControl()
    const hub = hubFor({ broker, closeBroker: true })
    const id = await hub.publish('doc', { data: 'x' })
    const bob = await connect(hub, ['doc'], 'bob')
    const target = calls.targets[0]!
    expect(
      target.revoke({ selector: { principal: 'bob' }, event: { event: 'gone', data: '1' } }).closed,
    ).toBe(1)
    expect(events(bob.sink)).toEqual([{ event: 'gone', data: '1', id: undefined }])
    expect(bob.stream.closeReason).toBe('revoked')
    expect(target.presence('doc').streams).toBe(0)

    // The control says ann was revoked (on another instance) at `second`: from before it, a reset.
    const second = await hub.publish('doc', { data: 'y' })
    const third = await hub.publish('doc', { data: 'z' })
    calls.annRevokedAt = parseLogId(second)
    const resume = async (principal: string) => {
      const sink = createMemorySink()
      const stream = createEventStream(sink, { heartbeat: false, lastEventId: id })
      await hub.subscribe(stream, { topics: ['doc'], principal })
      return events(sink)
    }
    const ann = await resume('ann')
    expect(ann).toHaveLength(1)
    expect(ann[0]).toMatchObject({ event: 'sse-reset', id: third })
    expect(JSON.parse(ann[0]!.data)).toEqual({ reason: 'revoked', lastEventId: id })
    expect((await resume('carol')).map((event) => event.id)).toEqual([second, third])
  })
})
