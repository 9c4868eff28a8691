/**
 * The `topics` option both exporters share: the topics whose streams are reported one by one.
 * Internal (not an entry): each entry imports it, so neither imports the other's peer.
 */
import { SseError } from '@sse/core'

/** `topics` without duplicates; throws `SSE_INVALID_OPTION` for one that is not a non-empty string. */
export function reportedTopics(topics: readonly string[] | undefined): string[] {
  const unique = [...new Set(topics ?? [])]
  for (const topic of unique) {
    if (typeof topic !== 'string' || topic === '') {
      throw new SseError(
        'SSE_INVALID_OPTION',
        `topics must be non-empty strings, got ${JSON.stringify(topic)}`,
      )
    }
  }
  return unique
}
