/**
 * Test helpers for `@sse/client`: timers the test fires by hand (so a backoff is observed, never
 * waited for), a seeded random, a recorder of everything a client reports, and a real `node:http`
 * server that remembers what each request carried.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { pollUntil, type StartedServer, startHttpServer } from '@sse/test-utils'
import type {
  BaseConnectOptions,
  ClientTimers,
  CloseInfo,
  OpenInfo,
  ReconnectingInfo,
  ResetNotice,
  SseClient,
  SseClientError,
  SseMessage,
} from '../src/index.ts'
import { connect } from '../src/index.ts'

/** Every wait in these tests: generous, it only turns a hang into a clear failure. */
export const DEADLINE_MS = 5000

export interface ManualTimer {
  readonly ms: number
  readonly due: number
  readonly callback: () => void
}

export interface ManualTimers {
  readonly timers: ClientTimers
  /** Timers set and neither fired nor cleared, earliest first. */
  readonly pending: readonly ManualTimer[]
  /** The delays of every timer ever set, in order. */
  readonly history: readonly number[]
  /** Moves the clock that `now()` reads. */
  advance(ms: number): void
  /** Waits (real time, with a deadline) until a timer is pending, and returns the earliest. */
  next(label: string): Promise<ManualTimer>
  /** Sets the clock to the timer's due time and runs it. */
  fire(timer: ManualTimer): void
}

/** Timers that only run when the test fires them; `now()` starts at the real time and moves with `advance`/`fire`. */
export function createManualTimers(): ManualTimers {
  let now = Date.now()
  const pending = new Set<ManualTimer>()
  const history: number[] = []
  const sorted = () => [...pending].sort((a, b) => a.due - b.due)
  return {
    timers: {
      setTimeout(callback, ms) {
        const timer = { ms, due: now + ms, callback }
        pending.add(timer)
        history.push(ms)
        return timer
      },
      clearTimeout(handle) {
        pending.delete(handle as ManualTimer)
      },
      now: () => now,
    },
    get pending() {
      return sorted()
    },
    history,
    advance(ms) {
      now += ms
    },
    async next(label) {
      await pollUntil(() => pending.size > 0, DEADLINE_MS, `${label}: waiting for a timer`)
      return sorted()[0]!
    },
    fire(timer) {
      if (!pending.delete(timer)) throw new Error(`timer of ${timer.ms} ms is not pending`)
      now = Math.max(now, timer.due)
      timer.callback()
    },
  }
}

/** A small seeded PRNG (mulberry32): the same seed gives the same draws, uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export interface Recording<T = unknown> {
  readonly messages: SseMessage<string, T>[]
  readonly opens: OpenInfo[]
  readonly reconnecting: ReconnectingInfo[]
  readonly errors: SseClientError[]
  readonly resets: ResetNotice[]
  readonly closes: CloseInfo[]
  /** Waits until `check` holds, or fails naming what was seen. */
  until(check: () => boolean, label: string): Promise<void>
}

/** Records everything `source` reports: messages of the given types and every lifecycle event. */
export function record<T = unknown>(
  // biome-ignore lint/suspicious/noExplicitAny: any event map
  source: SseClient<any>,
  types: readonly string[] = ['message'],
): Recording<T> {
  const recording: Recording<T> = {
    messages: [],
    opens: [],
    reconnecting: [],
    errors: [],
    resets: [],
    closes: [],
    until: (check, label) =>
      pollUntil(check, DEADLINE_MS, () => `${label}; saw ${describeRecording(recording)}`),
  }
  for (const type of types)
    source.on(type, (message: SseMessage<string, T>) => recording.messages.push(message))
  source.onOpen((info) => recording.opens.push(info))
  source.onReconnecting((info) => recording.reconnecting.push(info))
  source.onError((error) => recording.errors.push(error))
  source.onReset((notice) => recording.resets.push(notice))
  source.onClose((info) => recording.closes.push(info))
  return recording
}

function describeRecording(recording: Recording<unknown>): string {
  return JSON.stringify({
    messages: recording.messages.length,
    last: JSON.stringify(recording.messages.at(-1))?.slice(0, 200),
    opens: recording.opens.length,
    reconnecting: recording.reconnecting.map(({ attempt, delay, error }) => ({
      attempt,
      delay,
      code: error?.code,
    })),
    errors: recording.errors.map((error) => error.code),
    closes: recording.closes.map((info) => info.reason),
  })
}

/** What one request to a `RecordingServer` carried. */
/** `connect` on manual timers (`timers` is theirs), closed after the test (`track`), and recorded. */
export function connectManually(
  url: string,
  options: Omit<BaseConnectOptions, 'timers'> = {},
): { manual: ManualTimers; source: SseClient; seen: Recording } {
  const manual = createManualTimers()
  const source = track(connect(url, { ...options, timers: manual.timers }))
  return { manual, source, seen: record(source) }
}

/**
 * Lets `count` reconnections happen one after another: waits for each, then fires its backoff
 * timer at once.
 */
export async function fireReconnects(seen: Recording, manual: ManualTimers, count: number): Promise<void> {
  for (let i = 1; i <= count; i++) {
    await seen.until(() => seen.reconnecting.length === i, `reconnection ${i}`)
    manual.fire(await manual.next(`wait ${i}`))
  }
}

export interface SeenRequest {
  readonly method: string
  readonly url: string
  readonly headers: IncomingMessage['headers']
  readonly body: string
}

export interface RecordingServer extends StartedServer<Server> {
  readonly requests: SeenRequest[]
}

/**
 * A `node:http` server on port 0 that records each request (body read in full first) and hands
 * it to `handle` with its index: 0 for the first request, 1 for the first reconnection, …
 */
export async function startRecordingServer(
  handle: (req: IncomingMessage, res: ServerResponse, index: number) => unknown,
): Promise<RecordingServer> {
  const requests: SeenRequest[] = []
  const server = await startHttpServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const index = requests.length
    requests.push({
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
    })
    return handle(req, res, index)
  })
  return { ...server, requests }
}

/** What `server` and `track` opened in the current test, closed by `closeOpened` (newest first). */
const opened: Array<() => unknown> = []

/** Closes every server and client `server` and `track` opened; call it in `afterEach`. */
export async function closeOpened(): Promise<void> {
  for (const close of opened.splice(0).reverse()) await close()
}

/** `startRecordingServer`, closed after the test. */
export async function server(...args: Parameters<typeof startRecordingServer>): Promise<RecordingServer> {
  const started = await startRecordingServer(...args)
  opened.push(() => started.close())
  return started
}

/** A client, closed after the test. */
// biome-ignore lint/suspicious/noExplicitAny: any event map
export function track<S extends SseClient<any>>(source: S): S {
  opened.push(() => source.close())
  return source
}
