/**
 * Typed events. An event map names each event type and its payload:
 * `createHub<{ tick: string; price: { symbol: string; price: number } }>()` makes
 * `publish(topic, { event: 'price', data: … })` check `data` against the `price` payload.
 * Without a map, any event name and any data are accepted.
 */

/** The map used when none is given: any event name, any payload. */
export type DefaultEventMap = Record<string, unknown>

/**
 * One event of map `M`: `{ event: K; data: M[K] }` for each key `K`. The `message` type (what
 * `EventSource.onmessage` receives) may omit `event`. With the default map, `event` is optional
 * and `data` is `unknown`.
 */
export type TypedEvent<M extends object> = string extends keyof M
  ? { event?: string; data: unknown }
  : {
      [K in keyof M & string]: K extends 'message' ? { event?: K; data: M[K] } : { event: K; data: M[K] }
    }[keyof M & string]
