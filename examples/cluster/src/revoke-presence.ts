/**
 * Revocation and presence across the three instances, for the cluster's app:
 *
 * - A stream's principal is the `user` cookie (a demo: a real app takes it from its session).
 *   Streams without one are anonymous: counted, but not revocable by user.
 * - `POST /admin/disconnect` with JSON `{ user }` closes that user's streams on every instance
 *   (`hub.revokeEverywhere`), after a `disconnected` event; 200 with `{ closed, instances,
 *   complete }` once every live instance answered, 503 with the same when one did not (or Redis is
 *   unreachable: this instance's streams are closed all the same), 400 for a bad user.
 * - `GET /presence` is the page topic's streams on every instance (`hub.presenceEverywhere`);
 *   `stale: true` while Redis is unreachable.
 * - Each change of the page topic's streams is published to `WATCHING_TOPIC` as a `presence`
 *   event `{ streams }`, by the instance where it happened (or that noticed an instance died):
 *   the page's "watching now".
 */
import { type Grant, type Hub, isSseError } from '@sse/core'
import express, { type Express, type Request } from 'express'

/** Where the page's topic's presence is published. */
export const WATCHING_TOPIC = 'watching'
/** The event type of those; its data is `{ streams }`. */
export const PRESENCE_EVENT = 'presence'
/** The event a stream gets before an admin disconnects it. */
export const DISCONNECTED_EVENT = 'disconnected'

/** The `user` cookie, if it is a plausible name. */
export function userOf(req: Request): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=')
    if (name !== 'user') continue
    const user = decodeURIComponent(value.join('='))
    return user !== '' && user.length <= 64 ? user : undefined
  }
  return undefined
}

/** `authorize` for `/events`: anyone may read; a user's stream carries the user as its principal. */
export function authorizeUser(req: Request): true | Grant {
  const user = userOf(req)
  return user === undefined ? true : { allow: true, principal: user }
}

/** Adds `/admin/disconnect`, `/presence` and the `presence` events of `topic` to `app`. */
export function addRevokeAndPresence(
  app: Express,
  { hub, instance, topic }: { hub: Hub; instance: string; topic: string },
): void {
  hub.on('presence', (change) => {
    if (change.topic !== topic) return
    hub
      .publish(WATCHING_TOPIC, { event: PRESENCE_EVENT, data: { streams: change.streams } })
      .catch((error) => hub.reportError(error))
  })

  app.get('/presence', async (_req, res) => {
    try {
      const { streams, instances, stale } = await hub.presenceEverywhere(topic)
      res.json({ topic, streams, instances, stale })
    } catch (error) {
      if (!isSseError(error, 'SSE_BROKER_UNAVAILABLE')) throw error
      res
        .status(503)
        .set('Retry-After', '1')
        .json({ error: `presence is unavailable from instance ${instance}` })
    }
  })

  app.post('/admin/disconnect', express.json({ limit: '4kb' }), async (req, res) => {
    const user = (req.body as { user?: unknown } | undefined)?.user
    try {
      const result = await hub.revokeEverywhere(
        { principal: user as string },
        { event: { event: DISCONNECTED_EVENT, data: { by: instance } } },
      )
      const { closed, instances, missing, complete } = result
      res.status(complete ? 200 : 503).json({ user, closed, instances, missing: missing ?? null, complete })
    } catch (error) {
      if (!isSseError(error)) throw error
      res.status(400).json({ error: `"user": ${error.message}` })
    }
  })
}
