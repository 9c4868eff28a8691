/**
 * The HTTP contract every example keeps, run against its real framework on a real socket
 * (127.0.0.1, port 0) and read with a real SSE parser: the page and its files, `/health`,
 * `POST /notify` (validated: bad input is a 400 and publishes nothing), `/events` topics and
 * replay, the `/clock`, and a graceful `close()`.
 */
import { type EventStreamReader, openEventStream, withTimeout } from '@sse/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createDemo, type Demo } from '../demo.ts'
import { MAX_BODY_BYTES } from '../json-body.ts'
import type { RunningServer } from '../listen-gracefully.ts'
import { MAX_TEXT_LENGTH } from '../notification.ts'
import { type ExampleUnderTest, WAIT_MS } from './example.ts'

interface NotifyCase {
  readonly name: string
  readonly body: string
  readonly contentType?: string
  readonly status?: number
  readonly error: RegExp
}

const BAD_INPUT: readonly NotifyCase[] = [
  { name: 'a body that is not JSON', body: '{"topic":"news",', error: /JSON/ },
  {
    name: 'a form body',
    body: 'topic=news&text=hi',
    contentType: 'application/x-www-form-urlencoded',
    error: /JSON/,
  },
  { name: 'an array', body: '[]', error: /JSON object/ },
  { name: 'no text', body: '{"topic":"news"}', error: /text must be a string/ },
  { name: 'a blank text', body: '{"topic":"news","text":" \\n\\t "}', error: /text must be a string/ },
  { name: 'a text that is not a string', body: '{"topic":"news","text":42}', error: /text must be a string/ },
  {
    name: 'an unknown topic',
    body: '{"topic":"sport","text":"goal"}',
    error: /topic must be one of news, alerts/,
  },
  {
    name: 'an unknown field',
    body: '{"topic":"news","text":"hi","html":"<b>"}',
    error: /unknown field "html"/,
  },
  {
    name: `a text over ${MAX_TEXT_LENGTH} characters`,
    body: JSON.stringify({ topic: 'news', text: 'x'.repeat(MAX_TEXT_LENGTH + 1) }),
    error: /at most 2000/,
  },
  {
    name: `a body over ${MAX_BODY_BYTES} bytes`,
    body: JSON.stringify({ topic: 'news', text: 'x'.repeat(MAX_BODY_BYTES) }),
    status: 413,
    error: /large|bytes/i,
  },
]

/** Registers the HTTP contract of one example. */
export function describeExampleRoutes({ framework, start }: ExampleUnderTest): void {
  describe(`${framework} example: routes`, () => {
    let demo: Demo
    let server: RunningServer
    const readers: EventStreamReader[] = []

    beforeEach(async () => {
      demo = createDemo({ framework })
      server = await start({ port: 0, host: '127.0.0.1', demo })
    })
    afterEach(async () => {
      await Promise.all(readers.splice(0).map((reader) => reader.close()))
      await server.close()
    })

    async function open(path: string, headers?: Record<string, string>): Promise<EventStreamReader> {
      const reader = await openEventStream(`${server.url}${path}`, { headers, timeoutMs: WAIT_MS })
      readers.push(reader)
      return reader
    }

    async function notify(topic: string, text: string): Promise<string> {
      const response = await fetch(`${server.url}/notify`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ topic, text }),
      })
      expect(response.status).toBe(201)
      const { id } = (await response.json()) as { id: string }
      return id
    }

    const texts = (reader: EventStreamReader) =>
      reader.events
        .filter((event) => event.event === 'notification')
        .map((event) => JSON.parse(event.data).text)

    it('serves the live page and its files', async () => {
      // Each path, the start of its content type, and a piece of its content.
      const files: Record<string, [type: string, content: string]> = {
        '/': ['text/html', '<script src="/app.js"'],
        '/app.js': ['text/javascript', 'new EventSource('],
        '/style.css': ['text/css', '.pill'],
        '/favicon.svg': ['image/svg+xml', '<svg'],
      }
      for (const [path, [type, content]] of Object.entries(files)) {
        const response = await fetch(`${server.url}${path}`)
        expect(response.status, path).toBe(200)
        expect(response.headers.get('content-type'), path).toContain(type)
        expect(await response.text(), path).toContain(content)
      }
    })

    it('answers GET /health with its framework and open streams', async () => {
      await open('/events')
      const response = await fetch(`${server.url}/health`)
      expect(response.status).toBe(200)
      expect(await response.json()).toMatchObject({
        status: 'ok',
        framework,
        streams: { hub: 1, clock: 0, story: 0 },
      })
    })

    it('publishes POST /notify to every /events stream of its topic, with the id it answered', async () => {
      const both = await open('/events?topics=news,alerts')
      const news = await open('/events?topics=news')
      const hello = await notify('news', 'hello')
      const careful = await notify('alerts', 'careful')
      const again = await notify('news', 'again')
      await both.waitFor(3, WAIT_MS)
      await news.waitFor(2, WAIT_MS)
      expect(both.events.map((event) => [event.id, event.event])).toEqual([
        [hello, 'notification'],
        [careful, 'notification'],
        [again, 'notification'],
      ])
      expect(JSON.parse(both.events[1]!.data)).toMatchObject({ topic: 'alerts', text: 'careful' })
      expect(texts(news)).toEqual(['hello', 'again'])
      expect(demo.hub.stats.published).toBe(3)
    })

    it.each(BAD_INPUT)('refuses $name with a message, publishing nothing', async (bad) => {
      const response = await fetch(`${server.url}/notify`, {
        method: 'POST',
        headers: { 'Content-Type': bad.contentType ?? 'application/json' },
        body: bad.body,
      })
      expect(response.status).toBe(bad.status ?? 400)
      const answer = (await response.json()) as { error: unknown }
      expect(answer.error).toMatch(bad.error)
      expect(demo.hub.stats.published).toBe(0)
    })

    it('answers /events with unknown topics with a 400 that names them', async () => {
      const response = await fetch(`${server.url}/events?topics=news,sport`)
      expect(response.status).toBe(400)
      expect(((await response.json()) as { error: string }).error).toContain('"sport"')
      expect(demo.hub.size).toBe(0)
    })

    it('replays to a reconnecting client exactly what it missed, then goes live', async () => {
      const first = await open('/events?topics=news')
      const seen = await notify('news', 'one')
      await first.waitFor(1, WAIT_MS)
      await first.close()
      await notify('news', 'two')
      await notify('alerts', 'not for this client')
      await notify('news', 'three')
      const again = await open('/events?topics=news', { 'Last-Event-ID': seen })
      await again.waitFor(2, WAIT_MS)
      await notify('news', 'four')
      await again.waitFor(3, WAIT_MS)
      expect(texts(again)).toEqual(['two', 'three', 'four'])
    })

    it('streams the server clock on GET /clock, one tick after another', async () => {
      const clock = await open('/clock')
      const [first, second] = await clock.waitFor(2, WAIT_MS)
      expect(first!.event).toBe('tick')
      expect(Date.parse(second!.data)).toBeGreaterThan(Date.parse(first!.data))
      expect(clock.retries[0]).toBeGreaterThan(0)
    })

    it('streams GET /story word by word at the pace of the client, then done and the end', async () => {
      const short = await open('/story?words=3')
      expect(await short.waitForEnd(WAIT_MS)).toBe('end')
      expect(short.events.map((event) => [event.event, JSON.parse(event.data)])).toEqual([
        ['word', { n: 0, word: 'a' }],
        ['word', { n: 1, word: 'producer' }],
        ['word', { n: 2, word: 'that' }],
        ['done', { words: 3 }],
      ])
      // A long one, counted rather than kept: every word arrives, in order.
      let next = 0
      let inOrder = true
      const long = await openEventStream(`${server.url}/story?words=20000`, {
        keepEvents: false,
        timeoutMs: WAIT_MS,
        onEvent: (event) => {
          if (event.event === 'word' && JSON.parse(event.data).n !== next++) inOrder = false
        },
      })
      readers.push(long)
      expect(await long.waitForEnd(30_000)).toBe('end')
      expect([long.eventCount, next, inOrder]).toEqual([20_001, 20_000, true])
    })

    it('stops a /story at once when its client leaves', async () => {
      const story = await open(`/story?words=${100_000}`)
      await story.waitFor(1, WAIT_MS)
      story.pause() // a slow phone: the server waits for it instead of buffering the story
      const health = async () =>
        ((await (await fetch(`${server.url}/health`)).json()) as { streams: { story: number } }).streams.story
      expect(await health()).toBe(1)
      await story.close()
      const deadline = Date.now() + WAIT_MS
      while ((await health()) !== 0 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 20))
      expect(await health()).toBe(0)
    })

    it('closes gracefully: every stream gets a shutdown event and ends, then the server closes', async () => {
      const events = await open('/events')
      const clock = await open('/clock')
      await clock.waitFor(1, WAIT_MS)
      await withTimeout(server.close(), WAIT_MS, 'server.close() with two streams open')
      for (const reader of [events, clock]) {
        expect(await reader.waitForEnd(WAIT_MS)).toBe('end')
        expect(reader.events.map((event) => event.event)).toContain('shutdown')
      }
    })
  })
}
