/**
 * (d) better-sse: a session per request, registered with one channel; `channel.broadcast`
 * pushes the event to every session (each session frames it and writes it on its own).
 * The data is passed through as is (identity serializer) so the payload bytes match the other
 * variants; the id is given, as the other variants give one; everything else is the default.
 */
import { createChannel, createSession } from 'better-sse'

/**
 * @param {string} payload
 * @returns {import('./variants.mjs').Variant}
 */
export function betterSse(payload) {
  const channel = createChannel()
  return {
    handle(req, res) {
      createSession(req, res, { serializer: (data) => String(data) }).then(
        (session) => channel.register(session),
        (error) => console.error('createSession failed', error),
      )
    },
    publish(id) {
      channel.broadcast(payload, 'message', { eventId: String(id) })
      return undefined
    },
    open: () => channel.sessionCount,
  }
}
