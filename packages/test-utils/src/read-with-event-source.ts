/**
 * Reads an event stream with the `eventsource` npm package: a real `EventSource`, with its own
 * reconnection and `Last-Event-ID` handling, running over `fetch` (undici, HTTP/1.1 only).
 * It proves what a browser would see: `open`, `message`, named events, and a reconnect that
 * resumes where it left off.
 *
 * Named events only reach listeners registered for their name, so pass every name the test
 * expects in `eventNames`.
 */
import { EventSource } from 'eventsource'
import { ChangeWaiter, DEFAULT_TIMEOUT_MS } from './with-timeout.ts'

/** One event as `EventSource` dispatched it. */
export interface SourceMessage {
  /** `message` for unnamed events, else the event name. */
  readonly type: string
  readonly data: string
  /** The event's `lastEventId` as the client reports it. */
  readonly lastEventId: string
}

export interface ReadWithEventSourceOptions {
  /** Event names to listen for besides `message`. */
  eventNames?: readonly string[] | undefined
  /** Deadline for the first `open`, in ms. Default 5000. */
  timeoutMs?: number | undefined
}

export interface EventSourceReader {
  readonly source: EventSource
  /** Every dispatched event, in order, named and unnamed. */
  readonly messages: readonly SourceMessage[]
  /** How many times `open` fired (1 + successful reconnects). */
  readonly opens: number
  /** How many times `error` fired (each lost connection fires one before reconnecting). */
  readonly errors: number
  /** The request headers of every connection attempt, in order (lower-case names). */
  readonly requests: ReadonlyArray<Readonly<Record<string, string>>>
  /** Resolves with the first `count` messages once that many arrived. */
  waitFor(count: number, timeoutMs?: number): Promise<SourceMessage[]>
  /** Resolves once `open` fired at least `count` times. */
  waitForOpens(count: number, timeoutMs?: number): Promise<void>
  /** Closes the source: no more reconnects. */
  close(): void
}

/**
 * Opens an `EventSource` and resolves after its first `open` (with a deadline).
 *
 * @example
 * const es = await readWithEventSource(`${url}/events`, { eventNames: ['tick'] })
 * const [first] = await es.waitFor(1)
 * es.close()
 */
export async function readWithEventSource(
  url: string | URL,
  options: ReadWithEventSourceOptions = {},
): Promise<EventSourceReader> {
  const changes = new ChangeWaiter()
  const messages: SourceMessage[] = []
  const requests: Array<Record<string, string>> = []
  let opens = 0
  let errors = 0
  const source = new EventSource(url, {
    fetch: (input, init) => {
      const headers: Record<string, string> = {}
      for (const [name, value] of Object.entries(init.headers)) headers[name.toLowerCase()] = value
      requests.push(headers)
      return fetch(input, init)
    },
  })
  const collect = (event: MessageEvent) => {
    messages.push({ type: event.type, data: String(event.data), lastEventId: event.lastEventId })
    changes.notify()
  }
  source.addEventListener('message', collect)
  for (const name of options.eventNames ?? []) source.addEventListener(name, collect)
  source.addEventListener('open', () => {
    opens++
    changes.notify()
  })
  source.addEventListener('error', () => {
    errors++
    changes.notify()
  })
  const describe = () =>
    `${messages.length} messages (${JSON.stringify(messages.slice(-3))}), ${opens} opens, ${errors} errors, readyState ${source.readyState}`

  const reader: EventSourceReader = {
    source,
    messages,
    requests,
    get opens() {
      return opens
    },
    get errors() {
      return errors
    },
    waitFor: (count, timeoutMs = DEFAULT_TIMEOUT_MS) =>
      changes.until(
        () => messages.length >= count,
        () => messages.slice(0, count),
        timeoutMs,
        () => `EventSource: waiting for ${count} messages; got ${describe()}`,
      ),
    waitForOpens: (count, timeoutMs = DEFAULT_TIMEOUT_MS) =>
      changes.until(
        () => opens >= count,
        () => undefined,
        timeoutMs,
        () => `EventSource: waiting for ${count} opens; got ${describe()}`,
      ),
    close: () => source.close(),
  }
  try {
    await reader.waitForOpens(1, options.timeoutMs ?? DEFAULT_TIMEOUT_MS)
  } catch (error) {
    source.close()
    throw error
  }
  return reader
}
