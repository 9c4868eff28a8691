/**
 * `@sse/core/testing`: an in-memory `SseSink` with controllable backpressure, for testing code
 * that streams events without a server (ours and yours).
 */
import type { SseHead, SseSink } from './sink.ts'

export interface MemorySinkOptions {
  /** Bytes the sink takes before `write()` reports full, until `drain()`. Default: unlimited. */
  capacity?: number | undefined
}

export interface MemorySink extends SseSink {
  /** What `open` received, or `undefined`. */
  readonly head: SseHead | undefined
  /** How many times `open` was called. */
  readonly opens: number
  /** Every chunk written, in order (the very objects passed to `write`). */
  readonly chunks: readonly Uint8Array[]
  /** Everything written, decoded as UTF-8. */
  text(): string
  /** Bytes written since the last `drain()`. */
  readonly buffered: number
  /** How many times `flush` was called. */
  readonly flushes: number
  readonly closed: boolean
  /** Empties the transport buffer and tells the writer it can write again. */
  drain(): void
  /** Simulates the client going away. */
  disconnect(): void
}

/**
 * @example
 * const sink = createMemorySink({ capacity: 1024 })
 * const stream = createEventStream(sink)
 * stream.send({ data: 'hi' })
 * sink.text() // ':\n\ndata: hi\n\n'
 */
export function createMemorySink(options: MemorySinkOptions = {}): MemorySink {
  const capacity = options.capacity ?? Number.POSITIVE_INFINITY
  const controller = new AbortController()
  const chunks: Uint8Array[] = []
  const drainListeners: Array<() => void> = []
  const decoder = new TextDecoder()
  let head: SseHead | undefined
  let opens = 0
  let buffered = 0
  let flushes = 0
  let closed = false

  return {
    signal: controller.signal,
    get head() {
      return head
    },
    get opens() {
      return opens
    },
    chunks,
    text() {
      let out = ''
      for (const chunk of chunks) out += decoder.decode(chunk, { stream: true })
      return out + decoder.decode()
    },
    get buffered() {
      return buffered
    },
    get flushes() {
      return flushes
    },
    get closed() {
      return closed
    },
    open(value) {
      opens++
      head = value
    },
    write(chunk) {
      if (controller.signal.aborted) return true
      chunks.push(chunk)
      buffered += chunk.length
      return buffered < capacity
    },
    onDrain(listener) {
      drainListeners.push(listener)
    },
    flush() {
      flushes++
    },
    close() {
      closed = true
      controller.abort()
    },
    drain() {
      buffered = 0
      for (const listener of drainListeners) listener()
    },
    disconnect() {
      controller.abort()
    },
  }
}
