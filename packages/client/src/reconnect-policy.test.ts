import { describe, expect, it } from 'vitest'
import { SseClientError } from './errors.ts'
import {
  DEFAULT_RECONNECT,
  isRetryableStatus,
  MAX_RECONNECT_DELAY_MS,
  nextReconnect,
  parseRetryAfter,
  reconnectDelay,
  resolveReconnectPolicy,
} from './reconnect-policy.ts'

describe('reconnectDelay', () => {
  it('doubles the ceiling per failed attempt up to maxDelay (no jitter)', () => {
    const policy = resolveReconnectPolicy({ jitter: false, initialDelay: 100, maxDelay: 1000 })
    const delays = [1, 2, 3, 4, 5, 6, 7].map((attempt) => reconnectDelay(policy, { attempt }))
    expect(delays).toEqual([100, 200, 400, 800, 1000, 1000, 1000])
  })

  it('draws full jitter in [0, ceiling) from the given random', () => {
    const draws = [0, 0.5, 0.999, 0.25]
    const policy = resolveReconnectPolicy({ initialDelay: 1000, random: () => draws.shift()! })
    const delays = [1, 2, 3, 4].map((attempt) => reconnectDelay(policy, { attempt }))
    expect(delays).toEqual([0, 1000, 3996, 2000])
  })

  it("never waits less than the server's retry: or Retry-After, even past maxDelay", () => {
    const policy = resolveReconnectPolicy({ random: () => 0.5, maxDelay: 1000 })
    expect(reconnectDelay(policy, { attempt: 1, serverRetry: 3000 })).toBe(3000)
    expect(reconnectDelay(policy, { attempt: 1, retryAfter: 60_000 })).toBe(60_000)
    expect(reconnectDelay(policy, { attempt: 9, serverRetry: 10 })).toBe(500)
  })

  it('never returns more than MAX_RECONNECT_DELAY_MS, whatever the server asks', () => {
    const policy = resolveReconnectPolicy({ random: () => 0.5 })
    const hour = MAX_RECONNECT_DELAY_MS
    // retry: 4294967296 (2^32 ms), Retry-After: 999999999 (s), absurd digits that parse to Infinity.
    expect(reconnectDelay(policy, { attempt: 1, serverRetry: 2 ** 32 })).toBe(hour)
    expect(reconnectDelay(policy, { attempt: 1, retryAfter: 999_999_999_000 })).toBe(hour)
    expect(reconnectDelay(policy, { attempt: 1, serverRetry: Number.POSITIVE_INFINITY })).toBe(hour)
    const farDate = parseRetryAfter('Fri, 31 Dec 9999 23:59:59 GMT', Date.UTC(2026, 0, 1))
    expect(reconnectDelay(policy, { attempt: 1, retryAfter: farDate })).toBe(hour)
    // A floor up to the maximum is still honoured exactly.
    expect(reconnectDelay(policy, { attempt: 1, serverRetry: hour - 1 })).toBe(hour - 1)
  })

  it('keeps the backoff finite and within the maximum at any attempt and factor', () => {
    const wide = resolveReconnectPolicy({ jitter: false, maxDelay: MAX_RECONNECT_DELAY_MS, factor: 10 })
    expect(reconnectDelay(wide, { attempt: 5000 })).toBe(MAX_RECONNECT_DELAY_MS)
    // 0 × Infinity is NaN in floating point; a zero initial delay stays zero.
    const zero = resolveReconnectPolicy({ jitter: false, initialDelay: 0, factor: Number.POSITIVE_INFINITY })
    expect(reconnectDelay(zero, { attempt: 3 })).toBe(0)
  })

  it('keeps a misbehaving random inside [0, 1]', () => {
    const ceiling = (random: () => number) =>
      reconnectDelay(resolveReconnectPolicy({ random, initialDelay: 100 }), { attempt: 1 })
    expect([ceiling(() => -1), ceiling(() => 7), ceiling(() => Number.NaN)]).toEqual([0, 100, 0])
  })
})

describe('nextReconnect', () => {
  const policy = resolveReconnectPolicy({
    jitter: false,
    initialDelay: 100,
    healthyAfter: 5000,
    maxAttempts: 3,
  })

  it('counts consecutive failures and backs off with the count', () => {
    const decisions = [0, 1, 2].map((failures) => nextReconnect(policy, { failures }))
    expect(decisions).toEqual([
      { giveUp: false, attempt: 1, delay: 100 },
      { giveUp: false, attempt: 2, delay: 200 },
      { giveUp: false, attempt: 3, delay: 400 },
    ])
  })

  it('starts again at attempt 1 after a stream that stayed open healthyAfter ms', () => {
    expect(nextReconnect(policy, { failures: 2, openedFor: 5000 })).toEqual({
      giveUp: false,
      attempt: 1,
      delay: 100,
    })
    expect(nextReconnect(policy, { failures: 2, openedFor: 4999 })).toEqual({
      giveUp: false,
      attempt: 3,
      delay: 400,
    })
  })

  it('gives up past maxAttempts consecutive failures, without drawing jitter', () => {
    let draws = 0
    const counted = resolveReconnectPolicy({
      maxAttempts: 3,
      random: () => {
        draws++
        return 0.5
      },
    })
    expect(nextReconnect(counted, { failures: 3 })).toEqual({ giveUp: true, attempt: 4 })
    expect(draws).toBe(0)
    expect(nextReconnect(resolveReconnectPolicy({ maxAttempts: 0 }), { failures: 0 })).toEqual({
      giveUp: true,
      attempt: 1,
    })
    // A healthy stream before the failure: the count starts over, so it does not give up.
    expect(nextReconnect(counted, { failures: 3, openedFor: 60_000 })).toMatchObject({
      giveUp: false,
      attempt: 1,
    })
  })

  it("passes the server's retry: and Retry-After on as floors", () => {
    expect(nextReconnect(policy, { failures: 0, serverRetry: 3000 })).toMatchObject({ delay: 3000 })
    expect(nextReconnect(policy, { failures: 0, retryAfter: 7000 })).toMatchObject({ delay: 7000 })
  })
})

describe('resolveReconnectPolicy', () => {
  it('fills in the documented defaults', () => {
    const policy = resolveReconnectPolicy()
    expect({ ...policy, random: undefined, retryStatus: undefined }).toEqual({
      ...DEFAULT_RECONNECT,
      random: undefined,
      retryStatus: undefined,
    })
    expect(DEFAULT_RECONNECT).toEqual({
      initialDelay: 1000,
      maxDelay: 30_000,
      factor: 2,
      jitter: true,
      maxAttempts: Number.POSITIVE_INFINITY,
      healthyAfter: 5000,
    })
    expect(policy.retryStatus).toBe(isRetryableStatus)
  })

  it('refuses values out of range with SSE_CLIENT_INVALID_OPTION', () => {
    for (const options of [
      { initialDelay: -1 },
      { maxDelay: Number.NaN },
      { factor: 0.5 },
      { maxAttempts: -2 },
    ]) {
      expect(() => resolveReconnectPolicy(options)).toThrow(SseClientError)
    }
    expect(() => resolveReconnectPolicy({ factor: 0.5 })).toThrow(/reconnect.factor must be >= 1/)
  })

  it('refuses a delay beyond MAX_RECONNECT_DELAY_MS, which no timer could keep', () => {
    for (const name of ['initialDelay', 'maxDelay'] as const) {
      expect(() => resolveReconnectPolicy({ [name]: MAX_RECONNECT_DELAY_MS + 1 })).toThrow(
        expect.objectContaining({
          code: 'SSE_CLIENT_INVALID_OPTION',
          message: expect.stringContaining(`reconnect.${name} must be <= ${MAX_RECONNECT_DELAY_MS}`),
        }),
      )
      expect(() => resolveReconnectPolicy({ [name]: Number.POSITIVE_INFINITY })).toThrow(SseClientError)
      expect(resolveReconnectPolicy({ [name]: MAX_RECONNECT_DELAY_MS })[name]).toBe(MAX_RECONNECT_DELAY_MS)
    }
  })

  it('keeps MAX_RECONNECT_DELAY_MS inside what setTimeout can hold (2^31 - 1 ms)', () => {
    expect(MAX_RECONNECT_DELAY_MS).toBe(60 * 60 * 1000)
    expect(MAX_RECONNECT_DELAY_MS).toBeLessThanOrEqual(2 ** 31 - 1)
  })
})

describe('isRetryableStatus', () => {
  it('retries 408, 429 and 5xx, nothing else', () => {
    const retried = [200, 301, 400, 401, 403, 404, 408, 410, 429, 500, 502, 503, 504, 599].filter(
      isRetryableStatus,
    )
    expect(retried).toEqual([408, 429, 500, 502, 503, 504, 599])
  })
})

describe('parseRetryAfter', () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0)
  it('reads delta-seconds and HTTP dates', () => {
    expect(parseRetryAfter('7', now)).toBe(7000)
    expect(parseRetryAfter(' 0 ', now)).toBe(0)
    expect(parseRetryAfter('Thu, 01 Jan 2026 12:00:30 GMT', now)).toBe(30_000)
    expect(parseRetryAfter('Thu, 01 Jan 2026 11:00:00 GMT', now)).toBe(0)
    // Parsing is exact; the limit is reconnectDelay's, the one place every delay goes through.
    expect(parseRetryAfter('999999999', now)).toBe(999_999_999_000)
  })

  it('ignores absent and invalid values', () => {
    expect(parseRetryAfter(null, now)).toBeUndefined()
    expect(parseRetryAfter('soon', now)).toBeUndefined()
    expect(parseRetryAfter('-5', now)).toBeUndefined()
  })
})
