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

export interface RedisBrokerOptions {
  /** A Redis URL, ioredis options, or an ioredis client (duplicated; yours stays yours). Default `redis://127.0.0.1:6379`. */
  redis?: string | RedisOptions | Redis | undefined
  /** Prefix of this hub's keys. Instances with the same prefix are one hub. Default `'sse'`. */
  prefix?: string | undefined
  /** Entries kept for replay, across topics (Redis trims in whole nodes, so a few more may stay). Default 1000. */
  historySize?: number | undefined
  /**
   * Bytes of entries kept for replay, across topics: the UTF-8 bytes of each entry's topic, event
   * name and data, as Redis stores them. The oldest go first, except the newest entry, which stays
   * whatever its size (instances read events from the log). Default 64 MiB.
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
}

/** Default of `RedisBrokerOptions.startupTimeoutMs`. */
export const DEFAULT_STARTUP_TIMEOUT_MS = 30_000

/** Default of `RedisBrokerOptions.maxInFlight`. */
export const DEFAULT_MAX_IN_FLIGHT = 64
/** Default of `RedisBrokerOptions.maxQueued`. */
export const DEFAULT_MAX_QUEUED = 10_000

/** Appends when the epoch is there (else starts a new one: the data was lost), returns {epoch, seq}. */
const ENSURE_EPOCH = `
local epoch = redis.call('GET', KEYS[1])
if not epoch or redis.call('EXISTS', KEYS[2]) == 0 then
  epoch = ARGV[1]
  redis.call('SET', KEYS[1], epoch)
  redis.call('SET', KEYS[2], 0)
  redis.call('DEL', KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7])
end
`

/**
 * Time and age in the log, for PUBLISH and HISTORY: Redis's clock in ms (one clock for every
 * instance), and the seq of the first entry from `from` on that is not older than `cutoff`
 * (entries written before times were kept count as fresh). It reads one entry, then more in
 * growing batches: most calls find the oldest entry fresh, and XRANGE copies whole entries.
 */
const AGE = `
local function nowMs()
  local clock = redis.call('TIME')
  return tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
end
local function firstFresh(from, cutoff)
  local want = 1
  while true do
    local batch = redis.call('XRANGE', KEYS[3], from .. '-0', '+', 'COUNT', want)
    for _, entry in ipairs(batch) do
      local m = entry[2][10]
      local at = tonumber(string.match(entry[1], '^(%d+)'))
      if m == nil or tonumber(m) > cutoff then return at end
      from = at + 1
    end
    if #batch < want then return from end
    want = math.min(want * 2, 32)
  end
end
`

/** Topics whose last seq is kept one by one; past it the least recently published merge into one floor. */
const MAX_TRACKED_TOPICS = 10_000

// KEYS: epoch, seq, log, last seq per topic (a sorted set), floor of the untracked topics, bytes
// of the log, size of each entry (a list, oldest first, of the log's newest entries).
// ARGV: candidate epoch, topic, event, data, history size, history max bytes, history max age (ms, 0: none).
// Each entry carries its epoch ('p'), so a reader can tell a new log's entries from its old one's,
// and the time Redis appended it ('m', ms, from Redis's own clock: one clock for every instance).
//
// The byte bound: the log holds consecutive seqs up to the head (trimming only ever removes the
// oldest), so its first seq is `seq - len + 1`, and the oldest entries go with one XTRIM MINID: the
// log stays a suffix, which HISTORY's "first seq > after + 1" check and the readers' gap checks rely
// on. Sizes live in their own list, so trimming never reads an entry's data. When MAXLEN trimmed the
// log, the list's head is dropped to match; a log older than the list (written before sizes were
// kept) counts as size 0 and is trimmed first. The total is re-summed from the list if it is lost.
const PUBLISH = `${ENSURE_EPOCH}${AGE}
local seq = redis.call('INCR', KEYS[2])
local now = nowMs()
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], seq .. '-0', 't', ARGV[2], 'e', ARGV[3], 'd', ARGV[4], 'p', epoch, 'm', now)
redis.call('ZADD', KEYS[4], seq, ARGV[2])
local extra = redis.call('ZCARD', KEYS[4]) - ${MAX_TRACKED_TOPICS}
if extra > 0 then
  local popped = redis.call('ZPOPMIN', KEYS[4], extra)
  redis.call('SET', KEYS[5], popped[#popped])
end
local size = #ARGV[2] + #ARGV[3] + #ARGV[4]
local listed = redis.call('RPUSH', KEYS[7], size)
local total = redis.call('GET', KEYS[6])
if total then
  total = tonumber(total) + size
else
  total = 0
  for _, each in ipairs(redis.call('LRANGE', KEYS[7], 0, -1)) do total = total + tonumber(each) end
end
local len = redis.call('XLEN', KEYS[3])
if listed > len then
  for _, each in ipairs(redis.call('LRANGE', KEYS[7], 0, listed - len - 1)) do total = total - tonumber(each) end
  redis.call('LTRIM', KEYS[7], listed - len, -1)
  listed = len
end
local maxAge = tonumber(ARGV[7])
if maxAge > 0 then
  -- The oldest entries past the age go first, as the byte bound's do (the log stays a suffix). An
  -- entry without a time (written before times were kept) stays until a count or byte trim.
  local expired = firstFresh(seq - len + 1, now - maxAge) - (seq - len + 1)
  if expired > 0 then
    local pop = expired - (len - listed)
    if pop > 0 then
      for _, each in ipairs(redis.call('LRANGE', KEYS[7], 0, pop - 1)) do total = total - tonumber(each) end
      redis.call('LTRIM', KEYS[7], pop, -1)
      listed = listed - pop
    end
    redis.call('XTRIM', KEYS[3], 'MINID', (seq - len + 1 + expired) .. '-0')
    len = len - expired
  end
end
local max = tonumber(ARGV[6])
if total > max and len > 1 then
  local drop = len - listed
  local popped = 0
  while total > max and len - drop > 1 do
    local chunk = redis.call('LRANGE', KEYS[7], popped, popped + 127)
    if #chunk == 0 then break end
    for _, each in ipairs(chunk) do
      if total <= max or len - drop <= 1 then break end
      total = total - tonumber(each)
      popped = popped + 1
      drop = drop + 1
    end
  end
  if popped > 0 then redis.call('LTRIM', KEYS[7], popped, -1) end
  if drop > 0 then redis.call('XTRIM', KEYS[3], 'MINID', (seq - len + 1 + drop) .. '-0') end
end
redis.call('SET', KEYS[6], total)
return {epoch, seq}
`

const HEAD = `${ENSURE_EPOCH}
return {epoch, tonumber(redis.call('GET', KEYS[2]))}
`

// ARGV: candidate epoch, the client's epoch, the client's seq, page bytes, page scan, history max
// age (ms, 0: none), topics… Entries past the age count as trimmed, though the next publish removes them.
// Returns {kind, epoch, head, reason} or {'ok', epoch, head, next, entries as id, topic, event, data, …}.
// One page: at most \`page scan\` log entries are read, and the page ends once the data of its
// entries reaches \`page bytes\`; \`next\` is then the seq it is complete up to ('' when it reached
// the head). A reconnect with an old id copies one page at a time out of Redis, not the whole log.
const HISTORY = `${ENSURE_EPOCH}${AGE}
local head = tonumber(redis.call('GET', KEYS[2]))
if epoch ~= ARGV[2] then return {'reset', epoch, head, 'epoch'} end
local after = tonumber(ARGV[3])
if after > head then return {'reset', epoch, head, 'unknown'} end
local out = {'ok', epoch, head, ''}
if after == head then return out end
local first = redis.call('XRANGE', KEYS[3], '-', '+', 'COUNT', 1)
local firstSeq = head + 1
if #first > 0 then firstSeq = tonumber(string.match(first[1][1], '^(%d+)')) end
local maxAge = tonumber(ARGV[6])
if maxAge > 0 then firstSeq = firstFresh(firstSeq, nowMs() - maxAge) end
if firstSeq > after + 1 then
  local floor = tonumber(redis.call('GET', KEYS[5]) or '0')
  for i = 7, #ARGV do
    local last = redis.call('ZSCORE', KEYS[4], ARGV[i])
    if (last and tonumber(last) or floor) > after then
      return {'reset', epoch, head, 'trimmed'}
    end
  end
end
local pageBytes = tonumber(ARGV[4])
local pageScan = tonumber(ARGV[5])
local wanted = {}
for i = 7, #ARGV do wanted[ARGV[i]] = true end
-- In small batches: XRANGE materializes every entry it returns, data included, so one call of
-- \`page scan\` entries would copy MBs into the script to use a few of them.
local bytes = 0
local n = 0
local start = math.max(after + 1, firstSeq)
while n < pageScan do
  local want = math.min(32, pageScan - n)
  local batch = redis.call('XRANGE', KEYS[3], start .. '-0', '+', 'COUNT', want)
  for _, entry in ipairs(batch) do
    n = n + 1
    local fields = entry[2]
    if wanted[fields[2]] then
      out[#out + 1] = entry[1]
      out[#out + 1] = fields[2]
      out[#out + 1] = fields[4]
      out[#out + 1] = fields[6]
      bytes = bytes + #fields[4] + #fields[6]
    end
    local seq = string.match(entry[1], '^(%d+)')
    if tonumber(seq) < head and (bytes >= pageBytes or n == pageScan) then
      out[4] = seq
      return out
    end
    start = tonumber(seq) + 1
  end
  if #batch < want then break end
end
return out
`

// The reader's position check: {epoch, head, first seq kept}. ARGV: candidate epoch.
// ARGV: candidate epoch, the reader's epoch ('' at first start), the last seq it read.
// A log behind what the reader already read, in the same epoch, lost its last writes (a crash with
// appendfsync everysec, a failover to a lagging replica, an older backup): their seqs would be
// handed out again to other events, so it starts a new epoch, as if it had lost everything.
const POSITION = `${ENSURE_EPOCH}
if epoch == ARGV[2] and tonumber(redis.call('GET', KEYS[2])) < tonumber(ARGV[3]) then
  epoch = ARGV[1]
  redis.call('SET', KEYS[1], epoch)
  redis.call('SET', KEYS[2], 0)
  redis.call('DEL', KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7])
end
local first = redis.call('XRANGE', KEYS[3], '-', '+', 'COUNT', 1)
local firstSeq = false
if #first > 0 then firstSeq = tonumber(string.match(first[1][1], '^(%d+)')) end
return {epoch, tonumber(redis.call('GET', KEYS[2])), firstSeq}
`

/**
 * One page of a history answer: it ends once its events' data reach this many bytes, or after
 * this many log entries were read (of any topic). The hub asks for the next page once the stream
 * has taken this one; see `Broker.history`.
 */
const HISTORY_PAGE_BYTES = 64 * 1024
const HISTORY_PAGE_SCAN = 1000
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
  client.defineCommand('ssePublish', { numberOfKeys: 7, lua: PUBLISH })
  client.defineCommand('sseHead', { numberOfKeys: 7, lua: HEAD })
  client.defineCommand('sseHistory', { numberOfKeys: 7, lua: HISTORY })
  client.defineCommand('ssePosition', { numberOfKeys: 7, lua: POSITION })
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
  readonly #keys: [
    epoch: string,
    seq: string,
    log: string,
    topics: string,
    floor: string,
    bytes: string,
    sizes: string,
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
      `${prefix}:topics`,
      `${prefix}:topics-floor`,
      `${prefix}:bytes`,
      `${prefix}:sizes`,
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
    this.#commands = withScripts(
      make({
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        autoResendUnfulfilledCommands: false,
        commandTimeout: this.#timeoutMs,
      }),
    )
    // The reader waits through outages and re-reads its position after each reconnect. Its commands
    // fail as soon as the connection drops (maxRetriesPerRequest 0 rejects a read in flight) and at
    // once while it is down (no offline queue): ioredis would otherwise settle them only by their
    // timeout, even after disconnect(), and close() would wait that long. The timeout stays for a
    // connection that hangs without closing.
    this.#reader = withScripts(
      make({
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        autoResendUnfulfilledCommands: false,
        commandTimeout: IDLE_CHECK_MS + this.#timeoutMs,
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
  }

  /**
   * Resolves once this instance reads the log from a known position, so that every event
   * published anywhere from then on reaches its streams. Await it before serving: until the
   * position is known (one round trip), an event published by another instance could reach
   * none of the streams that subscribed here meanwhile. While Redis is not reachable it keeps
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
            HISTORY_PAGE_SCAN,
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
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took over ${this.#timeoutMs} ms`)), this.#timeoutMs)
    })
    try {
      return await Promise.race([wait(controller.signal), timeout])
    } catch (error) {
      throw this.#unavailable(error, what)
    } finally {
      clearTimeout(timer)
      controller.abort()
    }
  }

  /** One command on the command connection, through the gate, once connected; failures as `SseError`. */
  #send<T>(what: string, command: () => Promise<T>): Promise<T> {
    return this.#gate.run(async () => {
      await this.#connected()
      try {
        return await command()
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
        const reply = (await this.#reader.call(
          'XREAD',
          'COUNT',
          this.#readBatch,
          'BLOCK',
          IDLE_CHECK_MS,
          'STREAMS',
          this.#keys[2],
          this.#lastId,
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
    const [epoch, head, firstKept] = await this.#reader.ssePosition(
      ...this.#keys,
      createEpoch(),
      this.#epoch ?? '',
      lastSeq,
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
}
