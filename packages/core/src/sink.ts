/**
 * The boundary between core and a framework: `SseSink`, a write-only view of one HTTP response.
 * It is the only thing an adapter supplies; framing, queuing, heartbeats, the registry and replay
 * all live in core. `@sse/core/node` and `@sse/core/web` implement it for Node responses and
 * Web Streams; `runSinkContract`/`describeAdapterContract` in the test utilities prove each
 * implementation keeps the obligations below.
 */

/** Status and headers committed before the first chunk. */
export interface SseHead {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
}

/**
 * A write-only view of one HTTP response.
 *
 * Obligations of an implementation:
 * - `open(head)` is called once, before the first `write`. It commits the status and headers
 *   and sends them at once, so the client's `open` fires before any event. Where the framework
 *   commits headers itself, the adapter sets them eagerly and `open` only flushes.
 *   On HTTP/1.1 it may add `Connection: keep-alive`; on HTTP/2 it must not (the header is illegal there).
 * - `write(chunk)` hands bytes to the transport and returns `true` when the transport can take
 *   more, `false` when its buffer is full (Node: `res.write()` returned false; Web: `desiredSize <= 0`).
 *   A chunk passed to `write` is always taken, even when `false` is returned; the caller stops
 *   writing until `onDrain` fires. The same `Uint8Array` may be written to many sinks: it must
 *   not be mutated or transferred.
 * - `onDrain(listener)` registers a listener called whenever a full transport can take more
 *   (may be called when nothing was full; callers tolerate that).
 * - `close()` ends the response. Idempotent; safe after the peer left.
 * - `signal` aborts when the peer goes away (Node: the response's `close`; Web: the stream's
 *   cancel or the request's signal) and after `close()`. Once aborted, `write` is a silent
 *   no-op returning `true`, and nothing throws.
 * - `flush()` (optional) pushes written bytes through buffering middleware, e.g. the `res.flush`
 *   that Express's `compression` adds. Core calls it after each batch of writes.
 * - `onAbort(listener)` (optional) calls `listener` once when `signal` aborts, at once if it
 *   already has. Core uses it instead of listening on `signal` when present, so a sink can create
 *   its `AbortSignal` lazily: an EventTarget with a listener costs ~1 KB per open stream.
 */
export interface SseSink {
  open(head: SseHead): void
  write(chunk: Uint8Array): boolean
  onDrain(listener: () => void): void
  close(): void
  readonly signal: AbortSignal
  flush?(): void
  onAbort?(listener: () => void): void
}

/**
 * Headers every event stream is sent with.
 * - `no-cache`: the response is live, never cached; `no-transform` keeps `compression`
 *   middleware and intermediaries from buffering it.
 * - `X-Accel-Buffering: no`: nginx streams instead of buffering.
 * - `X-Content-Type-Options: nosniff`: a browser never renders the stream as something else
 *   (event data is often user input).
 * `Connection: keep-alive` is added by the Node sink on HTTP/1.1 only (it is illegal on HTTP/2).
 */
export const SSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  'X-Accel-Buffering': 'no',
  'X-Content-Type-Options': 'nosniff',
})
