/**
 * `answeredWithin`: a command timeout that a busy event loop cannot fake.
 *
 * Why: a timer that comes due while the loop is held (one fan-out of 16,000 writes took over 2 s on
 * two contended cores in `bench/scale.mjs`) runs in the next turn's timers phase, before that turn
 * reads the sockets: a reply sitting unread in the socket would be reported as "Redis did not
 * answer". For a publish that is worse than slow: it was stored and delivered, and the caller was
 * told it failed, so a retry duplicates it. ioredis's own `commandTimeout` works that way, so the
 * broker runs its commands without it and times them here: when the timer fires, the verdict waits
 * for one more turn's I/O (a `setImmediate` runs after the poll phase), and a reply read there wins.
 */

/** A rejection of `answeredWithin`: the command got no answer within `ms`. */
export class AnswerTimeout extends Error {
  constructor(what: string, ms: number) {
    super(`${what} timed out after ${ms} ms`)
    this.name = 'AnswerTimeout'
  }
}

/**
 * `promise`, or an `AnswerTimeout` once `ms` have passed and one more turn of the event loop has
 * read its sockets without an answer. `promise`'s later rejection is handled (never unhandled).
 */
export function answeredWithin<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false
    const timer = setTimeout(() => {
      setImmediate(() => {
        if (settled) return
        settled = true
        reject(new AnswerTimeout(what, ms))
      })
    }, ms)
    promise.then(
      (value) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        reject(error)
      },
    )
  })
}
