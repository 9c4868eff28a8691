/**
 * `RedisControl`: cluster-wide revocation and presence for a `RedisBroker` (core's
 * `BrokerControl`). Its own two connections (commands, and a subscriber) and its own keys:
 *
 * - **Leases.** Every instance holds a lease in `<prefix>:presence:leases` (a sorted set: instance
 *   id → expiry, by Redis's clock), renewed every third of `instanceLeaseMs`. An instance whose
 *   lease ran out is not alive: it counts in no presence sum and is not waited for by a revoke.
 *   The next instance to renew its own lease sweeps it (its counts leave the sums).
 * - **Revocation over pub/sub.** Each instance subscribes to its own channel,
 *   `<prefix>:ctl:<instance id>`. One Lua script records the revocation (for the resume check of
 *   every instance, in `<prefix>:revoked`) and PUBLISHes the command to the channel of every
 *   live instance but this one: each PUBLISH says whether that instance was listening, so an
 *   instance alive but cut off is known to have missed it, never assumed to have closed
 *   anything. Each instance closes its streams, raises the recorded position to where it stood
 *   (its streams may have been sent more than the revoker had seen), and answers on the
 *   revoker's channel with its count. Pub/sub rather than a stream: a revocation is only worth
 *   anything now, and an instance that misses one is reported as missing (and its clients'
 *   resumes are still checked against `<prefix>:revoked`).
 * - **Presence.** Per topic, a hash of sums (`<prefix>:presence:t:<topic>`: field `''` the
 *   streams, a principal's field its streams, when principals are shared), and per instance its
 *   own part of each (`<prefix>:presence:i:<id>:<topic>`), so that a dead instance's part is
 *   taken out when its lease runs out (by every read, at once) and when it is swept. An
 *   instance writes its changes (as absolute values: a retry after an ambiguous failure is
 *   harmless) at most every `FLUSH_DELAY_MS`, in one script call that also renews its lease.
 *
 * The Lua scripts are in `control-scripts.ts`.
 */
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import type {
  BrokerControl,
  ClusterPresence,
  ControlTarget,
  LogPosition,
  PresenceChange,
  RevokeCommand,
  RevokeEverywhereResult,
} from '@sse/core'
import { SseError } from '@sse/core'
import type { Redis, RedisOptions } from 'ioredis'
import { ANSWER, HEARTBEAT, LEAVE, READ, REVOKE, type Scripted, WRITE } from './control-scripts.ts'
import { answeredWithin } from './deadline.ts'

/** Default of `RedisBrokerOptions.instanceLeaseMs`. */
export const DEFAULT_INSTANCE_LEASE_MS = 15_000

/** Changes to this instance's streams are written at most this often (a connect storm is one write per 25 ms). */
const FLUSH_DELAY_MS = 25
/** Topics per presence write (one script call). */
const WRITE_BATCH = 256
/** Topics whose last cluster-wide presence is kept, for a stale answer while Redis is down. */
const MAX_CACHED_PRESENCE = 1000

type Message =
  | { readonly type: 'revoke'; readonly id: string; readonly from: string; readonly command: RevokeCommand }
  | { readonly type: 'answer'; readonly id: string; readonly from: string; readonly closed: number }

interface Waiting {
  expected: number
  answered: number
  closed: number
  done: () => void
}

export interface RedisControlOptions {
  /** Makes a connection with the broker's settings (a duplicate of the app's client, or its URL/options). */
  readonly connect: (extra: RedisOptions) => Redis
  readonly prefix: string
  readonly timeoutMs: number
  readonly startupTimeoutMs: number
  readonly leaseMs: number
  readonly principals: boolean
  /** What is wrong, in our terms (the broker's wording). */
  readonly unavailable: (error: unknown, what: string) => SseError
}

/** Keys of the resume check: `p:<principal>` and `t:<tag>`, as the hub marks them. */
function revocationKeys(principal: string | undefined, tags: readonly string[]): string[] {
  return [...(principal === undefined ? [] : [`p:${principal}`]), ...tags.map((tag) => `t:${tag}`)]
}

/** Parses a script's list of changes: topic, streams, #joined, joined…, #left, left… from `start`. */
function changesOf(reply: (string | number)[], start: number): PresenceChange[] {
  const changes: PresenceChange[] = []
  let i = start
  while (i < reply.length) {
    const topic = String(reply[i])
    const streams = Math.max(0, Number(reply[i + 1]))
    const joinedCount = Number(reply[i + 2])
    const joined = reply.slice(i + 3, i + 3 + joinedCount).map(String)
    i += 3 + joinedCount
    const leftCount = Number(reply[i])
    const left = reply.slice(i + 1, i + 1 + leftCount).map(String)
    i += 1 + leftCount
    changes.push({ topic, streams, joined, left })
  }
  return changes
}

export class RedisControl implements BrokerControl {
  readonly #options: RedisControlOptions
  readonly #id = randomUUID().replaceAll('-', '')
  readonly #channel: string
  readonly #leases: string
  readonly #commands: Scripted
  readonly #subscriber: Redis
  readonly #targets = new Set<ControlTarget>()
  readonly #waiting = new Map<string, Waiting>()
  /** Per topic, the fields this instance last wrote: `''` its streams, a principal's name its streams. */
  readonly #written = new Map<string, Map<string, number>>()
  readonly #dirty = new Set<string>()
  readonly #lastRead = new Map<string, ClusterPresence>()
  #resync = false
  #flushTimer: ReturnType<typeof setTimeout> | undefined
  #flushing: Promise<void> | undefined
  #heartbeat: ReturnType<typeof setInterval> | undefined
  #started: Promise<void> | undefined
  #connecting: Promise<void> | undefined
  /** Set once the first SUBSCRIBE succeeded: from then on every reconnect subscribes again. */
  #listening = false
  #resubscribeTimer: ReturnType<typeof setTimeout> | undefined
  #closed = false

  constructor(options: RedisControlOptions) {
    this.#options = options
    this.#channel = `${options.prefix}:ctl:${this.#id}`
    this.#leases = `${options.prefix}:presence:leases`
    const commands = options.connect({
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      // Timed by `answeredWithin` (./deadline.ts), which a busy event loop cannot fake.
      commandTimeout: undefined,
    }) as Scripted
    for (const [name, lua, keys] of [
      ['sseHeartbeat', HEARTBEAT, 1],
      ['sseLeave', LEAVE, 1],
      ['ssePresenceWrite', WRITE, 2],
      ['ssePresenceRead', READ, 2],
      ['sseRevoke', REVOKE, 3],
      ['sseRevokeAnswer', ANSWER, 2],
    ] as const) {
      commands.defineCommand(name, { numberOfKeys: keys, lua })
    }
    commands.on('error', () => {})
    // Back after an outage: renew the lease at once (and rewrite the counts if it ran out meanwhile).
    commands.on('ready', () => {
      if (this.#heartbeat) void this.#beat()
    })
    this.#commands = commands
    // Subscribing again after a reconnect is done here, not by ioredis: its own resubscribe leaves
    // the SUBSCRIBE's promise without a handler, so a connection that drops before the reply, or a
    // refused SUBSCRIBE, became an unhandled rejection in the app (seen in CI: "Connection is
    // closed." while Redis restarted).
    this.#subscriber = options.connect({ autoResubscribe: false })
    this.#subscriber.on('error', () => {})
    this.#subscriber.on('ready', () => this.#resubscribe(0))
    this.#subscriber.on('message', (_channel: string, text: string) => this.#receive(text))
  }

  attach(target: ControlTarget): () => void {
    this.#targets.add(target)
    this.#started ??= this.#start()
    this.#started.catch(() => {})
    return () => {
      this.#targets.delete(target)
    }
  }

  /** Resolves once this instance listens on its channel and holds a lease. */
  async ready(): Promise<void> {
    this.#started ??= this.#start()
    try {
      await this.#started
    } catch (error) {
      // Try again on the next call (a Redis that was not up yet).
      this.#started = undefined
      throw error
    }
  }

  async revoke(
    command: RevokeCommand,
    options: { timeoutMs: number; local: number; origin: ControlTarget },
  ): Promise<RevokeEverywhereResult> {
    const deadline = Date.now() + options.timeoutMs
    let local = options.local
    for (const target of this.#targets) if (target !== options.origin) local += target.revoke(command).closed
    const id = randomUUID()
    const message: Message = { type: 'revoke', id, from: this.#id, command }
    const waiting: Waiting = { expected: Number.POSITIVE_INFINITY, answered: 0, closed: 0, done: () => {} }
    const answered = new Promise<void>((resolve) => {
      waiting.done = resolve
    })
    // Listening before sending: an answer can come back before the script's reply.
    this.#waiting.set(id, waiting)
    const keys = revocationKeys(
      command.selector.principal,
      command.selector.tag === undefined ? [] : [command.selector.tag],
    )
    let sent: number
    let missed: number
    try {
      await this.#connected('revoking streams')
      ;[sent, missed] = await this.#run('revoking streams', () =>
        this.#commands.sseRevoke(
          this.#leases,
          `${this.#options.prefix}:revoked`,
          `${this.#options.prefix}:revoked-order`,
          this.#options.prefix,
          this.#id,
          JSON.stringify(message),
          command.at?.epoch ?? '',
          command.at?.seq ?? 0,
          keys.length,
          ...keys,
        ),
      )
    } catch (error) {
      this.#waiting.delete(id)
      return {
        local,
        closed: local,
        instances: 1,
        missing: undefined,
        complete: false,
        reason: 'unavailable',
        error: error instanceof SseError ? error : this.#options.unavailable(error, 'revoking streams'),
      }
    }
    waiting.expected = sent
    if (waiting.answered >= sent) waiting.done()
    let timer: ReturnType<typeof setTimeout> | undefined
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), Math.max(0, deadline - Date.now()))
    })
    await Promise.race([answered, timedOut])
    clearTimeout(timer)
    this.#waiting.delete(id)
    const missing = missed + (sent - Math.min(sent, waiting.answered))
    const result = {
      local,
      closed: local + waiting.closed,
      instances: 1 + waiting.answered,
      missing,
      complete: missing === 0,
    }
    return result.complete ? result : { ...result, reason: 'missing' }
  }

  async revokedAt(principal: string | undefined, tags: readonly string[]): Promise<readonly LogPosition[]> {
    const keys = revocationKeys(principal, tags)
    if (keys.length === 0) return []
    await this.#connected('checking revocations for a replay')
    const values = await this.#run('checking revocations for a replay', () =>
      this.#commands.hmget(`${this.#options.prefix}:revoked`, ...keys),
    )
    const marks: LogPosition[] = []
    for (const value of values) {
      if (!value) continue
      const space = value.indexOf(' ')
      marks.push({ epoch: value.slice(0, space), seq: Number(value.slice(space + 1)) })
    }
    return marks
  }

  changed(_target: ControlTarget, topics: readonly string[]): void {
    for (const topic of topics) this.#dirty.add(topic)
    this.#schedule()
  }

  async presence(topic: string): Promise<ClusterPresence> {
    try {
      // This instance's own latest changes first, so that a read right after a connect sees it.
      await this.#flush()
      await this.#connected('reading presence')
      const reply = await this.#run('reading presence', () =>
        this.#commands.ssePresenceRead(
          this.#leases,
          `${this.#options.prefix}:presence:t:${topic}`,
          this.#options.prefix,
          topic,
          this.#options.principals ? 1 : 0,
        ),
      )
      let streams = 0
      const principals = new Map<string, number>()
      for (let i = 1; i < reply.length; i += 2) {
        const field = String(reply[i])
        if (field === '') streams = Number(reply[i + 1])
        else principals.set(field, Number(reply[i + 1]))
      }
      const answer: ClusterPresence = {
        topic,
        streams,
        principals: this.#options.principals ? principals : undefined,
        instances: Number(reply[0]),
        stale: false,
        asOf: Date.now(),
      }
      this.#lastRead.delete(topic)
      this.#lastRead.set(topic, answer)
      if (this.#lastRead.size > MAX_CACHED_PRESENCE) {
        this.#lastRead.delete(this.#lastRead.keys().next().value as string)
      }
      return answer
    } catch (error) {
      const last = this.#lastRead.get(topic)
      if (last) return { ...last, stale: true }
      throw error instanceof SseError ? error : this.#options.unavailable(error, 'reading presence')
    }
  }

  /** A graceful leave: this instance's counts out of every sum at once, then its connections close. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#heartbeat)
    clearTimeout(this.#flushTimer)
    clearTimeout(this.#resubscribeTimer)
    for (const waiting of this.#waiting.values()) waiting.done()
    if (this.#commands.status === 'ready') {
      await answeredWithin(
        this.#commands.sseLeave(this.#leases, this.#options.prefix, this.#id),
        this.#options.timeoutMs,
        'leaving',
      ).catch(() => {})
    }
    this.#commands.disconnect()
    this.#subscriber.disconnect()
  }

  async #start(): Promise<void> {
    const deadline = Date.now() + this.#options.startupTimeoutMs
    for (let wait = 100; ; wait = Math.min(wait * 2, 2000)) {
      try {
        await this.#connected('starting')
        if (this.#subscriber.status === 'wait') this.#subscriber.connect().catch(() => {})
        await this.#within(this.#subscriber.subscribe(this.#channel), 'subscribing to its control channel')
        this.#listening = true
        this.#resync = true
        await this.#beat(true)
        break
      } catch (error) {
        if (this.#closed || Date.now() + wait > deadline) {
          throw error instanceof SseError
            ? error
            : this.#options.unavailable(error, 'starting revocation and presence')
        }
        await new Promise((resolve) => setTimeout(resolve, wait))
      }
    }
    this.#heartbeat ??= setInterval(
      () => void this.#beat(),
      Math.max(1, Math.floor(this.#options.leaseMs / 3)),
    )
    this.#heartbeat.unref?.()
  }

  /**
   * Back on the control channel after a reconnect. A refused SUBSCRIBE (an ACL, a Redis still
   * loading) is tried again with backoff up to 5 s while the connection stays up; a reconnect starts
   * over. Until it succeeds, a revocation from another instance counts this one as missing.
   */
  #resubscribe(attempt: number): void {
    clearTimeout(this.#resubscribeTimer)
    if (this.#closed || !this.#listening || this.#subscriber.status !== 'ready') return
    this.#subscriber.subscribe(this.#channel).catch(() => {
      if (this.#closed || this.#subscriber.status !== 'ready') return
      this.#resubscribeTimer = setTimeout(
        () => this.#resubscribe(attempt + 1),
        Math.min(100 * 2 ** attempt, 5000),
      )
      this.#resubscribeTimer.unref?.()
    })
  }

  /** Renews the lease and sweeps dead instances; writes what changed. `strict`: failures throw. */
  async #beat(strict = false): Promise<void> {
    if (this.#closed) return
    try {
      await this.#connected('renewing the instance lease')
      const reply = await this.#run('renewing the instance lease', () =>
        this.#commands.sseHeartbeat(this.#leases, this.#options.prefix, this.#id, this.#options.leaseMs),
      )
      if (Number(reply[0]) === 0) this.#resync = true
      this.#report(changesOf(reply, 1))
    } catch (error) {
      if (strict) throw error
      return
    }
    if (this.#resync || this.#dirty.size > 0) await this.#flush().catch(() => {})
  }

  #schedule(): void {
    if (this.#flushTimer || this.#closed) return
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = undefined
      void this.#flush().catch(() => {})
    }, FLUSH_DELAY_MS)
    this.#flushTimer.unref?.()
  }

  /** Writes this instance's changed topics (all of them, replacing, after its lease was lost). */
  #flush(): Promise<void> {
    if (this.#flushing) {
      // One write at a time; what changed meanwhile goes in the next.
      return this.#flushing.then(() => (this.#dirty.size > 0 || this.#resync ? this.#flush() : undefined))
    }
    if (this.#dirty.size === 0 && !this.#resync) return Promise.resolve()
    clearTimeout(this.#flushTimer)
    this.#flushTimer = undefined
    this.#flushing = this.#write().finally(() => {
      this.#flushing = undefined
    })
    return this.#flushing
  }

  async #write(): Promise<void> {
    const replace = this.#resync
    this.#resync = false
    const topics = new Set(this.#dirty)
    this.#dirty.clear()
    if (replace) {
      for (const topic of this.#written.keys()) topics.add(topic)
      for (const target of this.#targets) for (const topic of target.topics()) topics.add(topic)
    }
    const groups: (string | number)[][] = []
    const written = new Map<string, Map<string, number>>()
    for (const topic of topics) {
      const now = this.#local(topic)
      const before = replace
        ? new Map<string, number>()
        : (this.#written.get(topic) ?? new Map<string, number>())
      const fields: (string | number)[] = []
      for (const [field, value] of now) if (before.get(field) !== value) fields.push(field, value)
      for (const field of before.keys()) if (!now.has(field)) fields.push(field, 0)
      if (!replace && fields.length === 0) continue
      groups.push([topic, replace ? 1 : 0, fields.length / 2, ...fields])
      written.set(topic, now)
    }
    try {
      for (let i = 0; i < groups.length || (replace && i === 0); i += WRITE_BATCH) {
        await this.#connected('writing presence')
        const reply = await this.#run('writing presence', () =>
          this.#commands.ssePresenceWrite(
            this.#leases,
            `${this.#options.prefix}:presence:i:${this.#id}`,
            this.#options.prefix,
            this.#id,
            this.#options.leaseMs,
            ...groups.slice(i, i + WRITE_BATCH).flat(),
          ),
        )
        // The lease was gone (swept while this instance was cut off, or Redis lost it): write all again.
        if (Number(reply[0]) === 0 && !replace) this.#resync = true
        this.#report(changesOf(reply, 1))
      }
    } catch (error) {
      // Not written (or not known to be): the same topics again next time, from the then current counts.
      for (const topic of topics) this.#dirty.add(topic)
      if (replace) this.#resync = true
      throw error
    }
    for (const [topic, now] of written) {
      if (now.size > 0) this.#written.set(topic, now)
      else this.#written.delete(topic)
    }
    if (this.#dirty.size > 0 || this.#resync) this.#schedule()
  }

  /** This instance's fields for a topic: `''` its streams, each principal's streams when shared. */
  #local(topic: string): Map<string, number> {
    const fields = new Map<string, number>()
    let streams = 0
    for (const target of this.#targets) {
      if (!this.#options.principals) {
        streams += target.topicSize(topic)
        continue
      }
      const here = target.presence(topic)
      streams += here.streams
      for (const [principal, count] of here.principals)
        fields.set(principal, (fields.get(principal) ?? 0) + count)
    }
    if (streams > 0) fields.set('', streams)
    return fields
  }

  #report(changes: readonly PresenceChange[]): void {
    if (changes.length === 0) return
    for (const target of this.#targets) {
      if (!target.wantsPresence) continue
      for (const change of changes) target.presenceChanged(change)
    }
  }

  #receive(text: string): void {
    let message: Message
    try {
      message = JSON.parse(text) as Message
    } catch {
      return
    }
    if (message.type === 'answer') {
      const waiting = this.#waiting.get(message.id)
      if (!waiting) return
      waiting.answered++
      waiting.closed += Number(message.closed) || 0
      if (waiting.answered >= waiting.expected) waiting.done()
      return
    }
    if (message.type !== 'revoke' || this.#closed) return
    let closed = 0
    let at: LogPosition | undefined
    for (const target of this.#targets) {
      try {
        const done = target.revoke(message.command)
        closed += done.closed
        if (done.at && (!at || (done.at.epoch === at.epoch && done.at.seq > at.seq))) at = done.at
      } catch {
        // A malformed command from a foreign writer: nothing closed here.
      }
    }
    const { selector } = message.command
    const keys = revocationKeys(selector.principal, selector.tag === undefined ? [] : [selector.tag])
    const answer: Message = { type: 'answer', id: message.id, from: this.#id, closed }
    // Once connected (the subscriber can be back before the command connection is).
    void this.#connected('answering a revocation')
      .then(() =>
        this.#run('answering a revocation', () =>
          this.#commands.sseRevokeAnswer(
            `${this.#options.prefix}:revoked`,
            `${this.#options.prefix}:revoked-order`,
            this.#options.prefix,
            `${this.#options.prefix}:ctl:${message.from}`,
            JSON.stringify(answer),
            at?.epoch ?? '',
            at?.seq ?? 0,
            keys.length,
            ...keys,
          ),
        ),
      )
      .catch(() => {})
  }

  async #connected(what: string): Promise<void> {
    if (this.#closed) throw new SseError('SSE_BROKER_UNAVAILABLE', 'the Redis broker is closed')
    if (this.#commands.status === 'wait') await this.#commands.connect().catch(() => {})
    if (this.#commands.status === 'ready') return
    // One wait shared by every caller: a burst during an outage adds one listener, not one each.
    if (!this.#connecting) {
      const controller = new AbortController()
      this.#connecting = answeredWithin(
        once(this.#commands, 'ready', { signal: controller.signal }).then(() => {}),
        this.#options.timeoutMs,
        'connecting',
      ).finally(() => {
        controller.abort()
        this.#connecting = undefined
      })
    }
    try {
      await this.#connecting
    } catch (error) {
      throw this.#options.unavailable(error, what)
    }
  }

  /** `promise`, or SSE_BROKER_UNAVAILABLE after the command timeout. */
  async #within<T>(promise: Promise<T>, what: string): Promise<T> {
    try {
      return await answeredWithin(promise, this.#options.timeoutMs, what)
    } catch (error) {
      throw this.#options.unavailable(error, what)
    }
  }

  async #run<T>(what: string, command: () => Promise<T>): Promise<T> {
    try {
      return await answeredWithin(command(), this.#options.timeoutMs, what)
    } catch (error) {
      throw this.#options.unavailable(error, what)
    }
  }
}
