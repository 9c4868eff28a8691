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
 *   revoker's channel with its count. Pub/sub, so that an answer means the instance had it now;
 *   an instance that misses one is reported as missing (and its clients' resumes are still
 *   checked against `<prefix>:revoked`).
 * - **Catching up.** The same script appends the command to `<prefix>:revocations` (a Stream of
 *   the last 10,000; `:trimmed-to` keeps the id of the last one dropped) and sends each instance
 *   its log id with it. An instance cut off from its channel (Redis restarted, the connection
 *   dropped, a SUBSCRIBE refused) reads, once it listens again, every revocation after the last
 *   one it had, and applies those it had not: a banned user's stream does not stay open on the
 *   instance that was away. If the log dropped some it never saw, it closes all its streams.
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
  | {
      readonly type: 'revoke'
      readonly id: string
      readonly from: string
      readonly command: RevokeCommand
      /** Its id in the revocation log, added by the script that sends it. */
      readonly log?: string
    }
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

/** Revocations read from the log per command while catching up. */
const CATCH_UP_PAGE = 500
/** Log ids of applied revocations remembered (halved when past it). */
const APPLIED_KEPT = 1024

/** Orders two stream ids (`<ms>-<seq>`). */
function compareIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number)
  const [bm = 0, bs = 0] = b.split('-').map(Number)
  return am === bm ? as - bs : am - bm
}

function parseMessage(text: string): Message | undefined {
  try {
    const message = JSON.parse(text) as Message
    return typeof message === 'object' && message !== null ? message : undefined
  } catch {
    return undefined
  }
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
  readonly #revocationLog: string
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
  /** The revocation log's id up to which this instance has every revocation (live or caught up). */
  #seenUpTo = '0-0'
  /** Listening without a break since `#seenUpTo` was read: a live revocation moves it on. */
  #continuous = false
  /** Log ids of the revocations applied here lately (live ones during a catch-up are not applied twice). */
  readonly #applied = new Set<string>()
  #catchingUp: Promise<void> | undefined
  #catchUpAgain = false
  #catchUpTimer: ReturnType<typeof setTimeout> | undefined
  #closed = false

  constructor(options: RedisControlOptions) {
    this.#options = options
    this.#channel = `${options.prefix}:ctl:${this.#id}`
    this.#leases = `${options.prefix}:presence:leases`
    this.#revocationLog = `${options.prefix}:revocations`
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
      ['sseRevoke', REVOKE, 5],
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
    // Cut off: revocations sent meanwhile are read from the log once it listens again.
    this.#subscriber.on('close', () => {
      this.#continuous = false
    })
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
    let entry: string
    try {
      await this.#connected('revoking streams')
      ;[sent, missed, entry] = await this.#run('revoking streams', () =>
        this.#commands.sseRevoke(
          this.#leases,
          `${this.#options.prefix}:revoked`,
          `${this.#options.prefix}:revoked-order`,
          this.#revocationLog,
          `${this.#revocationLog}:trimmed-to`,
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
    this.#markOwn(entry)
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
    clearTimeout(this.#catchUpTimer)
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
        // Every revocation from here on comes live; the log's end is where a catch-up would start.
        const tail = (await this.#run('reading the revocation log', () =>
          this.#commands.xrevrange(this.#revocationLog, '+', '-', 'COUNT', 1),
        )) as [string, string[]][]
        if (tail[0] && compareIds(tail[0][0], this.#seenUpTo) > 0) this.#seenUpTo = tail[0][0]
        this.#continuous = this.#subscriber.status === 'ready'
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
   * This instance's own revocation (log id `entry`) never comes to it live, so it would not move
   * `#seenUpTo`: 10,000 of its own and the log's trim would pass it, and the next catch-up would
   * close every stream here for revocations it had made itself. A PING on the subscriber is
   * answered after every message published before it on that connection, so once it is answered
   * without a break in listening, every revocation up to `entry` has been seen here.
   */
  #markOwn(entry: string): void {
    if (!this.#continuous) return
    this.#subscriber.ping().then(
      () => {
        if (this.#continuous && compareIds(entry, this.#seenUpTo) > 0) this.#seenUpTo = entry
      },
      () => {},
    )
  }

  /**
   * Back on the control channel after a reconnect. A refused SUBSCRIBE (an ACL, a Redis still
   * loading) is tried again with backoff up to 5 s while the connection stays up; a reconnect starts
   * over. Until it succeeds, a revocation from another instance counts this one as missing; once
   * it does, the revocations sent meanwhile are read from the log and applied (`#catchUp`).
   */
  #resubscribe(attempt: number): void {
    clearTimeout(this.#resubscribeTimer)
    if (this.#closed || !this.#listening || this.#subscriber.status !== 'ready') return
    this.#subscriber.subscribe(this.#channel).then(
      () => this.#catchUp(0),
      () => {
        if (this.#closed || this.#subscriber.status !== 'ready') return
        this.#resubscribeTimer = setTimeout(
          () => this.#resubscribe(attempt + 1),
          Math.min(100 * 2 ** attempt, 5000),
        )
        this.#resubscribeTimer.unref?.()
      },
    )
  }

  /**
   * Applies the revocations this instance missed while it was not listening (see `#readMissed`).
   * One at a time: asked again while one runs, it runs once more after. Retried with backoff
   * while Redis does not answer.
   */
  #catchUp(attempt: number): void {
    clearTimeout(this.#catchUpTimer)
    if (this.#closed || this.#continuous) return
    if (this.#catchingUp) {
      this.#catchUpAgain = true
      return
    }
    let failed = false
    this.#catchingUp = this.#readMissed()
      .catch(() => {
        failed = true
      })
      .finally(() => {
        this.#catchingUp = undefined
        if (this.#closed || !(failed || this.#catchUpAgain)) return
        this.#catchUpAgain = false
        this.#catchUpTimer = setTimeout(
          () => this.#catchUp(failed ? attempt + 1 : 0),
          failed ? Math.min(100 * 2 ** attempt, 5000) : 0,
        )
        this.#catchUpTimer.unref?.()
      })
  }

  /**
   * The log's revocations after `#seenUpTo`, but its own and those already applied live. If the
   * log dropped some this instance never saw (over 10,000 revocations while it was cut off), it
   * cannot know whom they named: it closes every stream here (fail closed: they reconnect through
   * `authorize`).
   */
  async #readMissed(): Promise<void> {
    // Listening from before the read: whatever is sent from now on also comes live.
    const listening = this.#subscriber.status === 'ready'
    const from = this.#seenUpTo
    await this.#connected('reading missed revocations')
    const trimmedTo = await this.#run('reading missed revocations', () =>
      this.#commands.get(`${this.#revocationLog}:trimmed-to`),
    )
    let after = from
    for (;;) {
      const page = (await this.#run('reading missed revocations', () =>
        this.#commands.xrange(this.#revocationLog, `(${after}`, '+', 'COUNT', CATCH_UP_PAGE),
      )) as [string, string[]][]
      for (const [id, fields] of page) {
        after = id
        const text = fields[fields.indexOf('m') + 1]
        if (text === undefined || this.#applied.has(id)) continue
        const message = parseMessage(text)
        if (message?.type === 'revoke' && message.from !== this.#id) this.#apply(id, message)
      }
      if (page.length < CATCH_UP_PAGE) break
    }
    if (trimmedTo !== null && compareIds(trimmedTo, from) > 0) {
      for (const target of this.#targets) {
        for (const topic of Array.from(target.topics())) {
          try {
            target.revoke({ selector: { topic } })
          } catch {
            // nothing closed for that topic
          }
        }
      }
    }
    if (compareIds(after, this.#seenUpTo) > 0) this.#seenUpTo = after
    if (listening && this.#subscriber.status === 'ready' && !this.#catchUpAgain) this.#continuous = true
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
    const message = parseMessage(text)
    if (!message) return
    if (message.type === 'answer') {
      const waiting = this.#waiting.get(message.id)
      if (!waiting) return
      waiting.answered++
      waiting.closed += Number(message.closed) || 0
      if (waiting.answered >= waiting.expected) waiting.done()
      return
    }
    if (message.type !== 'revoke' || this.#closed) return
    // Its id in the revocation log (none from an instance of an older version).
    const id = typeof message.log === 'string' ? message.log : undefined
    if (id !== undefined) {
      if (this.#applied.has(id)) return
      // Listening without a break: every revocation up to this one has reached this instance.
      if (this.#continuous && compareIds(id, this.#seenUpTo) > 0) this.#seenUpTo = id
    }
    this.#apply(id, message)
  }

  /** Closes this instance's streams for a revocation, raises its mark to where they stood, and answers. */
  #apply(id: string | undefined, message: Extract<Message, { type: 'revoke' }>): void {
    if (id !== undefined) {
      this.#applied.add(id)
      if (this.#applied.size > APPLIED_KEPT) {
        for (const old of this.#applied) {
          this.#applied.delete(old)
          if (this.#applied.size <= APPLIED_KEPT / 2) break
        }
      }
    }
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
    // Only 'ready' ends the wait (an 'error' while ioredis reconnects does not), or the timeout.
    if (!this.#connecting) {
      let ready = () => {}
      this.#connecting = answeredWithin(
        new Promise<void>((resolve) => {
          ready = resolve
          this.#commands.once('ready', ready)
        }),
        this.#options.timeoutMs,
        'connecting',
      ).finally(() => {
        this.#commands.off('ready', ready)
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
