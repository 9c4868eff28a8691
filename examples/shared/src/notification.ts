/**
 * What `POST /notify` accepts. The body is untrusted input: anything but
 * `{ "topic": "news" | "alerts", "text": "…" }` is refused with a message that says what to send,
 * and nothing is published. The text is kept exactly as sent (line breaks, leading spaces, any
 * Unicode): the page shows it as is.
 */

/** The hub topics of the demo. `GET /events?topics=news,alerts` picks among them. */
export const TOPICS = ['news', 'alerts'] as const

export type Topic = (typeof TOPICS)[number]

/** Longest notification text, in UTF-16 code units. */
export const MAX_TEXT_LENGTH = 2000

/** A notification as published to the hub and sent to every page. */
export interface Notification {
  readonly topic: Topic
  readonly text: string
  /** When the server accepted it, ISO 8601. */
  readonly at: string
}

export type NotifyInput = Pick<Notification, 'topic' | 'text'>

/** A parse result: the value, or why not (and the HTTP status to answer, 400 unless said). */
export type Parsed<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: string; readonly status?: number }

const EXAMPLE = '{"topic":"news","text":"hello"}'

export function isTopic(value: unknown): value is Topic {
  return typeof value === 'string' && (TOPICS as readonly string[]).includes(value)
}

/**
 * Validates a parsed JSON body of `POST /notify`.
 *
 * @example
 * parseNotification({ topic: 'news', text: 'hello' }) // { ok: true, value: { topic: 'news', text: 'hello' } }
 * parseNotification({ topic: 'sport' }) // { ok: false, error: 'topic must be one of news, alerts; got "sport"' }
 */
export function parseNotification(body: unknown): Parsed<NotifyInput> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, error: `send a JSON object such as ${EXAMPLE}, with Content-Type: application/json` }
  }
  const { topic, text, ...rest } = body as Record<string, unknown>
  const unknown = Object.keys(rest)
  if (unknown.length > 0) {
    return { ok: false, error: `unknown field ${JSON.stringify(unknown[0])}: send only "topic" and "text"` }
  }
  if (!isTopic(topic)) {
    return { ok: false, error: `topic must be one of ${TOPICS.join(', ')}; got ${JSON.stringify(topic)}` }
  }
  if (typeof text !== 'string' || text.trim() === '') {
    return { ok: false, error: 'text must be a string with something in it besides spaces' }
  }
  if (text.length > MAX_TEXT_LENGTH) {
    return {
      ok: false,
      error: `text is ${text.length} characters long; at most ${MAX_TEXT_LENGTH} are allowed`,
    }
  }
  return { ok: true, value: { topic, text } }
}

/**
 * The topic names a `GET /events` request asks for, from its `topics` query parameter:
 * comma-separated, trimmed, blanks dropped, both topics when absent. Not checked yet: this is
 * what `sseHub`'s `topics` returns, and its `authorize` (`parseTopics` on them) refuses names
 * the demo does not have.
 *
 * @example
 * requestedTopics('news, sport') // ['news', 'sport']
 */
export function requestedTopics(query: string | readonly string[] | null | undefined): string[] {
  if (query === undefined || query === null) return [...TOPICS]
  const names = (typeof query === 'string' ? [query] : query).flatMap((part) => part.split(','))
  return names.map((part) => part.trim()).filter((part) => part !== '')
}

/**
 * The topics of a `GET /events` request, from its `topics` query parameter (or the names
 * `requestedTopics` read from it): comma-separated, both topics when absent. An unknown topic is
 * an error (a 400, which stops a browser's `EventSource` for good: right for a wrong URL).
 *
 * @example
 * parseTopics('news') // { ok: true, value: ['news'] }
 */
export function parseTopics(query: string | readonly string[] | null | undefined): Parsed<Topic[]> {
  const topics = new Set<Topic>()
  for (const name of requestedTopics(query)) {
    if (!isTopic(name)) {
      return {
        ok: false,
        error: `unknown topic ${JSON.stringify(name)}; ask for some of ${TOPICS.join(', ')}, e.g. ?topics=news,alerts`,
      }
    }
    topics.add(name)
  }
  if (topics.size === 0)
    return { ok: false, error: 'no topics: ask for some of news, alerts, e.g. ?topics=news' }
  return { ok: true, value: [...topics] }
}
