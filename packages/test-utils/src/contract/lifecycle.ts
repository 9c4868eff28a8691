/**
 * Contract cases on a stream's life: heartbeats while idle, the registry freed when the client
 * aborts, and `hub.close()` ending every hub stream so that the server then closes promptly.
 */
import { expect, it } from 'vitest'
import { pollUntil, withTimeout } from '../with-timeout.ts'
import type { ContractCases } from './suite.ts'

export function lifecycleCases({ s }: ContractCases): void {
  it('sends heartbeat comments to an idle per-client stream', async () => {
    s.streamOptions = { heartbeat: 100 }
    const reader = await s.open(s.streamUrl())
    await s.nextStream()
    // The first comment opens the stream; the next two are heartbeats.
    await reader.waitForComments(3)
    expect(reader.eventCount).toBe(0)
  })

  it("sends the hub's heartbeat comments to idle hub streams", async () => {
    await s.useHub({ heartbeat: 100 })
    const reader = await s.open(s.hubUrl(['beat']))
    await reader.waitForComments(3)
    expect(reader.eventCount).toBe(0)
  })

  it('frees the stream and the registry when the client aborts', async () => {
    const reader = await s.open(s.streamUrl())
    const stream = await s.nextStream()
    expect(stream.signal.aborted).toBe(false)
    await reader.close()
    await pollUntil(() => stream.signal.aborted, 1000, 'stream.signal to abort after the client left')

    const hubReaders = await Promise.all([1, 2, 3].map(() => s.open(s.hubUrl(['abort', 'other']))))
    await s.hubSize(3)
    await Promise.all(hubReaders.map((hubReader) => hubReader.close()))
    await pollUntil(
      () => s.hub.size === 0 && s.hub.topics().size === 0,
      1000,
      () => `the hub to forget the streams (size ${s.hub.size})`,
    )
    expect(s.hub.subscribed.every((hubStream) => hubStream.signal.aborted)).toBe(true)
  })

  it('ends every hub stream on hub.close(), with a retry, and the server then closes promptly', async () => {
    const server = await s.startServer()
    const readers = await Promise.all(
      ['x', 'y', 'z'].map((topic) => s.open(s.hubUrl([topic, 'all'], {}, server))),
    )
    const streamReader = await s.open(s.streamUrl({}, server))
    const stream = await s.nextStream()
    await s.hubSize(3)
    await withTimeout(s.hub.close({ event: { event: 'bye', data: 'shutting down' } }), 2000, 'hub.close()')
    for (const reader of readers) {
      expect(await reader.waitForEnd()).toBe('end')
      expect(reader.events.at(-1)).toMatchObject({ event: 'bye', data: 'shutting down' })
      expect(reader.retries).toHaveLength(2) // the hub's as it subscribed, then close()'s
      expect(reader.retries.at(-1)).toBeGreaterThanOrEqual(1000)
      expect(reader.retries.at(-1)).toBeLessThanOrEqual(5000)
    }
    expect(s.hub.size).toBe(0)
    // The per-client stream is still open: close() must not wait on it.
    await withTimeout(server.close(), 2000, 'server close() with a live stream')
    await streamReader.waitForEnd()
    await pollUntil(() => stream.signal.aborted, 2000, 'the live stream to abort when the server closed')
  })
}
