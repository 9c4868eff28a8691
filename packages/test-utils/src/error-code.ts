/**
 * The `SseError` code a call fails with, for assertions that name the code: `'no error'` when it
 * returns, `'not an SseError'` when it throws something else.
 */
import { isSseError, type SseErrorCode } from '@sse/core'
import { DEFAULT_TIMEOUT_MS, withTimeout } from './with-timeout.ts'

export type ErrorCodeOf = SseErrorCode | 'no error' | 'not an SseError'

/** The code `run()` throws with. */
export function codeOf(run: () => unknown): ErrorCodeOf {
  try {
    run()
  } catch (error) {
    return isSseError(error) ? error.code : 'not an SseError'
  }
  return 'no error'
}

/** The code `promise` rejects with (within the default deadline). */
export async function rejectionCodeOf(promise: Promise<unknown>): Promise<ErrorCodeOf> {
  try {
    await withTimeout(promise, DEFAULT_TIMEOUT_MS, 'a rejection')
  } catch (error) {
    return isSseError(error) ? error.code : 'not an SseError'
  }
  return 'no error'
}
