/**
 * One harness for the README tests of every package. A package keeps its README's code in
 * `test/readme/` and its `readme.test.ts` says only how to catch what an example starts and what
 * to check over a real socket: `useReadmeExamples(import.meta.url)` checks the README against the
 * files, imports each example with `PORT=0`, finds its server, its `SIGTERM` listeners, and closes
 * everything after the test.
 */
import { once } from 'node:events'
import { describe, expect, it } from 'vitest'
import { expectPacedAnswer } from './expect-paced-answer.ts'
import { fetchJson } from './fetch-text.ts'
import type { EventSourceReader, SourceMessage } from './read-with-event-source.ts'
import { expectReadmeShowsExamples } from './readme.ts'
import { type ExampleServer, type RunningExample, watchHttpServer, withEnv } from './run-example.ts'
import { type TestScope, useTestScope } from './test-scope.ts'
import { DEFAULT_TIMEOUT_MS, withTimeout } from './with-timeout.ts'

/** What an example started, as a starter finds it. */
export interface StartedExample {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  /** Closes what the example started, unless it already has. */
  close(): Promise<void>
}

/**
 * Imports an example by calling `load`, and finds what it started (its server or app). The default
 * watches `http.createServer`; a framework that creates its servers elsewhere brings its own.
 */
export type ExampleStarter<E extends StartedExample> = (
  load: () => Promise<unknown>,
  name: string,
) => Promise<E>

/** A running example and the `SIGTERM` listeners it registered (removed after the test). */
export type RunExample<E extends StartedExample> = E & { readonly sigterm: readonly NodeJS.SignalsListener[] }

export interface ReadmeExamples<E extends StartedExample> extends TestScope {
  /** Runs `test/readme/<name>` with `PORT=0` and `env`; what it started is closed after the test. */
  run(name: string, env?: Record<string, string>): Promise<RunExample<E>>
  /** The module of `test/readme/<name>`: the same instance `run` imported. */
  module<T = Record<string, unknown>>(name: string): Promise<T>
  /** Registers the README check as `it(name)`: every ts block is in a file, every file is shown; and the files are `files`, if given. */
  itShowsTheExamples(name: string, files?: readonly string[]): void
  /** `itShowsTheExamples` as `the README` › `shows each example file exactly, and every ts block is one of them`. */
  describeTheReadme(files: readonly string[]): void
  /** Registers the case of an adapter README's `answer.ts`: a paced per-client stream of 50 tokens at `/answer`. */
  itStreamsTheAnswer(): void
  /** Opens an `EventSource` on `url` (closed after the test) and checks its first `count` events are `tick`s carrying the time. */
  expectTicks(url: string, count: number): Promise<{ source: EventSourceReader; ticks: SourceMessage[] }>
  /**
   * Checks the hub example the Koa and Hono READMEs both show, at `url`: without the session
   * cookie `/events` answers 401 `log in`; with it, a stream on `news,sport` gets, as `note`
   * events, what `POST /publish/:topic?text=` sends to those topics, and nothing else.
   */
  expectNotesHub(url: string): Promise<void>
  /**
   * Checks the shutdown example the Koa and Hono READMEs both show: three streams at `url`, then
   * SIGTERM (`shutDown`): each ends with the `bye` event (`restarting`) and a spread `retry:`.
   */
  expectByeOnSigterm(example: RunExample<E & { readonly server: ExampleServer }>, url: string): Promise<void>
  /**
   * Calls the example's one `SIGTERM` listener as the signal would (not a real signal to the test
   * process), and waits for its server to close.
   */
  shutDown(example: RunExample<E & { readonly server: ExampleServer }>, timeoutMs?: number): Promise<void>
}

/**
 * @example
 * const readme = useReadmeExamples(import.meta.url)
 * readme.itShowsTheExamples('shows every example file in full')
 * it('clock.ts: ticks', async () => {
 *   const { url } = await readme.run('clock.ts')
 *   await readme.expectTicks(`${url}/clock`, 1)
 * })
 */
export function useReadmeExamples(testFile: string): ReadmeExamples<RunningExample>
export function useReadmeExamples<E extends StartedExample>(
  testFile: string,
  start: ExampleStarter<E>,
): ReadmeExamples<E>
export function useReadmeExamples(
  testFile: string,
  start: ExampleStarter<StartedExample> = watchHttpServer,
): ReadmeExamples<StartedExample> {
  const scope = useTestScope()
  const dir = new URL('./readme/', testFile)
  const fileOf = (name: string) => new URL(name, dir)
  const module = <T>(name: string) =>
    withTimeout(import(fileOf(name).href) as Promise<T>, DEFAULT_TIMEOUT_MS, `the module of ${name}`)
  const readme: ReadmeExamples<StartedExample> = {
    ...scope,
    module,
    async run(name, env = {}) {
      const before = new Set(process.listeners('SIGTERM'))
      const added = () => process.listeners('SIGTERM').filter((listener) => !before.has(listener))
      try {
        const load = () => import(fileOf(name).href)
        const started = await withEnv({ PORT: '0', ...env }, () => start(load, `readme/${name}`))
        scope.defer(() => started.close())
        return Object.assign(started, { sigterm: added() })
      } finally {
        const sigterm = added()
        scope.defer(() => {
          for (const listener of sigterm) process.off('SIGTERM', listener)
        })
      }
    },
    itShowsTheExamples(name, files) {
      it(name, () => {
        const shown = expectReadmeShowsExamples(new URL('../README.md', testFile), dir)
        if (files) expect(shown).toEqual(files)
      })
    },
    describeTheReadme(files) {
      describe('the README', () => {
        readme.itShowsTheExamples('shows each example file exactly, and every ts block is one of them', files)
      })
    },
    itStreamsTheAnswer() {
      it('answer.ts: every token in order, then done and the end; a client that leaves mid-answer stops its loop', async () => {
        const { url } = await readme.run('answer.ts')
        const example = await module<{ tokensGenerated: number }>('answer.ts')
        await expectPacedAnswer(`${url}/answer`, () => example.tokensGenerated, 50) // answer() yields 50
      })
    },
    async expectTicks(url, count) {
      const source = await scope.openSource(url, { eventNames: ['tick'] })
      const ticks = await source.waitFor(count)
      for (const tick of ticks) {
        expect(tick.type).toBe('tick')
        expect(new Date(tick.data).toISOString()).toBe(tick.data)
      }
      return { source, ticks }
    },
    async expectNotesHub(url) {
      expect(await fetchJson(`${url}/events`)).toMatchObject({ status: 401, body: { error: 'log in' } })
      const reader = await scope.open(`${url}/events?topics=news,sport`, {
        headers: { cookie: 'session=abc' },
      })
      expect(reader.status).toBe(200)
      await reader.waitForComments(1)
      const ids: unknown[] = []
      for (const [topic, text] of [
        ['sport', 'goal'],
        ['weather', 'rain'],
        ['news', 'headline'],
      ]) {
        const published = await fetchJson(`${url}/publish/${topic}?text=${text}`, { method: 'POST' })
        expect(published.status, `POST /publish/${topic}`).toBe(200)
        ids.push((published.body as { id: string }).id)
      }
      expect((await reader.waitFor(2)).map((event) => [event.event, event.data])).toEqual([
        ['note', 'goal'],
        ['note', 'headline'],
      ])
      expect(reader.events.map((event) => event.id)).toEqual([ids[0], ids[2]])
    },
    async expectByeOnSigterm(example, url) {
      const readers = await Promise.all([1, 2, 3].map(() => scope.open(url)))
      await Promise.all(readers.map((reader) => reader.waitForComments(1)))
      await readme.shutDown(example)
      for (const reader of readers) {
        expect(await reader.waitForEnd()).toBe('end')
        expect(reader.events.at(-1)).toMatchObject({ event: 'bye', data: 'restarting' })
        expect(reader.retries.at(-1)).toBeGreaterThanOrEqual(1000)
      }
    },
    async shutDown({ server, sigterm }, timeoutMs = 2000) {
      expect(sigterm).toHaveLength(1)
      const closed = once(server, 'close')
      await withTimeout(Promise.resolve(sigterm[0]!('SIGTERM')), timeoutMs, 'the SIGTERM handler')
      await withTimeout(closed, timeoutMs, 'server.close() after hub.close()')
    },
  }
  return readme
}
