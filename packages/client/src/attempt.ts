/**
 * The outcome of one connection attempt, as the reconnection loop sees it: the client was closed
 * meanwhile, the attempt stops the client for good, or it is retried after a delay. Every
 * expected failure (a status, a network error, a bad stream) is one of these, never a throw.
 */
import type { SseClientError } from './errors.ts'

export type Attempt =
  | { readonly kind: 'closed' }
  | { readonly kind: 'stop'; readonly reason: 'no-content' | 'error'; readonly error?: SseClientError }
  | {
      readonly kind: 'retry'
      readonly error: SseClientError | undefined
      /** The response's `Retry-After`, in ms. */
      readonly retryAfter?: number | undefined
      /** When the stream opened, if it did. */
      readonly openedAt?: number | undefined
    }
