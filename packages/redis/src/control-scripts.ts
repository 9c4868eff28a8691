/**
 * The Lua scripts of `RedisControl` (revocation and presence across instances), each one atomic
 * step on its keys: see `control.ts` for the design. Every script renews or reads leases by
 * Redis's own clock (`TIME`), one clock for every instance.
 */
import type { Redis } from 'ioredis'

/** Revocations remembered in Redis for the resume check (the most recent ones). */
const MAX_REVOCATIONS = 10_000

const LIB = `
local function nowMs()
  local clock = redis.call('TIME')
  return tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
end
local prefix = ARGV[1]
local function partKey(id, topic) return prefix .. ':presence:i:' .. id .. ':' .. topic end
local function sumKey(topic) return prefix .. ':presence:t:' .. topic end
-- What instances whose lease ran out (and that are not swept yet) still hold of a topic's field.
local function deadPart(dead, topic, field)
  local sum = 0
  for _, id in ipairs(dead) do
    local value = redis.call('HGET', partKey(id, topic), field)
    if value then sum = sum + tonumber(value) end
  end
  return sum
end
local function expired(leases, now) return redis.call('ZRANGEBYSCORE', leases, '-inf', now) end
-- Takes instance \`id\` out of every sum; appends each topic's change to \`out\`.
local function sweep(leases, id, now, out)
  redis.call('ZREM', leases, id)
  local dead = expired(leases, now)
  local topicsKey = prefix .. ':presence:i:' .. id
  for _, topic in ipairs(redis.call('SMEMBERS', topicsKey)) do
    local part = redis.call('HGETALL', partKey(id, topic))
    local left = {}
    for k = 1, #part, 2 do
      local field, value = part[k], tonumber(part[k + 1])
      local total = redis.call('HINCRBY', sumKey(topic), field, -value)
      if total <= 0 then redis.call('HDEL', sumKey(topic), field) end
      if field ~= '' and total - deadPart(dead, topic, field) <= 0 then left[#left + 1] = field end
    end
    redis.call('DEL', partKey(id, topic))
    out[#out + 1] = topic
    out[#out + 1] = tonumber(redis.call('HGET', sumKey(topic), '') or '0') - deadPart(dead, topic, '')
    out[#out + 1] = 0
    out[#out + 1] = #left
    for _, field in ipairs(left) do out[#out + 1] = field end
  end
  redis.call('DEL', topicsKey)
end
-- Raises the recorded revocation of each key to (epoch, seq); a new epoch replaces an old one.
local function mark(revoked, order, now, epoch, seq, first, count)
  if epoch == '' then return end
  for k = first, first + count - 1 do
    local key = ARGV[k]
    local current = redis.call('HGET', revoked, key)
    local raise = true
    if current then
      local at = string.find(current, ' ', 1, true)
      if string.sub(current, 1, at - 1) == epoch and tonumber(string.sub(current, at + 1)) >= tonumber(seq) then
        raise = false
      end
    end
    if raise then redis.call('HSET', revoked, key, epoch .. ' ' .. seq) end
    redis.call('ZADD', order, now, key)
  end
  local extra = redis.call('ZCARD', order) - ${MAX_REVOCATIONS}
  if extra > 0 then
    for _, key in ipairs(redis.call('ZRANGE', order, 0, extra - 1)) do redis.call('HDEL', revoked, key) end
    redis.call('ZREMRANGEBYRANK', order, 0, extra - 1)
  end
end
`

// KEYS: leases. ARGV: prefix, id, lease ms. Renews this instance's lease and sweeps up to 8
// instances whose lease ran out. Returns {had a lease (0: resync), changes as topic, streams, #joined, joined…, #left, left…}.
export const HEARTBEAT: string = `${LIB}
local now = nowMs()
local had = redis.call('ZSCORE', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
local out = {had and 1 or 0}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 8)) do sweep(KEYS[1], id, now, out) end
return out
`

// KEYS: leases. ARGV: prefix, id. A graceful leave: this instance out of every sum, at once.
export const LEAVE: string = `${LIB}
local out = {}
sweep(KEYS[1], ARGV[2], nowMs(), out)
return out
`

// KEYS: leases, this instance's topics. ARGV: prefix, id, lease ms, then per topic: topic,
// replace (1: fields not given are 0), field count, field, value… Values are absolute.
// Returns {had a lease, changes as topic, streams, #joined, joined…, #left, left…}.
export const WRITE: string = `${LIB}
local now = nowMs()
local id = ARGV[2]
local had = redis.call('ZSCORE', KEYS[1], id)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), id)
local dead = expired(KEYS[1], now)
local out = {had and 1 or 0}
local i = 4
while i <= #ARGV do
  local topic, replace, count = ARGV[i], ARGV[i + 1] == '1', tonumber(ARGV[i + 2])
  i = i + 3
  local part, sum = partKey(id, topic), sumKey(topic)
  local values, fields = {}, {}
  for _ = 1, count do
    values[ARGV[i]] = tonumber(ARGV[i + 1])
    fields[#fields + 1] = ARGV[i]
    i = i + 2
  end
  if replace then
    local held = redis.call('HGETALL', part)
    for k = 1, #held, 2 do
      if values[held[k]] == nil then
        values[held[k]] = 0
        fields[#fields + 1] = held[k]
      end
    end
  end
  local joined, left, changed = {}, {}, false
  for _, field in ipairs(fields) do
    local new = values[field]
    local old = tonumber(redis.call('HGET', part, field) or '0')
    if new ~= old then
      changed = true
      local gone = deadPart(dead, topic, field)
      local before = tonumber(redis.call('HGET', sum, field) or '0') - gone
      local total = redis.call('HINCRBY', sum, field, new - old)
      if total <= 0 then redis.call('HDEL', sum, field) end
      if new > 0 then redis.call('HSET', part, field, new) else redis.call('HDEL', part, field) end
      if field ~= '' then
        if before <= 0 and total - gone > 0 then joined[#joined + 1] = field end
        if before > 0 and total - gone <= 0 then left[#left + 1] = field end
      end
    end
  end
  if redis.call('EXISTS', part) == 1 then redis.call('SADD', KEYS[2], topic) else redis.call('SREM', KEYS[2], topic) end
  if changed then
    out[#out + 1] = topic
    out[#out + 1] = tonumber(redis.call('HGET', sum, '') or '0') - deadPart(dead, topic, '')
    out[#out + 1] = #joined
    for _, field in ipairs(joined) do out[#out + 1] = field end
    out[#out + 1] = #left
    for _, field in ipairs(left) do out[#out + 1] = field end
  end
end
return out
`

// KEYS: leases, the topic's sums. ARGV: prefix, topic, principals (1/0).
// Returns {live instances, field, value…} without the parts of instances whose lease ran out.
export const READ: string = `${LIB}
local now = nowMs()
local dead = expired(KEYS[1], now)
local out = {redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')}
local fields
if ARGV[3] == '1' then fields = redis.call('HGETALL', KEYS[2]) else fields = {'', redis.call('HGET', KEYS[2], '') or '0'} end
for k = 1, #fields, 2 do
  local value = tonumber(fields[k + 1]) - deadPart(dead, ARGV[2], fields[k])
  if value > 0 then
    out[#out + 1] = fields[k]
    out[#out + 1] = value
  end
end
return out
`

// KEYS: leases, revoked, revocation order, revocation log, log trimmed-to. ARGV: prefix, id,
// message, epoch, seq, key count, keys…
// Records the revocation (the resume check's mark, and the command in the log that an instance
// reads after being cut off: the last ${MAX_REVOCATIONS}, the id of the last one dropped in
// trimmed-to), then sends the message with its log id to every live instance but this one.
// Returns {instances that got it, live instances that were not listening, log id}.
export const REVOKE: string = `${LIB}
local now = nowMs()
mark(KEYS[2], KEYS[3], now, ARGV[4], ARGV[5], 7, tonumber(ARGV[6]))
local over = redis.call('XLEN', KEYS[4]) - ${MAX_REVOCATIONS - 1}
if over > 0 then
  local dropped = redis.call('XRANGE', KEYS[4], '-', '+', 'COUNT', over)
  redis.call('SET', KEYS[5], dropped[#dropped][1])
  redis.call('XTRIM', KEYS[4], 'MAXLEN', ${MAX_REVOCATIONS - 1})
end
local entry = redis.call('XADD', KEYS[4], '*', 'm', ARGV[3])
-- The message (a JSON object) with its log id as a first field: {"log":"<id>",…}.
local message = '{"log":"' .. entry .. '",' .. string.sub(ARGV[3], 2)
local sent, missed = 0, 0
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')) do
  if id ~= ARGV[2] then
    if redis.call('PUBLISH', prefix .. ':ctl:' .. id, message) > 0 then sent = sent + 1 else missed = missed + 1 end
  end
end
return {sent, missed, entry}
`

// KEYS: revoked, revocation order. ARGV: prefix, reply channel, message, epoch, seq, key count, keys…
// Raises the recorded revocation to where this instance stood, then answers.
export const ANSWER: string = `${LIB}
mark(KEYS[1], KEYS[2], nowMs(), ARGV[4], ARGV[5], 7, tonumber(ARGV[6]))
return redis.call('PUBLISH', ARGV[2], ARGV[3])
`

export type Scripted = Redis & {
  sseHeartbeat(...args: (string | number)[]): Promise<(string | number)[]>
  sseLeave(...args: (string | number)[]): Promise<(string | number)[]>
  ssePresenceWrite(...args: (string | number)[]): Promise<(string | number)[]>
  ssePresenceRead(...args: (string | number)[]): Promise<(string | number)[]>
  sseRevoke(...args: (string | number)[]): Promise<[number, number, string]>
  sseRevokeAnswer(...args: (string | number)[]): Promise<number>
}
