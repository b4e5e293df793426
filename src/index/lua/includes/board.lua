--[[
  Helpers shared by the board scripts, pulled in with `--- @include "board"`
  (src/index/redis-scripts.ts). The layout they read and write is described
  in src/index/redis-keys.ts.

  Lua's numbers are doubles. Every number here is an integer of magnitude
  below 2^54 (scores and times below 2^53, sums of two of them), so each
  is exact; they leave a script through decimal(), never as fractions
  (Redis would truncate them) nor through tostring() (which prints 1e+15
  and drops digits). Only small counts (ranks, versions) go as integer replies.
]]

-- Reply codes: ReplyCode in src/index/redis-scripts.ts.
local OK = 0
local BOARD_NOT_FOUND = 1
local SCORE_OVERFLOW = 2
local EVENT_ID_CONFLICT = 3
local BOARD_BUSY = 4
local PERIOD_MISMATCH = 5
local DERIVED_NOT_FOUND = 6
local DERIVED_PERIOD_MISMATCH = 7

local MAX_SCORE = 9007199254740991
local DAY_MS = 86400000

-- An integer's decimal digits, never '-0'.
local function decimal(x)
  if x == 0 then return '0' end
  return string.format('%.0f', x)
end

-- 7 bytes, big-endian: their byte order is the numeric order of 0 <= t < 2^56.
local function timeBytes(t)
  local bytes = {}
  for i = 7, 1, -1 do
    local byte = t % 256
    bytes[i] = byte
    t = (t - byte) / 256
  end
  return string.char(unpack(bytes))
end

-- The time that timeBytes wrote at the start of s.
local function timeAt(s)
  local t = 0
  for i = 1, 7 do t = t * 256 + string.byte(s, i) end
  return t
end

-- A bucket value: achievedAt's 7 bytes, then updatedAt - achievedAt in decimal unless it is 0.
local function bucketValue(achievedAt, updatedAt)
  if updatedAt == achievedAt then return timeBytes(achievedAt) end
  return timeBytes(achievedAt) .. decimal(updatedAt - achievedAt)
end

local function updatedAtOf(value, achievedAt)
  if #value == 7 then return achievedAt end
  return achievedAt + tonumber(string.sub(value, 8))
end

--[[
  The board as the state hash describes it: its keys, sort order and bucket
  split (linear hashing: bucket_level L and bucket_split S give 2^L + S
  buckets; a participant goes to hash mod 2^L, or to hash mod 2^(L+1) when
  that is below S). Returns nil when the board does not exist.
]]
local function readBoard(stateKey, rankingKey, metadataKey, bucketPrefix)
  local state = redis.call('HMGET', stateKey, 'order', 'bucket_level', 'bucket_split', 'bucket_fill', 'epoch', 'version')
  if not state[1] then return nil end
  return {
    state = stateKey,
    ranking = rankingKey,
    metadata = metadataKey,
    buckets = bucketPrefix,
    desc = state[1] == 'desc',
    level = tonumber(state[2]),
    split = tonumber(state[3]),
    fill = tonumber(state[4]),
    epoch = state[5],
    version = tonumber(state[6]),
    hasMetadata = redis.call('EXISTS', metadataKey) == 1,
  }
end

-- Scores are stored ascending: a desc board stores them negated. 0 - 0 and x + 0 are never -0.
local function storedScore(board, score)
  if board.desc then return 0 - score end
  return score
end

local function scoreOf(board, stored)
  if board.desc then return 0 - stored end
  return stored + 0
end

-- Entries with a strictly better score than `score` (a shared rank is this + 1): stored scores ascend in rank order.
local function countBetter(board, score)
  return redis.call('ZCOUNT', board.ranking, '-inf', '(' .. decimal(storedScore(board, score)))
end

-- The first 32 bits of the id's SHA-1: RedisIndex.load computes the same in TypeScript.
local function hashOf(participantId)
  return tonumber(string.sub(redis.sha1hex(participantId), 1, 8), 16)
end

local function bucketIndex(board, hash)
  local width = 2 ^ board.level
  local bucket = hash % width
  if bucket < board.split then bucket = hash % (2 * width) end
  return bucket
end

local function bucketKey(board, participantId)
  return board.buckets .. decimal(bucketIndex(board, hashOf(participantId)))
end

local function metadataOf(board, participantId)
  if not board.hasMetadata then return '' end
  return redis.call('HGET', board.metadata, participantId) or ''
end

--[[
  The participant's entry, or nil, and the key of its bucket either way.
  An entry: member, score, achievedAt, updatedAt, metadata ('' for none), rank.
]]
local function findEntry(board, participantId)
  local bucket = bucketKey(board, participantId)
  local value = redis.call('HGET', bucket, participantId)
  if not value then return nil, bucket end
  local member = string.sub(value, 1, 7) .. participantId
  local achievedAt = timeAt(value)
  return {
    member = member,
    score = scoreOf(board, tonumber(redis.call('ZSCORE', board.ranking, member))),
    achievedAt = achievedAt,
    updatedAt = updatedAtOf(value, achievedAt),
    metadata = metadataOf(board, participantId),
    rank = redis.call('ZRANK', board.ranking, member) + 1,
  }, bucket
end

--[[
  Appends an entry to a reply: participant id, score, achievedAt, updatedAt,
  metadata, rank. Scores and times go as decimal strings: an integer reply
  is exact, but a client's decoder may round it near 2^53 (ioredis does).
]]
local function pushEntry(reply, participantId, entry)
  local n = #reply
  reply[n + 1] = participantId
  reply[n + 2] = decimal(entry.score)
  reply[n + 3] = decimal(entry.achievedAt)
  reply[n + 4] = decimal(entry.updatedAt)
  reply[n + 5] = entry.metadata
  reply[n + 6] = entry.rank
end

-- Appends the entries at ranks first .. last (within 1 .. total) to a reply.
local function pushRange(board, reply, first, last)
  if first > last then return end
  local members = redis.call('ZRANGE', board.ranking, first - 1, last - 1, 'WITHSCORES')
  for i = 1, #members, 2 do
    local member = members[i]
    local participantId = string.sub(member, 8)
    local achievedAt = timeAt(member)
    local value = redis.call('HGET', bucketKey(board, participantId), participantId)
    pushEntry(reply, participantId, {
      score = scoreOf(board, tonumber(members[i + 1])),
      achievedAt = achievedAt,
      updatedAt = updatedAtOf(value, achievedAt),
      metadata = metadataOf(board, participantId),
      rank = first + (i - 1) / 2,
    })
  end
end

-- HSET of many pairs, in slices that stay far below unpack's stack limit.
local function hsetPairs(key, pairs)
  for first = 1, #pairs, 1000 do
    redis.call('HSET', key, unpack(pairs, first, math.min(first + 999, #pairs)))
  end
end

-- The keys of the event-id hashes that can hold live ids: those of the board's latest day and the day before.
local function eventKeys(eventPrefix, day)
  return eventPrefix .. decimal(day), eventPrefix .. decimal(day - 1)
end

--[[
  Unlinks the board's entries, change log and event ids (not its state):
  bucket_level, bucket_split and event_day in the state say which keys exist.
]]
local function unlinkEntries(stateKey, rankingKey, metadataKey, logKey, bucketPrefix, eventPrefix)
  local state = redis.call('HMGET', stateKey, 'bucket_level', 'bucket_split', 'event_day')
  redis.call('UNLINK', rankingKey, metadataKey, logKey)
  if state[1] then
    local buckets = 2 ^ tonumber(state[1]) + tonumber(state[2])
    for i = 0, buckets - 1 do redis.call('UNLINK', bucketPrefix .. decimal(i)) end
  end
  if state[3] then
    local latest, previous = eventKeys(eventPrefix, tonumber(state[3]))
    redis.call('UNLINK', latest, previous)
  end
end

--[[
  Scope members (src/index/derived.ts): the hash `membersKey` maps
  `<scope>:<participant id>` to the value whose ranking holds the
  participant. forgetMembers drops the fields of the ranking's entries that
  name `value`; adoptMembers sets them. In slices, so that a large ranking
  never builds one huge reply.
]]
local function eachMember(rankingKey, visit)
  local count = redis.call('ZCARD', rankingKey)
  for first = 0, count - 1, 1000 do
    local members = redis.call('ZRANGE', rankingKey, first, first + 999)
    for _, member in ipairs(members) do visit(string.sub(member, 8)) end
  end
end

local function forgetMembers(rankingKey, membersKey, fieldPrefix, value)
  eachMember(rankingKey, function(participantId)
    local field = fieldPrefix .. participantId
    if redis.call('HGET', membersKey, field) == value then redis.call('HDEL', membersKey, field) end
  end)
end

local function adoptMembers(rankingKey, membersKey, fieldPrefix, value)
  eachMember(rankingKey, function(participantId) redis.call('HSET', membersKey, fieldPrefix .. participantId, value) end)
end
