/**
 * `BrokerControl`: what a broker shared by several instances adds so that revocation and
 * presence are cluster-wide. A hub uses its broker's `control` when it has one, and `LocalControl`
 * (this process only) when it has none, so `hub.revokeEverywhere()` and `hub.presenceEverywhere()`
 * work the same on one process and on many. Core only defines the shape; `@sse/redis` implements
 * it over Redis, and `MemoryBroker` needs nothing (one process is the whole cluster).
 *
 * Obligations of an implementation:
 * - `revoke` reaches every live instance but this one, runs `ControlTarget.revoke` there, and
 *   resolves with what they answered before the timeout. It never reports an instance it did not
 *   hear from: `complete` is `true` only when every instance it knows to be alive answered.
 *   It never rejects for an unreachable store: it resolves with `complete: false` and the error.
 * - `revokedAt` answers, for a stream resuming with a `Last-Event-ID`, the newest position at
 *   which its principal or one of its tags was revoked on any instance (so a revoked client that
 *   reconnects elsewhere is reset, not replayed what it had no access to).
 * - `presence` sums every live instance's streams of a topic. An instance that stops renewing
 *   its lease (killed, cut off) drops out of the sums once the lease runs out. When the store
 *   cannot be read, it answers the last sums it read with `stale: true`, never a guess.
 */
import type { SseError } from './errors.ts'
import type { RevokeSelector } from './hub.ts'
import type { LogPosition } from './last-event-id.ts'

/** A revocation as it travels to the other instances: its last event already serialized. */
export interface RevokeCommand {
  readonly selector: RevokeSelector
  readonly event?: { readonly event?: string | undefined; readonly data: string } | undefined
  readonly retry?: number | undefined
  /** Where the revoking instance stood in the log: a stream resuming from before it is reset. */
  readonly at?: LogPosition | undefined
}

/** What `hub.revokeEverywhere()` resolves with. */
export interface RevokeEverywhereResult {
  /** Streams closed on this instance (what `revoke()` returns). */
  readonly local: number
  /** Streams closed on every instance that answered, this one included. */
  readonly closed: number
  /** Instances that answered, this one included. */
  readonly instances: number
  /**
   * Live instances that did not answer: not listening at that moment, or not within `timeoutMs`
   * (an instance killed less than a lease ago counts here). 0 when complete; `undefined` when the
   * store could not be asked at all.
   */
  readonly missing: number | undefined
  /** Every live instance answered in time: only then is `closed` the cluster-wide count. */
  readonly complete: boolean
  /**
   * Why it is not complete: `'unavailable'`, the store did not answer (only this instance's
   * streams are known to be closed); `'missing'`, live instances did not answer in time.
   */
  readonly reason?: 'unavailable' | 'missing' | undefined
  /** The store's error, when `reason` is `'unavailable'`. */
  readonly error?: SseError | undefined
}

/** Who watches a topic, across every instance. */
export interface ClusterPresence {
  readonly topic: string
  /** Streams subscribed to the topic on every live instance. */
  readonly streams: number
  /**
   * Streams per principal across live instances, or `undefined` when the broker does not share
   * principals (`@sse/redis`: `presence: { principals: true }` opts in).
   */
  readonly principals: ReadonlyMap<string, number> | undefined
  /** Live instances (holding a lease), whether or not they have streams of this topic. */
  readonly instances: number
  /** The store did not answer: these are the numbers it gave at `asOf`, not now. */
  readonly stale: boolean
  /** When these numbers were read (ms since the Unix epoch). */
  readonly asOf: number
}

/** A topic's presence changed (a `presence` event of the hub). */
export interface PresenceChange {
  readonly topic: string
  /** Streams of the topic across every live instance, after the change. */
  readonly streams: number
  /** Principals with their first stream of the topic (cluster-wide), when principals are shared. */
  readonly joined: readonly string[]
  /** Principals whose last stream of the topic closed (cluster-wide), when principals are shared. */
  readonly left: readonly string[]
}

/** A topic's streams on one hub, per principal (what `hub.presence(topic)` answers). */
export interface LocalPresence {
  readonly streams: number
  readonly principals: ReadonlyMap<string, number>
}

/** What a hub gives its broker's control. */
export interface ControlTarget {
  /** Closes this hub's streams for a revocation from another instance; returns how many, and where the log stood. */
  revoke(command: RevokeCommand): { closed: number; at: LogPosition | undefined }
  /** This hub's streams of a topic, per principal (O(streams of the topic)). */
  presence(topic: string): LocalPresence
  /** How many streams this hub has of a topic (O(1)). */
  topicSize(topic: string): number
  /** The topics with streams on this hub now. */
  topics(): Iterable<string>
  /** Emits a `presence` event on this hub. */
  presenceChanged(change: PresenceChange): void
  /** Whether anyone listens for `presence` events here. */
  readonly wantsPresence: boolean
}

export interface BrokerControl {
  /** Starts serving this hub; returns the function that stops. */
  attach(target: ControlTarget): () => void
  /**
   * Resolves once this instance can be reached by revocations and counts in presence. The hub
   * awaits it (with the broker's `ready`) before it registers its first streams.
   */
  ready?(): Promise<void>
  /**
   * Sends a revocation (already applied by `origin`, which closed `local` streams) to every
   * other instance, and resolves with what they answered within `timeoutMs`.
   */
  revoke(
    command: RevokeCommand,
    options: { timeoutMs: number; local: number; origin: ControlTarget },
  ): Promise<RevokeEverywhereResult>
  /** Where this principal and these tags were last revoked, anywhere (those that were). */
  revokedAt(principal: string | undefined, tags: readonly string[]): Promise<readonly LogPosition[]>
  /** The topics whose streams changed on `target` (subscribed or left): the control updates its sums. */
  changed(target: ControlTarget, topics: readonly string[]): void
  /** The topic's presence across every live instance. */
  presence(topic: string): Promise<ClusterPresence>
}

/**
 * The control of a hub whose broker has none: this process is the whole cluster. Revocations
 * reach nothing else; presence is the hub's own, and `presence` events are the local changes,
 * one per topic per tick.
 */
export class LocalControl implements BrokerControl {
  readonly #targets = new Set<ControlTarget>()
  /** Per topic, the principals last reported in a `presence` event (only while someone listens). */
  readonly #seen = new Map<string, Set<string>>()
  readonly #dirty = new Map<ControlTarget, Set<string>>()
  #scheduled = false

  attach(target: ControlTarget): () => void {
    this.#targets.add(target)
    return () => {
      this.#targets.delete(target)
      this.#dirty.delete(target)
    }
  }

  async revoke(
    _command: RevokeCommand,
    { local }: { timeoutMs: number; local: number; origin: ControlTarget },
  ): Promise<RevokeEverywhereResult> {
    return { local, closed: local, instances: 1, missing: 0, complete: true }
  }

  async revokedAt(): Promise<readonly LogPosition[]> {
    return []
  }

  changed(target: ControlTarget, topics: readonly string[]): void {
    if (!target.wantsPresence) return
    let dirty = this.#dirty.get(target)
    if (!dirty) {
      dirty = new Set()
      this.#dirty.set(target, dirty)
    }
    for (const topic of topics) dirty.add(topic)
    if (this.#scheduled) return
    this.#scheduled = true
    queueMicrotask(() => this.#report())
  }

  async presence(topic: string): Promise<ClusterPresence> {
    let streams = 0
    const principals = new Map<string, number>()
    for (const target of this.#targets) {
      const here = target.presence(topic)
      streams += here.streams
      for (const [principal, count] of here.principals) {
        principals.set(principal, (principals.get(principal) ?? 0) + count)
      }
    }
    return { topic, streams, principals, instances: 1, stale: false, asOf: Date.now() }
  }

  /** One `presence` event per changed topic per hub, with who joined and left since the last. */
  #report(): void {
    this.#scheduled = false
    const dirty = [...this.#dirty]
    this.#dirty.clear()
    for (const [target, topics] of dirty) {
      for (const topic of topics) {
        const now = target.presence(topic)
        const before = this.#seen.get(topic) ?? new Set<string>()
        const current = new Set(now.principals.keys())
        const joined = [...current].filter((principal) => !before.has(principal))
        const left = [...before].filter((principal) => !current.has(principal))
        if (current.size > 0) this.#seen.set(topic, current)
        else this.#seen.delete(topic)
        target.presenceChanged({ topic, streams: now.streams, joined, left })
      }
    }
  }
}
