/**
 * The Lua scripts of `RedisBroker`: each runs atomically in Redis, so a publish appends to the
 * log, to its topic's history and trims both in one step, and a replay reads a consistent view.
 *
 * Two structures per hub:
 * - **The log** (`<prefix>:log`), one Redis Stream of every event in one order: what instances
 *   read live (XREAD from their own offset). Its entries' ids are `<seq>-0`, its trims keep it a
 *   suffix (so a reader that finds a hole in the seqs knows it missed entries: a gap).
 * - **Per-topic history** (`<prefix>:topic:<topic>`), one Stream per topic with entries, same
 *   ids: what a reconnect replays. A replay reads only the client's topics, from its position in
 *   each, so it costs what the client missed, whatever other topics hold. Bounds (count, bytes)
 *   hold across topics; past one, the oldest entry of the topic holding the most goes (among
 *   equals, the one whose oldest entry is oldest), so a busy topic evicts its own history, never
 *   that of a quiet one holding less than its share. Each topic's highest evicted seq is kept, so
 *   a client is reset only when an entry of its own topics that it had not seen went.
 *
 * Both hold the same events, so Redis holds each one twice (the log for the instances, the
 * topic's history for replays), each bounded by `historySize` / `historyMaxBytes`. Evicted
 * entries leave a topic's stream a whole stream node at a time (see evictOldest): a topic may
 * hold up to one node (4 KB or 100 entries, Redis's defaults) of them past the bounds.
 *
 * KEYS, the same for every script:
 *  1 epoch, 2 seq, 3 log, 4 history (a hash: `since`, `floor`, `entries`, `bytes`), 5 topics
 *  ranked by entries,
 *  6 bytes of the log, 7 sizes of the log's entries (a list, oldest first), 8 topics ranked by
 *  bytes, 9 highest evicted seq per topic (a sorted set), 10 the prefix of per-topic streams, 11
 *  the prefix of per-topic indexes (a list per topic, oldest first, of `seq:size:time`: which
 *  entries it holds, so eviction never reads one's data).
 */

/** Topics whose eviction point is kept one by one; past it the least recently evicted merge into one floor. */
export const MAX_TRACKED_TOPICS = 10_000

/**
 * The lowest bits of a topic's rank: the age of its oldest entry (older ranks higher), so that
 * among topics holding as many entries (per-user topics of one entry each) the oldest entry goes,
 * not the one Redis happens to sort last. Exact up to 2^33 entries or 8 GiB per topic.
 */
const TIE = 1048576

/** Shared helpers: the epoch, Redis's clock, and per-topic history (rank, evict, expire). */
const COMMON = `
local TOPIC = KEYS[10]
local INDEX = KEYS[11]
local function seqOf(id) return tonumber(string.match(id, '^(%d+)')) end
local function field(name) return tonumber(redis.call('HGET', KEYS[4], name) or '0') end

-- A new log: every structure of the old one goes, per-topic streams included.
local function resetLog(epoch)
  redis.call('SET', KEYS[1], epoch)
  redis.call('SET', KEYS[2], 0)
  local topics = redis.call('ZRANGE', KEYS[5], 0, -1)
  for i = 1, #topics, 500 do
    local batch = {}
    for j = i, math.min(i + 499, #topics) do
      batch[#batch + 1] = TOPIC .. topics[j]
      batch[#batch + 1] = INDEX .. topics[j]
    end
    redis.call('DEL', unpack(batch))
  end
  redis.call('DEL', KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9])
end

local epoch = redis.call('GET', KEYS[1])
if not epoch or redis.call('EXISTS', KEYS[2]) == 0 then
  epoch = ARGV[1]
  resetLog(epoch)
end

local function nowMs()
  local clock = redis.call('TIME')
  return tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
end

-- The seq of the log's first entry from \`from\` on that is not older than \`cutoff\` (entries
-- written before times were kept count as fresh). It reads one entry, then more in growing
-- batches: most calls find the oldest entry fresh, and XRANGE copies whole entries.
local function firstFresh(from, cutoff)
  local want = 1
  while true do
    local batch = redis.call('XRANGE', KEYS[3], from .. '-0', '+', 'COUNT', want)
    for _, entry in ipairs(batch) do
      local m = entry[2][10]
      local at = seqOf(entry[1])
      if m == nil or tonumber(m) > cutoff then return at end
      from = at + 1
    end
    if #batch < want then return from end
    want = math.min(want * 2, 32)
  end
end

-- A topic's rank in KEYS[5] (by entries) and KEYS[8] (by bytes): the amount times TIE, plus the
-- age of its oldest entry (older ranks higher among equal amounts). The amounts are exact in the
-- scores, so a publish adds to them with ZINCRBY and nothing else keeps them.
local function rank(topic, count, bytes, oldest)
  local tie = ${TIE - 1} - (oldest % ${TIE})
  redis.call('ZADD', KEYS[5], string.format('%.0f', count * ${TIE} + tie), topic)
  redis.call('ZADD', KEYS[8], string.format('%.0f', bytes * ${TIE} + tie), topic)
end
local function amount(score) return math.floor(tonumber(score) / ${TIE}) end

local function markEvicted(topic, seq)
  if redis.call('ZADD', KEYS[9], seq, topic) == 1 and redis.call('ZCARD', KEYS[9]) > ${MAX_TRACKED_TOPICS} then
    local popped = redis.call('ZPOPMIN', KEYS[9])
    if tonumber(popped[2]) > field('floor') then redis.call('HSET', KEYS[4], 'floor', popped[2]) end
  end
end

-- A topic's oldest entry in history, from its index: seq, size, time.
local function parseIndexed(item)
  local seq, size, at = string.match(item, '^(%d+):(%d+):(%d+)$')
  return tonumber(seq), tonumber(size), tonumber(at)
end

local function forget(topic)
  redis.call('DEL', TOPIC .. topic, INDEX .. topic)
  redis.call('ZREM', KEYS[5], topic)
  redis.call('ZREM', KEYS[8], topic)
end

-- Entries and bytes in per-topic history: read once by a script that changes them, kept in these
-- locals meanwhile, written once at its end.
local entries, held = 0, 0
local function loadTotals()
  local totals = redis.call('HMGET', KEYS[4], 'entries', 'bytes')
  entries = tonumber(totals[1] or '0')
  held = tonumber(totals[2] or '0')
end
local function saveTotals() redis.call('HSET', KEYS[4], 'entries', entries, 'bytes', held) end

-- Evicts \`topic\`'s oldest entries: at least one, at most \`limit\`, and after each one only while
-- \`more(entries it still holds, bytes it still holds)\` (nil: \`limit\` of them). The scores: its
-- ranks, when the caller has them. The index says which entries and their sizes, so eviction never
-- reads an entry's data, and a batch is one trim. The entries leave the topic's stream with the
-- whole stream node they sit in (XTRIM MINID ~): deleting single entries from a node costs several
-- times a publish, and a node holds at most 4 KB (Redis's stream-node-max-bytes) or 100 entries,
-- so that is what a topic may keep in Redis past its share.
local function evictOldest(topic, limit, more, countScore, bytesScore)
  local count = amount(countScore or redis.call('ZSCORE', KEYS[5], topic) or 0)
  local bytes = amount(bytesScore or redis.call('ZSCORE', KEYS[8], topic) or 0)
  local items = redis.call('LRANGE', INDEX .. topic, 0, limit)
  if #items == 0 then
    -- Its index is gone (deleted by hand, or by a maxmemory policy): its entries count as evicted.
    entries = entries - count
    held = held - bytes
    markEvicted(topic, tonumber(redis.call('GET', KEYS[2])))
    forget(topic)
    return
  end
  local popped, freed, last = 0, 0, 0
  while popped < #items and popped < limit do
    local seq, size = parseIndexed(items[popped + 1])
    popped = popped + 1
    freed = freed + size
    last = seq
    entries = entries - 1
    held = held - size
    if more and not more(count - popped, bytes - freed) then break end
  end
  markEvicted(topic, last)
  if popped == #items then
    forget(topic)
    return
  end
  redis.call('LTRIM', INDEX .. topic, popped, -1)
  local nextSeq = parseIndexed(items[popped + 1])
  redis.call('XTRIM', TOPIC .. topic, 'MINID', '~', nextSeq .. '-0')
  rank(topic, count - popped, bytes - freed, nextSeq)
end

-- Evicts \`topic\`'s entries not newer than \`cutoff\` (ms).
local function expire(topic, cutoff)
  while true do
    local items = redis.call('LRANGE', INDEX .. topic, 0, 127)
    local expired = 0
    for _, item in ipairs(items) do
      local _, _, at = parseIndexed(item)
      if at > cutoff then break end
      expired = expired + 1
    end
    if expired == 0 then return end
    evictOldest(topic, expired)
    if expired < 128 then return end
  end
end
`

/**
 * Appends to the log and to the topic's history, trims both; returns {epoch, seq}.
 * ARGV: candidate epoch, topic, event, data, history size, history max bytes, history max age (ms, 0: none).
 *
 * The log: entries carry their epoch ('p'), so a reader can tell a new log's entries from its old
 * one's, and the time Redis appended them ('m', ms, from Redis's own clock: one clock for every
 * instance). It holds consecutive seqs up to the head (trims only ever remove the oldest), so its
 * first seq is `seq - len + 1`, and the oldest entries go with one XTRIM MINID: the log stays a
 * suffix, which the readers' gap checks rely on. Sizes live in their own list, so trimming never
 * reads an entry's data. When MAXLEN trimmed the log, the list's head is dropped to match; a log
 * older than the list (written before sizes were kept) counts as size 0 and is trimmed first. The
 * total is re-summed from the list if it is lost.
 */
export const PUBLISH: string = `${COMMON}
local topic = ARGV[2]
local seq = redis.call('INCR', KEYS[2])
local now = nowMs()
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], seq .. '-0', 't', topic, 'e', ARGV[3], 'd', ARGV[4], 'p', epoch, 'm', now)
local size = #topic + #ARGV[3] + #ARGV[4]
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

-- The topic's history. \`since\`: the first seq written there, so ids from before it (a log written
-- before per-topic history existed) get a reset rather than a replay that would miss them.
loadTotals()
redis.call('XADD', TOPIC .. topic, seq .. '-0', 'e', ARGV[3], 'd', ARGV[4], 'm', now)
entries = entries + 1
held = held + size
if redis.call('RPUSH', INDEX .. topic, seq .. ':' .. size .. ':' .. now) == 1 then
  -- A topic without history until now.
  redis.call('HSETNX', KEYS[4], 'since', seq)
  rank(topic, 1, size, seq)
else
  redis.call('ZINCRBY', KEYS[5], ${TIE}, topic)
  redis.call('ZINCRBY', KEYS[8], string.format('%.0f', size * ${TIE}), topic)
end
if maxAge > 0 then expire(topic, now - maxAge) end
-- Past a bound, the topic ranked first gives up its oldest entries, down to the second's amount
-- (fair) and to the bound. Trims start 1/64 past a bound and go back to it, so that most publishes
-- evict nothing and the rest evict a batch from one topic in one trim.
local keep = tonumber(ARGV[5])
if entries > keep + math.floor(keep / 64) then
  while entries > keep do
    local top = redis.call('ZREVRANGE', KEYS[5], 0, 1, 'WITHSCORES')
    if #top == 0 then break end
    local second = top[4] and amount(top[4]) or 0
    evictOldest(top[1], math.min(entries - keep, 128), function(count) return entries > keep and count > second end, top[2], nil)
  end
end
if held > max + math.floor(max / 64) then
  while held > max and entries > 0 do
    local top = redis.call('ZREVRANGE', KEYS[8], 0, 1, 'WITHSCORES')
    if #top == 0 then break end
    local second = top[4] and amount(top[4]) or 0
    evictOldest(top[1], 128, function(_, bytes) return held > max and bytes > second end, nil, top[2])
  end
end
saveTotals()
return {epoch, seq}
`

export const HEAD: string = `${COMMON}
return {epoch, tonumber(redis.call('GET', KEYS[2]))}
`

/**
 * One page of a replay, from the client's topics' histories only.
 * ARGV: candidate epoch, the client's epoch, the client's seq, page bytes, page entries, history
 * max age (ms, 0: none), topics… Entries past the age count as evicted, though the next publish to
 * their topic removes them.
 * Returns {kind, epoch, head, reason} or {'ok', epoch, head, next, entries as id, topic, event, data, …}.
 * The topics' entries are merged by seq; a page ends once its data reach `page bytes` or it holds
 * `page entries`, and `next` is then the seq it is complete up to ('' when it reached the head).
 */
export const HISTORY: string = `${COMMON}
local head = tonumber(redis.call('GET', KEYS[2]))
if epoch ~= ARGV[2] then return {'reset', epoch, head, 'epoch'} end
local after = tonumber(ARGV[3])
if after > head then return {'reset', epoch, head, 'unknown'} end
local out = {'ok', epoch, head, ''}
if after == head then return out end
local since = redis.call('HGET', KEYS[4], 'since')
if not since or after + 1 < tonumber(since) then return {'reset', epoch, head, 'trimmed'} end
local floor = field('floor')
local maxAge = tonumber(ARGV[6])
local cutoff = 0
if maxAge > 0 then cutoff = nowMs() - maxAge end
local BATCH = 32
-- XRANGE materializes every entry it returns, data included: small batches per topic.
local function fill(cursor)
  cursor.batch = redis.call('XRANGE', cursor.key, cursor.from .. '-0', '+', 'COUNT', BATCH)
  cursor.at = 1
  cursor.last = #cursor.batch < BATCH
  if #cursor.batch > 0 then cursor.from = seqOf(cursor.batch[#cursor.batch][1]) + 1 end
end
local cursors = {}
local seen = {}
for i = 7, #ARGV do
  local topic = ARGV[i]
  if not seen[topic] then
    seen[topic] = true
    local mark = redis.call('ZSCORE', KEYS[9], topic)
    if (mark and tonumber(mark) or floor) > after then return {'reset', epoch, head, 'trimmed'} end
    -- A topic with a rank has its stream and its index; one without has neither. Anything else
    -- means Redis lost keys (a maxmemory policy other than noeviction): never a silent gap.
    local present = redis.call('EXISTS', TOPIC .. topic, INDEX .. topic)
    local ranked = redis.call('ZSCORE', KEYS[5], topic)
    if (ranked and present < 2) or (not ranked and present > 0) then return {'reset', epoch, head, 'trimmed'} end
    local cursor = { key = TOPIC .. topic, topic = topic, from = after + 1 }
    fill(cursor)
    if maxAge > 0 and #cursor.batch > 0 and tonumber(cursor.batch[1][2][6]) <= cutoff then
      return {'reset', epoch, head, 'trimmed'}
    end
    cursors[#cursors + 1] = cursor
  end
end
local pageBytes = tonumber(ARGV[4])
local pageEntries = tonumber(ARGV[5])
local bytes = 0
local n = 0
while true do
  local best, bestSeq
  for _, cursor in ipairs(cursors) do
    if cursor.at > #cursor.batch and not cursor.last then fill(cursor) end
    local entry = cursor.batch[cursor.at]
    if entry then
      local s = seqOf(entry[1])
      if not bestSeq or s < bestSeq then
        best = cursor
        bestSeq = s
      end
    end
  end
  if not best then return out end
  local entry = best.batch[best.at]
  best.at = best.at + 1
  local fields = entry[2]
  out[#out + 1] = entry[1]
  out[#out + 1] = best.topic
  out[#out + 1] = fields[2]
  out[#out + 1] = fields[4]
  bytes = bytes + #fields[2] + #fields[4]
  n = n + 1
  if bestSeq < head and (bytes >= pageBytes or n >= pageEntries) then
    out[4] = tostring(bestSeq)
    return out
  end
end
`

/**
 * The reader's position check: {epoch, head, first seq kept in the log}.
 * ARGV: candidate epoch, the reader's epoch ('' at first start), the last seq it read.
 * A log behind what the reader already read, in the same epoch, lost its last writes (a crash with
 * appendfsync everysec, a failover to a lagging replica, an older backup): their seqs would be
 * handed out again to other events, so it starts a new epoch, as if it had lost everything.
 */
export const POSITION: string = `${COMMON}
if epoch == ARGV[2] and tonumber(redis.call('GET', KEYS[2])) < tonumber(ARGV[3]) then
  epoch = ARGV[1]
  resetLog(epoch)
end
local first = redis.call('XRANGE', KEYS[3], '-', '+', 'COUNT', 1)
local firstSeq = false
if #first > 0 then firstSeq = seqOf(first[1][1]) end
return {epoch, tonumber(redis.call('GET', KEYS[2])), firstSeq}
`

/** Number of keys each script takes. */
export const SCRIPT_KEYS = 11
