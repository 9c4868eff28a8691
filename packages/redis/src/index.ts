/**
 * `@sse/redis`: many processes, one hub. A `Broker` for `@sse/core` on Redis, so every instance
 * behind a load balancer publishes into one log and delivers every event to its own clients, in
 * one global order, and a client that reconnects to any instance replays exactly what it missed.
 *
 * Design (learned from Centrifugo's Redis engine and Socket.IO's Redis Streams adapter):
 * - One Redis Stream per hub holds the log; each entry's id is `<seq>-0`, with `seq` from one
 *   counter, assigned together with the append in one Lua script: a total order across topics.
 * - Each instance reads the stream with a blocking XREAD from its own offset, so a Redis blip
 *   loses nothing: after reconnecting it resumes where it stopped.
 * - A replay reads the client's topics' own histories (one Stream per topic), so it costs what
 *   the client missed there, and a busy topic evicts its own history, not a quiet one's.
 * - The log has an epoch. When Redis loses the data (a flush, a restart without persistence),
 *   the next write starts a new epoch, and stale ids get an `sse-reset` instead of a silent gap.
 * - Publishing fails fast with `SseError('SSE_BROKER_UNAVAILABLE')` while Redis is unreachable:
 *   nothing is queued in memory and nothing is dropped silently.
 * - A burst is paced, not timed out: at most `maxInFlight` commands are in Redis at once, the rest
 *   wait in order (up to `maxQueued`, then `SSE_BROKER_BUSY`), so a healthy Redis never looks down.
 */

import { once } from 'node:events'
import {
  type Broker,
  type BrokerControl,
  type BrokerEntry,
  type BrokerMessage,
  createEpoch,
  DEFAULT_HISTORY_MAX_BYTES,
  type HistoryResult,
  type LogPosition,
  SseError,
} from '@sse/core'
import { Redis, type RedisOptions, ReplyError } from 'ioredis'
import { CommandGate } from './command-gate.ts'
import { DEFAULT_INSTANCE_LEASE_MS, RedisControl } from './control.ts'
import { answeredWithin } from './deadline.ts'

export { DEFAULT_INSTANCE_LEASE_MS } from './control.ts'

import { HEAD, HISTORY, POSITION, PUBLISH, SCRIPT_KEYS } from './scripts.ts'

export interface RedisBrokerOptions {
  /** A Redis URL, ioredis options, or an ioredis client (duplicated; yours stays yours). Default `redis://127.0.0.1:6379`. */
  redis?: string | RedisOptions | Redis | undefined
  /** Prefix of this hub's keys. Instances with the same prefix are one hub. Default `'sse'`. */
  prefix?: string | undefined
  /**
   * Entries kept for replay, across topics. Past it, the oldest entries of the topic holding the most
   * go, so a busy topic evicts its own history, never a quieter topic's; trims start 1/64 past it
   * and go back to it. The log the instances read live is bounded by it too (trimmed in whole
   * nodes, so a few more may stay). Default 1000.
   */
  historySize?: number | undefined
  /**
   * Bytes of entries kept for replay, across topics: the UTF-8 bytes of each entry's topic, event
   * name and data, as Redis stores them. Past it (by 1/64), the oldest entries of the topic holding
   * the most bytes go; an entry larger than this is not kept for replay. Redis holds each event twice
   * (in the live log and in its topic's history), each bounded by this: plan for up to twice this
   * in Redis memory. The live log keeps its newest entry whatever its size (instances read it
   * there). Default 64 MiB.
   */
  historyMaxBytes?: number | undefined
  /**
   * Entries older than this (ms, by Redis's clock) are not replayed: a reconnect that missed one
   * gets an `sse-reset` (`trimmed`), as with `MemoryBroker`. They leave Redis at the next publish.
   * Default: no age limit.
   */
  historyMaxAgeMs?: number | undefined
  /** A command that takes longer fails with `SSE_BROKER_UNAVAILABLE`. Default 2000 ms. */
  commandTimeoutMs?: number | undefined
  /** Entries per read of the log. Default 512. */
  readBatch?: number | undefined
  /**
   * Commands (publish, replay) sent to Redis and not answered yet, at most. More wait in order, and
   * their wait does not count against `commandTimeoutMs`. Default 64.
   */
  maxInFlight?: number | undefined
  /** Commands waiting behind those in flight, at most; past it they fail at once with `SSE_BROKER_BUSY`. Default 10 000. */
  maxQueued?: number | undefined
  /**
   * How long `ready()` keeps trying while Redis is not reachable yet (an app that starts before
   * its Redis, a deploy that starts both at once): it retries with backoff up to this long, then
   * rejects with `SSE_BROKER_UNAVAILABLE`. Default 30 000 ms.
   */
  startupTimeoutMs?: number | undefined
  /**
   * How long an instance counts as alive without renewing its lease (ms; renewed every third of
   * it): an instance killed without a goodbye drops out of `hub.presenceEverywhere()` and stops
   * being waited for by `hub.revokeEverywhere()` within this. Default 15 000.
   */
  instanceLeaseMs?: number | undefined
  /** Share who watches (principals) in cluster-wide presence, not only how many. Default `false`. */
  presencePrincipals?: boolean | undefined
}

/** Default of `RedisBrokerOptions.startupTimeoutMs`. */
export const DEFAULT_STARTUP_TIMEOUT_MS = 30_000

/** Default of `RedisBrokerOptions.maxInFlight`. */
export const DEFAULT_MAX_IN_FLIGHT = 64
/** Default of `RedisBrokerOptions.maxQueued`. */
export const DEFAULT_MAX_QUEUED = 10_000

/**
 * One page of a history answer: it ends once its events' data reach this many bytes, or once it
 * holds this many entries. The hub asks for the next page once the stream has taken this one; see
 * `Broker.history`.
 */
const HISTORY_PAGE_BYTES = 64 * 1024
const HISTORY_PAGE_ENTRIES = 1000
/** History pages in flight at once: at most 256 KiB of replies ahead of any command's answer. */
const HISTORY_IN_FLIGHT = 4

/** How long a blocking read waits before the reader re-checks the epoch. */
const IDLE_CHECK_MS = 1000

type Scripted = Redis & {
  ssePublish(...args: (string | number)[]): Promise<[string, number]>
  sseHead(...args: (string | number)[]): Promise<[string, number]>
  sseHistory(...args: (string | number)[]): Promise<(string | number)[]>
  ssePosition(...args: (string | number)[]): Promise<[string, number, number | null]>
}

function seqOf(streamId: string): number {
  return Number(streamId.slice(0, streamId.indexOf('-')))
}

/**
 * What went wrong, in our terms: ioredis words its failures after options the app never set
 * ("enableOfflineQueue", "max retries per request (which is 0)"), which we chose for it.
 */
function describeFailure(error: unknown, timeoutMs: number): string {
  const message = error instanceof Error ? error.message : String(error)
  if (error instanceof ReplyError) return `answered with an error (${message})`
  if (/timed out|took over/i.test(message)) return `did not answer within ${timeoutMs} ms`
  if (/ECONNREFUSED/.test(message)) return 'refused the connection'
  if (/max retries per request/i.test(message)) return 'closed the connection before answering'
  if (/isn't writeable|enableOfflineQueue|Connection is closed|ECONNRESET|EPIPE/i.test(message))
    return 'is not connected'
  return `failed (${message})`
}

/** Where a client connects, for messages: `host:port` (or the socket path), never credentials. */
function addressOf(redis: Redis): string {
  const { host, port, path } = redis.options
  return path ? String(path) : `${host ?? 'localhost'}:${port ?? 6379}`
}

/** True when `error` (from `#send`) means Redis is unreachable or hangs, not that it answered with an error. */
function unreachable(error: unknown): boolean {
  return (
    error instanceof SseError &&
    error.code === 'SSE_BROKER_UNAVAILABLE' &&
    !(error.cause instanceof ReplyError)
  )
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new SseError('SSE_INVALID_OPTION', `${name} must be a positive integer, got ${value}`)
  }
  return value
}

function withScripts(client: Redis): Scripted {
  client.defineCommand('ssePublish', { numberOfKeys: SCRIPT_KEYS, lua: PUBLISH })
  client.defineCommand('sseHead', { numberOfKeys: SCRIPT_KEYS, lua: HEAD })
  client.defineCommand('sseHistory', { numberOfKeys: SCRIPT_KEYS, lua: HISTORY })
  client.defineCommand('ssePosition', { numberOfKeys: SCRIPT_KEYS, lua: POSITION })
  return client as Scripted
}

/**
 * A `Broker` on Redis.
 *
 * @example
 * import { createHub } from '@sse/core'
 * import { RedisBroker } from '@sse/redis'
 *
 * const hub = createHub({ broker: new RedisBroker({ redis: process.env.REDIS_URL, prefix: 'sse:app' }) })
 */
export class RedisBroker implements Broker {
  /** The scripts' KEYS, in order (see scripts.ts). */
  readonly #keys: [
    epoch: string,
    seq: string,
    log: string,
    history: string,
    byCount: string,
    bytes: string,
    sizes: string,
    byBytes: string,
    evicted: string,
    topicPrefix: string,
    indexPrefix: string,
  ]
  readonly #historySize: number
  readonly #historyMaxBytes: number
  /** 0: no age limit. */
  readonly #historyMaxAgeMs: number
  readonly #readBatch: number
  readonly #timeoutMs: number
  readonly #startupTimeoutMs: number
  readonly #commands: Scripted
  /** Paces the command connection: a burst waits its turn instead of timing out in ioredis. */
  readonly #gate: CommandGate
  /**
   * History pages in flight, at most `HISTORY_IN_FLIGHT`: a page is a large reply, and a reply
   * waits for every one ahead of it on the connection, so a reconnect storm of 50 clients would
   * otherwise put MBs of replies ahead of the last page and time it out on a healthy but busy Redis.
   */
  readonly #historyGate: CommandGate
  readonly #reader: Scripted
  readonly #listeners = new Set<(entry: BrokerEntry) => void>()
  readonly #gapListeners = new Set<(error: SseError) => void>()
  /** The hubs' publisher backpressure: the reader awaits these before reading more of the log. */
  readonly #readyChecks = new Set<() => Promise<void>>()
  #reading: Promise<void> | undefined
  /** The command client's pending connection, while it is not ready. */
  #connecting: Promise<unknown> | undefined
  /** Resolves once the reader knows where it starts: publishes wait for it, so none is missed locally. */
  #started: Promise<void> | undefined
  #epoch: string | undefined
  #lastId = '0-0'
  #checkPosition = true
  #closed = false
  /** Since when the command connection has been down (for messages), or undefined while it is up. */
  #downSince: number | undefined
  /** Ends the read loop's pause at once when the broker closes. */
  #wake: (() => void) | undefined

  constructor(options: RedisBrokerOptions = {}) {
    const prefix = options.prefix ?? 'sse'
    this.#keys = [
      `${prefix}:epoch`,
      `${prefix}:seq`,
      `${prefix}:log`,
      `${prefix}:history`,
      `${prefix}:history:by-count`,
      `${prefix}:bytes`,
      `${prefix}:sizes`,
      `${prefix}:history:by-bytes`,
      `${prefix}:history:evicted`,
      `${prefix}:topic:`,
      `${prefix}:topic-index:`,
    ]
    this.#historySize = positiveInteger('historySize', options.historySize ?? 1000)
    this.#historyMaxBytes = positiveInteger(
      'historyMaxBytes',
      options.historyMaxBytes ?? DEFAULT_HISTORY_MAX_BYTES,
    )
    this.#gate = new CommandGate(
      positiveInteger('maxInFlight', options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT),
      positiveInteger('maxQueued', options.maxQueued ?? DEFAULT_MAX_QUEUED),
    )
    const maxAge = options.historyMaxAgeMs ?? 0
    if (options.historyMaxAgeMs !== undefined && !(Number.isSafeInteger(maxAge) && maxAge > 0)) {
      throw new SseError(
        'SSE_INVALID_OPTION',
        `historyMaxAgeMs must be a positive integer (ms), got ${String(maxAge)}`,
      )
    }
    this.#historyMaxAgeMs = maxAge
    this.#historyGate = new CommandGate(HISTORY_IN_FLIGHT, options.maxQueued ?? DEFAULT_MAX_QUEUED)
    this.#readBatch = options.readBatch ?? 512
    this.#timeoutMs = options.commandTimeoutMs ?? 2000
    this.#startupTimeoutMs = positiveInteger(
      'startupTimeoutMs',
      options.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS,
    )
    const given = options.redis
    const base = given instanceof Redis ? given : undefined
    const settings: RedisOptions = typeof given === 'object' && !base ? (given as RedisOptions) : {}
    const url = typeof given === 'string' ? given : undefined
    const make = (extra: RedisOptions): Redis => {
      // RESP2: the reply shapes this file parses (XREAD as [[key, entries]]), whatever the server speaks.
      if (base) return base.duplicate({ ...extra, protocol: 2, lazyConnect: true })
      const all = { ...settings, ...extra, protocol: 2 as const, lazyConnect: true }
      return url ? new Redis(url, all) : new Redis(all)
    }
    // Commands fail fast while Redis is down (no offline queue): a publish is an error, never a
    // silent wait. And a command that failed is never sent again on reconnect: ioredis would
    // otherwise re-run a publish already answered with SSE_BROKER_UNAVAILABLE, minutes later,
    // after newer events (seen in the cluster's outage test: attempt 17 delivered after 25).
    // Commands are timed by `answeredWithin` (./deadline.ts), not by ioredis's `commandTimeout`
    // (unset, whatever the app's options say: ioredis takes even 0 as a timeout), which a busy
    // event loop can fake.
    this.#commands = withScripts(
      make({
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        autoResendUnfulfilledCommands: false,
        commandTimeout: undefined,
      }),
    )
    // The reader waits through outages and re-reads its position after each reconnect. Its commands
    // fail as soon as the connection drops (maxRetriesPerRequest 0 rejects a read in flight) and at
    // once while it is down (no offline queue): ioredis would otherwise settle them only by their
    // timeout, even after disconnect(), and close() would wait that long. The timeout
    // (`answeredWithin`) stays for a connection that hangs without closing.
    this.#reader = withScripts(
      make({
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        autoResendUnfulfilledCommands: false,
        commandTimeout: undefined,
      }),
    )
    this.#commands.on('error', () => {})
    this.#commands.on('close', () => {
      this.#downSince ??= Date.now()
    })
    this.#commands.on('ready', () => {
      this.#downSince = undefined
    })
    this.#reader.on('error', () => {})
    this.#reader.on('ready', () => {
      this.#checkPosition = true
    })
    // Revocation and presence across instances: connections of their own, started by a hub.
    this.#control = new RedisControl({
      connect: make,
      prefix,
      timeoutMs: this.#timeoutMs,
      startupTimeoutMs: this.#startupTimeoutMs,
      leaseMs: positiveInteger('instanceLeaseMs', options.instanceLeaseMs ?? DEFAULT_INSTANCE_LEASE_MS),
      principals: options.presencePrincipals ?? false,
      unavailable: (error, what) => this.#unavailable(error, what),
    })
  }

  /**
   * Resolves once this instance reads the log from a known position, so that every event
   * published anywhere from then on reaches its streams. Await it before serving: until the
   * position is known (one round trip), an event published by another instance could reach
   * none of the streams that subscribed here meanwhile. It also waits until this instance holds
   * its lease and hears revocations from the others. While Redis is not reachable it keeps
   * trying, with backoff, for up to `startupTimeoutMs` (default 30 s), then rejects with
   * `SSE_BROKER_UNAVAILABLE` (reading goes on in the background; call it again).
   *
   * @example
   * const broker = new RedisBroker({ redis: process.env.REDIS_URL })
   * const hub = createHub({ broker })
   * await broker.ready()
   * app.listen(3000)
   */
  async ready(): Promise<void> {
    this.#reading ??= this.#read()
    // While Redis is not up yet, keep trying (ioredis reconnects meanwhile), with backoff, up to
    // startupTimeoutMs: waiting for Redis at startup is the broker's job, not a loop in every app.
    const deadline = Date.now() + this.#startupTimeoutMs
    for (let wait = 100; ; wait = Math.min(wait * 2, 2000)) {
      try {
        await this.#connected()
        // Revocations and presence reach this instance from here on, too.
        await this.#control.ready()
        return
      } catch (error) {
        const left = deadline - Date.now()
        if (this.#closed || left <= 0) {
          if (this.#closed || !(error instanceof SseError)) throw error
          throw new SseError(
            'SSE_BROKER_UNAVAILABLE',
            `${error.message.replace(/; check that it is running and reachable, then retry$/, '')}, still after trying for ${this.#startupTimeoutMs} ms (startupTimeoutMs); check that it is running and reachable`,
            { cause: error.cause ?? error },
          )
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(wait, left)))
      }
    }
  }

  async publish(topic: string, message: BrokerMessage): Promise<BrokerEntry> {
    const [epoch, seq] = await this.#send(`publishing to '${topic}'`, () =>
      this.#commands.ssePublish(
        ...this.#keys,
        createEpoch(),
        topic,
        message.event ?? '',
        message.data,
        this.#historySize,
        this.#historyMaxBytes,
        this.#historyMaxAgeMs,
      ),
    )
    return { topic, event: message.event, data: message.data, epoch, seq: Number(seq) }
  }

  subscribe(
    listener: (entry: BrokerEntry) => void,
    onGap?: (error: SseError) => void,
    ready?: () => Promise<void>,
  ): () => void {
    this.#listeners.add(listener)
    if (onGap) this.#gapListeners.add(onGap)
    if (ready) this.#readyChecks.add(ready)
    this.#reading ??= this.#read()
    return () => {
      this.#listeners.delete(listener)
      if (onGap) this.#gapListeners.delete(onGap)
      if (ready) this.#readyChecks.delete(ready)
    }
  }

  async history(topics: readonly string[], after: LogPosition): Promise<HistoryResult> {
    const reply = await this.#historyGate.run(
      () =>
        this.#send('reading history for a replay', () =>
          this.#commands.sseHistory(
            ...this.#keys,
            createEpoch(),
            after.epoch,
            after.seq,
            HISTORY_PAGE_BYTES,
            HISTORY_PAGE_ENTRIES,
            this.#historyMaxAgeMs,
            ...topics,
          ),
        ),
      unreachable,
    )
    const epoch = String(reply[1])
    const head = { epoch, seq: Number(reply[2]) }
    if (reply[0] === 'reset')
      return { kind: 'reset', reason: reply[3] as 'epoch' | 'trimmed' | 'unknown', head }
    const next = reply[3] === '' ? undefined : { epoch, seq: Number(reply[3]) }
    const entries: BrokerEntry[] = []
    for (let i = 4; i < reply.length; i += 4) {
      const event = String(reply[i + 2])
      entries.push({
        epoch,
        seq: seqOf(String(reply[i])),
        topic: String(reply[i + 1]),
        event: event === '' ? undefined : event,
        data: String(reply[i + 3]),
      })
    }
    return next ? { kind: 'ok', entries, head, next } : { kind: 'ok', entries, head }
  }

  async head(): Promise<LogPosition> {
    const [epoch, seq] = await this.#send('reading the log head', () =>
      this.#commands.sseHead(...this.#keys, createEpoch()),
    )
    return { epoch, seq: Number(seq) }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#listeners.clear()
    this.#gapListeners.clear()
    this.#readyChecks.clear()
    await this.#control.close()
    this.#reader.disconnect()
    this.#commands.disconnect()
    this.#wake?.()
    await this.#reading?.catch(() => {})
  }

  /** Waits `ms`, or less when the broker closes meanwhile. */
  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = undefined
        resolve()
      }, ms)
      this.#wake = () => {
        clearTimeout(timer)
        this.#wake = undefined
        resolve()
      }
    })
  }

  /**
   * A failure as the app should read it: which Redis, what we were doing, what happened and for
   * how long it has been unreachable; ioredis's own error as the `cause`.
   */
  #unavailable(error: unknown, what: string): SseError {
    if (error instanceof SseError) return error
    const down = this.#downSince === undefined ? 0 : Date.now() - this.#downSince
    const since = down >= 1000 ? ` (unreachable for ${Math.round(down / 1000)} s)` : ''
    return new SseError(
      'SSE_BROKER_UNAVAILABLE',
      `Redis at ${addressOf(this.#commands)} ${describeFailure(error, this.#timeoutMs)} while ${what}${since}; check that it is running and reachable, then retry`,
      { cause: error },
    )
  }

  /** Connects the command client on first use; fails with SSE_BROKER_UNAVAILABLE when Redis is down. */
  async #connected(): Promise<void> {
    if (this.#closed) throw new SseError('SSE_BROKER_UNAVAILABLE', 'the Redis broker is closed')
    if (this.#commands.status === 'wait') this.#commands.connect().catch(() => {})
    if (this.#commands.status !== 'ready') {
      // One wait shared by every caller: concurrent publishes during an outage add one listener, not one each.
      this.#connecting ??= this.#within(
        (signal) => once(this.#commands, 'ready', { signal }),
        'connecting',
      ).finally(() => {
        this.#connecting = undefined
      })
      await this.#connecting
    }
    const started = this.#started
    if (started) await this.#within(() => started, 'reading the log position')
  }

  /**
   * `wait(signal)`, or SSE_BROKER_UNAVAILABLE after the command timeout. The signal aborts on
   * timeout, so a wait on the client (a listener) does not outlive the call that gave up on it.
   */
  async #within<T>(wait: (signal: AbortSignal) => Promise<T>, what: string): Promise<T> {
    const controller = new AbortController()
    try {
      return await answeredWithin(wait(controller.signal), this.#timeoutMs, what)
    } catch (error) {
      throw this.#unavailable(error, what)
    } finally {
      controller.abort()
    }
  }

  /** One command on the command connection, through the gate, once connected; failures as `SseError`. */
  #send<T>(what: string, command: () => Promise<T>): Promise<T> {
    return this.#gate.run(async () => {
      await this.#connected()
      try {
        return await answeredWithin(command(), this.#timeoutMs, what)
      } catch (error) {
        throw this.#unavailable(error, what)
      }
    }, unreachable)
  }

  /** The read loop: from the last entry read, in order, through any number of reconnects. */
  async #read(): Promise<void> {
    let markStarted: () => void = () => {}
    this.#started = new Promise((resolve) => {
      markStarted = resolve
    })
    if (this.#reader.status === 'wait') this.#reader.connect().catch(() => {})
    while (!this.#closed) {
      try {
        await this.#paced()
        if (this.#checkPosition) {
          await this.#position()
          this.#checkPosition = false
          markStarted()
        }
        const reply = (await answeredWithin(
          this.#reader.call(
            'XREAD',
            'COUNT',
            this.#readBatch,
            'BLOCK',
            IDLE_CHECK_MS,
            'STREAMS',
            this.#keys[2],
            this.#lastId,
          ),
          IDLE_CHECK_MS + this.#timeoutMs,
          'reading the log',
        )) as [string, [string, string[]][]][] | null
        if (!reply) {
          // Idle for a while: look at the epoch again, in case Redis was flushed under us (then
          // new entries have smaller ids than our offset and would never show up).
          this.#checkPosition = true
          continue
        }
        for (const [, items] of reply) {
          for (const [id, fields] of items) {
            // Fields are written in this order by the publish script: t, e, d, p.
            if (fields[7] !== undefined && fields[7] !== this.#epoch) {
              // A new log under our offset (Redis flushed while we stayed connected): #position reports it.
              this.#checkPosition = true
              break
            }
            const seq = seqOf(id)
            if (seq !== seqOf(this.#lastId) + 1) {
              // Seqs have no holes: the entries in between were trimmed before this instance read them.
              this.#gap(
                'events were trimmed from Redis before this instance could read them; clients resume from history',
              )
            }
            this.#lastId = id
            this.#deliver(seq, fields)
          }
        }
      } catch {
        if (this.#closed) return
        // Disconnected: the reader reconnects by itself; re-check the position before reading on.
        this.#checkPosition = true
        await this.#pause(50)
      }
    }
  }

  /**
   * Waits while local streams are congested (each hub's `ready()`, bounded by its streams'
   * `slowAfterMs`): the entries stay in Redis meanwhile, so a burst costs no memory here and a
   * healthy reader loses nothing. One turn first, so the hubs have written what was just delivered.
   */
  async #paced(): Promise<void> {
    await undefined
    if (this.#readyChecks.size === 0) return
    await Promise.all(Array.from(this.#readyChecks, (ready) => ready()))
  }

  /** Where to read from after a (re)connect, and whether entries were lost meanwhile. */
  async #position(): Promise<void> {
    const lastSeq = seqOf(this.#lastId)
    const [epoch, head, firstKept] = await answeredWithin(
      this.#reader.ssePosition(...this.#keys, createEpoch(), this.#epoch ?? '', lastSeq),
      this.#timeoutMs,
      'reading the log position',
    )
    if (this.#epoch === undefined) {
      // First start: live from now.
      this.#epoch = epoch
      this.#lastId = `${head}-0`
      return
    }
    const lostStore = epoch !== this.#epoch
    const trimmedUnread = !lostStore && firstKept !== null && firstKept > lastSeq + 1
    if (lostStore || trimmedUnread) {
      this.#epoch = epoch
      this.#lastId = `${head}-0`
      this.#gap(
        lostStore
          ? 'Redis lost the event log, or its last entries (flushed, restarted without persistence or from older data); clients resume with a reset'
          : 'events were trimmed from Redis before this instance could read them; clients resume from history',
      )
    }
  }

  /** Live entries were lost: the hub closes its streams, which resume from history or get a reset. */
  #gap(message: string): void {
    const error = new SseError('SSE_BROKER_GAP', message)
    for (const onGap of this.#gapListeners) onGap(error)
  }

  #deliver(seq: number, fields: string[]): void {
    const event = fields[3] ?? ''
    const entry: BrokerEntry = {
      epoch: this.#epoch ?? '',
      seq,
      topic: fields[1] ?? '',
      event: event === '' ? undefined : event,
      data: fields[5] ?? '',
    }
    for (const listener of this.#listeners) listener(entry)
  }

  readonly #control: RedisControl

  /**
   * Revocation and presence across every instance with this prefix, for the hub
   * (`hub.revokeEverywhere()`, `hub.presenceEverywhere()`, the `presence` event).
   */
  get control(): BrokerControl {
    return this.#control
  }
}
