--[[
  Writes to boards, pulled in with `--- @include "apply"` after "board":
  a board opened for writing (openWrite) takes submissions with its
  operator (applySubmission), exact entries (placeIn) and removals
  (removeFrom), each logged to its change log; closeWrite stores its state.
  applyScores-6.lua writes one board; applyDerived-7.lua a board and its
  derived rankings (src/index/derived.ts) in one call.

  A log entry's id is <version>-<n>: n = 0 for the write that made the
  version, 1, 2, ... for those after it that changed nothing. An event id
  is remembered, with its fingerprint and first outcome, in the hash of the
  board's latest day (by the caller's clock), which expires at the end of
  the next day; lookups read that day's and the day before's.
]]

--[[
  The board with the keys of its state, ranking, metadata, change log,
  bucket hashes and event-id hashes, for writing at receivedAt, or nil when
  it does not exist. Its frozenUntil and periodStart are for the caller's
  checks.
]]
local function openWrite(stateKey, rankingKey, metadataKey, logKey, bucketPrefix, eventPrefix, receivedAt)
  local board = readBoard(stateKey, rankingKey, metadataKey, bucketPrefix)
  if not board then return nil end
  local state = redis.call('HMGET', stateKey, 'operator', 'seq', 'log_n', 'event_day', 'frozen_until', 'period_start')
  board.log = logKey
  board.operator = state[1]
  board.seq = tonumber(state[2])
  board.logN = tonumber(state[3])
  local eventDay = math.floor(tonumber(receivedAt) / DAY_MS)
  if state[4] then eventDay = math.max(eventDay, tonumber(state[4])) end
  board.eventDay = eventDay
  board.latestEvents, board.previousEvents = eventKeys(eventPrefix, eventDay)
  board.eventsWritten = false
  board.total = redis.call('ZCARD', rankingKey)
  board.frozenUntil = state[5]
  board.periodStart = state[6] or '0'
  board.logged = 0
  board.changed = false
  -- Set by the caller from its ties argument: ranks are shared ones (1 + the entries with a strictly better score).
  board.shared = false
  return board
end

-- True while a rebuild or a close holds the board (index/redis.ts freeze).
local function isFrozen(board, receivedAt)
  return board.frozenUntil and tonumber(board.frozenUntil) > tonumber(receivedAt)
end

local function better(board, a, b)
  if board.desc then return a > b end
  return a < b
end

--[[
  The entry after the submission and whether its ranking key changed, or
  nil when an increment leaves +-(2^53-1). Mirrors core/operators.ts.
]]
local function applyOperator(board, current, score, timestamp, metadata)
  if not current then
    return {score = score, achievedAt = timestamp, updatedAt = timestamp, metadata = metadata}, true
  end
  local own = metadata
  if own == '' then own = current.metadata end
  local kept = {score = current.score, achievedAt = current.achievedAt, updatedAt = math.max(current.updatedAt, timestamp), metadata = current.metadata}
  local operator = board.operator
  if operator == 'best' then
    if better(board, score, current.score) then
      return {score = score, achievedAt = timestamp, updatedAt = kept.updatedAt, metadata = own}, true
    end
    if score == current.score and timestamp < current.achievedAt then
      kept.achievedAt = timestamp
      return kept, true
    end
    return kept, false
  elseif operator == 'latest' then
    if timestamp > current.updatedAt or (timestamp == current.updatedAt and better(board, score, current.score)) then
      return {score = score, achievedAt = timestamp, updatedAt = timestamp, metadata = own}, true
    end
    return kept, false
  end
  if score == 0 then
    -- A zero delta still counts towards achievedAt, or the result would depend on arrival order.
    kept.achievedAt = math.max(current.achievedAt, timestamp)
    return kept, kept.achievedAt ~= current.achievedAt
  end
  local sum = current.score + score
  -- An exact sum beyond 2^53 - 1 rounds to 2^53 or beyond, so the test is exact.
  if sum > MAX_SCORE or sum < -MAX_SCORE then return nil end
  return {score = sum, achievedAt = math.max(current.achievedAt, timestamp), updatedAt = kept.updatedAt, metadata = own}, true
end

-- Splits the next bucket in two (linear hashing), rewriting both so that they stay small listpacks.
local function splitBucket(board)
  local width = 2 ^ board.level
  local from = board.buckets .. decimal(board.split)
  local to = board.buckets .. decimal(board.split + width)
  local pairs = redis.call('HGETALL', from)
  local stay, move = {}, {}
  for i = 1, #pairs, 2 do
    local target = stay
    if hashOf(pairs[i]) % (2 * width) ~= board.split then target = move end
    target[#target + 1] = pairs[i]
    target[#target + 1] = pairs[i + 1]
  end
  redis.call('UNLINK', from)
  hsetPairs(from, stay)
  hsetPairs(to, move)
  board.split = board.split + 1
  if board.split == width then
    board.level = board.level + 1
    board.split = 0
  end
end

local function findEvent(board, eventId)
  local record = redis.call('HGET', board.latestEvents, eventId) or redis.call('HGET', board.previousEvents, eventId)
  if not record then return nil end
  return cmsgpack.unpack(record)
end

-- Makes the participant's entry `entry` (current: the entry it had, or nil; bucket: its bucket hash).
local function writeEntry(board, participantId, current, bucket, entry)
  local member = timeBytes(entry.achievedAt) .. participantId
  if not current then
    redis.call('ZADD', board.ranking, storedScore(board, entry.score), member)
    redis.call('HSET', bucket, participantId, bucketValue(entry.achievedAt, entry.updatedAt))
    board.total = board.total + 1
  else
    if member ~= current.member then
      redis.call('ZREM', board.ranking, current.member)
      redis.call('ZADD', board.ranking, storedScore(board, entry.score), member)
    elseif entry.score ~= current.score then
      redis.call('ZADD', board.ranking, storedScore(board, entry.score), member)
    end
    if entry.achievedAt ~= current.achievedAt or entry.updatedAt ~= current.updatedAt then
      redis.call('HSET', bucket, participantId, bucketValue(entry.achievedAt, entry.updatedAt))
    end
  end
  local before = ''
  if current then before = current.metadata end
  if entry.metadata ~= before then
    if entry.metadata == '' then
      redis.call('HDEL', board.metadata, participantId)
    else
      redis.call('HSET', board.metadata, participantId, entry.metadata)
      board.hasMetadata = true
    end
  end
  return member
end

-- Bumps the version for a change (or counts one more entry that changed nothing) and returns the log entry's id.
local function nextLogId(board, changed)
  if changed then
    board.version = board.version + 1
    board.logN = 0
    board.changed = true
  else
    board.logN = board.logN + 1
  end
  board.seq = board.seq + 1
  board.logged = board.logged + 1
  return decimal(board.version) .. '-' .. decimal(board.logN)
end

-- Appends an event to the change log (the fields of src/index/redis-log.ts).
local function appendLog(board, logId, participantId, eventId, submitted, timestamp, receivedAt, current, entry, newRank, changed, metadata, fingerprint)
  local entryMetadata = entry.metadata
  if entryMetadata ~= '' and entryMetadata == metadata then entryMetadata = '=' end
  redis.call('XADD', board.log, logId,
    'seq', decimal(board.seq),
    'event_id', eventId,
    'participant_id', participantId,
    'submitted', submitted,
    'timestamp', timestamp,
    'received_at', receivedAt,
    'old_score', current and decimal(current.score) or '',
    'new_score', decimal(entry.score),
    'old_rank', current and decimal(current.rank) or '',
    'new_rank', decimal(newRank),
    'changed', changed and '1' or '0',
    'metadata', metadata,
    'achieved_at', decimal(entry.achievedAt),
    'updated_at', decimal(entry.updatedAt),
    'entry_metadata', entryMetadata,
    'fingerprint', fingerprint)
end

--[[
  Applies one submission with the board's operator and logs it. Returns its
  outcome (below) and, when applied, the entry after it.
]]
local function submitTo(board, participantId, scoreText, timestampText, eventId, metadata, fingerprint, receivedAt)
  local score = tonumber(scoreText)
  local timestamp = tonumber(timestampText)
  local current, bucket = findEntry(board, participantId)
  local entry, changed = applyOperator(board, current, score, timestamp, metadata)
  if not entry then return {SCORE_OVERFLOW, decimal(current.score)} end
  -- Before anything moves: the previous entry's shared rank is the one it had in the state before.
  if current and board.shared then current.rank = countBetter(board, current.score) + 1 end
  local member = writeEntry(board, participantId, current, bucket, entry)
  local logId = nextLogId(board, changed)
  if changed and board.shared then
    entry.rank = countBetter(board, entry.score) + 1
  elseif changed then
    entry.rank = redis.call('ZRANK', board.ranking, member) + 1
  else
    entry.rank = current.rank
  end
  if not current and board.total > board.fill * (2 ^ board.level + board.split) then splitBucket(board) end
  appendLog(board, logId, participantId, eventId, scoreText, timestampText, receivedAt, current, entry, entry.rank, changed, metadata, fingerprint)
  local outcome = {OK, 0, changed and 1 or 0, board.version}
  pushEntry(outcome, participantId, entry)
  if current then pushEntry(outcome, participantId, current) end
  return outcome, entry
end

--[[
  A submission as applyScores-6.lua describes it: a remembered event id
  answers its first outcome (or EVENT_ID_CONFLICT), anything else is applied
  and its event id remembered. Returns the outcome, and the entry after it
  when it was applied now.
    {OK, duplicate 0|1, changed 0|1, version, <entry>[, <previous>]}
    {SCORE_OVERFLOW, current score}
    {EVENT_ID_CONFLICT}
]]
local function applySubmission(board, participantId, scoreText, timestampText, eventId, metadata, fingerprint, receivedAt)
  local record = nil
  if eventId ~= '' then record = findEvent(board, eventId) end
  if record and record[1] ~= fingerprint then return {EVENT_ID_CONFLICT} end
  if record then
    local outcome = record[2]
    outcome[2] = 1
    return outcome
  end
  local outcome, entry = submitTo(board, participantId, scoreText, timestampText, eventId, metadata, fingerprint, receivedAt)
  if eventId ~= '' and outcome[1] == OK then
    redis.call('HSET', board.latestEvents, eventId, cmsgpack.pack({fingerprint, outcome}))
    board.eventsWritten = true
  end
  return outcome, entry
end

--[[
  Makes the participant's entry exactly `entry` (score, achievedAt,
  updatedAt, metadata, as another board holds it) and logs it, without an
  event id. Nothing happens when it was that already.
]]
local function placeIn(board, participantId, entry, receivedAt)
  local current, bucket = findEntry(board, participantId)
  if current and current.score == entry.score and current.achievedAt == entry.achievedAt and current.updatedAt == entry.updatedAt and current.metadata == entry.metadata then return end
  local copy = {score = entry.score, achievedAt = entry.achievedAt, updatedAt = entry.updatedAt, metadata = entry.metadata}
  local changed = not current or current.score ~= copy.score or current.achievedAt ~= copy.achievedAt
  if current and board.shared then current.rank = countBetter(board, current.score) + 1 end
  local member = writeEntry(board, participantId, current, bucket, copy)
  local logId = nextLogId(board, changed)
  if changed and board.shared then
    copy.rank = countBetter(board, copy.score) + 1
  elseif changed then
    copy.rank = redis.call('ZRANK', board.ranking, member) + 1
  else
    copy.rank = current.rank
  end
  if not current and board.total > board.fill * (2 ^ board.level + board.split) then splitBucket(board) end
  appendLog(board, logId, participantId, '', decimal(copy.score), decimal(copy.updatedAt), receivedAt, current, copy, copy.rank, changed, copy.metadata, '')
end

-- Removes the participant's entry, if any, and logs the removal (new rank 0, src/store/store.ts ScoreEvent).
local function removeFrom(board, participantId, receivedAt)
  local current, bucket = findEntry(board, participantId)
  if not current then return end
  if board.shared then current.rank = countBetter(board, current.score) + 1 end
  redis.call('ZREM', board.ranking, current.member)
  redis.call('HDEL', bucket, participantId)
  if current.metadata ~= '' then redis.call('HDEL', board.metadata, participantId) end
  board.total = board.total - 1
  local logId = nextLogId(board, true)
  appendLog(board, logId, participantId, '', decimal(current.score), decimal(current.updatedAt), receivedAt, current, current, 0, true, current.metadata, '')
end

-- Stores what the writes changed of the board's state.
local function closeWrite(board)
  redis.call('HSET', board.state, 'version', decimal(board.version), 'seq', decimal(board.seq), 'log_n', decimal(board.logN),
    'bucket_level', decimal(board.level), 'bucket_split', decimal(board.split), 'event_day', decimal(board.eventDay))
  if board.eventsWritten then redis.call('PEXPIREAT', board.latestEvents, decimal((board.eventDay + 2) * DAY_MS)) end
end
