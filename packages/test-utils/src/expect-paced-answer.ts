/**
 * The check every adapter README's `answer.ts` (a per-client stream paced by `stream.ready()`)
 * passes: a client that leaves mid-answer stops the server's loop, and the next client gets every
 * token in order, then `done`, then the end of the response.
 */
import { expect } from 'vitest'
import { openEventStream } from './read-events.ts'

/**
 * @example
 * const example = await import('./readme/answer.ts')
 * await expectPacedAnswer(`${url}/answer`, () => example.tokensGenerated, 50)
 */
export async function expectPacedAnswer(
  url: string,
  tokensGenerated: () => number,
  tokens: number,
): Promise<void> {
  const before = tokensGenerated()
  // A client that leaves after three tokens: its loop's next ready() resolves false, and it returns.
  const leaving = await openEventStream(url)
  try {
    await leaving.waitFor(3)
  } finally {
    await leaving.close()
  }
  // The next client gets the whole answer, and the end of the response.
  const reader = await openEventStream(url)
  try {
    expect(await reader.waitForEnd()).toBe('end')
    expect(reader.events.map(({ event, data }) => [event, data])).toEqual([
      ...Array.from({ length: tokens }, (_, i) => ['token', `token ${i} `]),
      ['done', ''],
    ])
  } finally {
    await reader.close()
  }
  // By now the first loop would have produced its whole answer too, had it not stopped.
  const firstAnswer = tokensGenerated() - before - tokens
  expect(firstAnswer).toBeGreaterThanOrEqual(3)
  expect(firstAnswer).toBeLessThan(tokens)
}
