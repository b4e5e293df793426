--[[
  Applies a batch of score submissions to one board, in order and
  atomically: deduplicates event ids, applies the board's operator
  (core/operators.ts), re-ranks (core/ordering.ts: the score is the sorted
  set's score, the tie-break is in the member), bumps the version on every
  change and appends each applied submission to the board's change log.

  Layout (src/index/redis-keys.ts): the member of an entry is achievedAt's
  7 bytes then the participant id; the participant's bucket hash maps the id
  to achievedAt's 7 bytes and updatedAt - achievedAt; metadata is in its own
  hash. A log entry's id is <version>-<n>: n = 0 for the submission that
  made the version, 1, 2, ... for those after it that changed nothing.
  An event id is remembered, with its fingerprint and first outcome, in the
  hash of the board's latest day (by the caller's clock), which expires at
  the end of the next day; lookups read that day's and the day before's.

  Input:
    KEYS[1]  board state (hash)
    KEYS[2]  ranking (sorted set)
    KEYS[3]  entry metadata (hash)
    KEYS[4]  change log (stream)
    KEYS[5]  prefix of the bucket hashes (KEYS[5] .. i)
    KEYS[6]  prefix of the event-id hashes (KEYS[6] .. day)
    ARGV[1]  receivedAt: the caller's clock, ms since 1970
    ARGV[2]  the start (ms) of the period the submissions belong to, or ''
             for a board without resets: checked against the state field
             period_start, which a period's close sets
    ARGV[3]  'shared': the outcomes' ranks (and the logged old_rank and
             new_rank) are shared ranks, 1 + the entries with a strictly
             better score (a ZCOUNT); 'unique': places in the order
    ARGV[6i + 4 .. 6i + 9], submission i (0-based):
             participant id, score (a delta under increment), timestamp,
             event id ('' for none), metadata JSON ('' for none),
             fingerprint ('' without an event id)

  Output:
    {BOARD_NOT_FOUND} when the board does not exist,
    {BOARD_BUSY} while a rebuild holds it (state field frozen_until, ms,
    later than receivedAt; index/redis.ts freeze),
    {PERIOD_MISMATCH, period_start} when the live standings belong to
    another period than ARGV[2] (nothing is applied), else
    {OK, epoch, seq, outcome 1, outcome 2, ...}: seq (decimal) is the board's
    log position after the batch, whose logged submissions (those not
    duplicate) took the positions up to it in order; an outcome per submission:
      {OK, duplicate 0|1, changed 0|1, version, <entry>[, <previous>]}
      {SCORE_OVERFLOW, current score}
      {EVENT_ID_CONFLICT}
    <entry> and <previous> are 6 values each: participant id, score,
    achievedAt, updatedAt (these three in decimal), metadata JSON ('' for
    none), rank; <previous> is left out for a new participant.
]]
--- @include "board"

local board = readBoard(KEYS[1], KEYS[2], KEYS[3], KEYS[5])
if not board then return {BOARD_NOT_FOUND} end
local frozenUntil = redis.call('HGET', KEYS[1], 'frozen_until')
if frozenUntil and tonumber(frozenUntil) > tonumber(ARGV[1]) then return {BOARD_BUSY} end
if ARGV[2] ~= '' then
  local periodStart = redis.call('HGET', KEYS[1], 'period_start') or '0'
  if periodStart ~= ARGV[2] then return {PERIOD_MISMATCH, periodStart} end
end
local desc = board.desc
local shared = ARGV[3] == 'shared'
local state = redis.call('HMGET', KEYS[1], 'operator', 'seq', 'log_n', 'event_day')
local operator = state[1]
local seq = tonumber(state[2])
local logN = tonumber(state[3])
local receivedAt = ARGV[1]
local eventDay = math.floor(tonumber(receivedAt) / DAY_MS)
if state[4] then eventDay = math.max(eventDay, tonumber(state[4])) end
local latestEvents, previousEvents = eventKeys(KEYS[6], eventDay)
local eventsWritten = false
local total = redis.call('ZCARD', KEYS[2])

local function better(a, b)
  if desc then return a > b end
  return a < b
end

--[[
  The entry after the submission and whether its ranking key changed, or
  nil when an increment leaves +-(2^53-1). Mirrors core/operators.ts.
]]
local function applyOperator(current, score, timestamp, metadata)
  if not current then
    return {score = score, achievedAt = timestamp, updatedAt = timestamp, metadata = metadata}, true
  end
  local own = metadata
  if own == '' then own = current.metadata end
  local kept = {score = current.score, achievedAt = current.achievedAt, updatedAt = math.max(current.updatedAt, timestamp), metadata = current.metadata}
  if operator == 'best' then
    if better(score, current.score) then
      return {score = score, achievedAt = timestamp, updatedAt = kept.updatedAt, metadata = own}, true
    end
    if score == current.score and timestamp < current.achievedAt then
      kept.achievedAt = timestamp
      return kept, true
    end
    return kept, false
  elseif operator == 'latest' then
    if timestamp > current.updatedAt or (timestamp == current.updatedAt and better(score, current.score)) then
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
local function splitBucket()
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

local function findEvent(eventId)
  local record = redis.call('HGET', latestEvents, eventId) or redis.call('HGET', previousEvents, eventId)
  if not record then return nil end
  return cmsgpack.unpack(record)
end

local function submit(participantId, scoreText, timestampText, eventId, metadata, fingerprint)
  local score = tonumber(scoreText)
  local timestamp = tonumber(timestampText)
  local current, bucket = findEntry(board, participantId)
  local entry, changed = applyOperator(current, score, timestamp, metadata)
  if not entry then return {SCORE_OVERFLOW, decimal(current.score)} end
  -- Before anything moves: the previous entry's shared rank is the one it had in the state before.
  if current and shared then current.rank = countBetter(board, current.score) + 1 end
  local member = timeBytes(entry.achievedAt) .. participantId
  if not current then
    redis.call('ZADD', board.ranking, storedScore(board, entry.score), member)
    redis.call('HSET', bucket, participantId, bucketValue(entry.achievedAt, entry.updatedAt))
    total = total + 1
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
  if changed then
    board.version = board.version + 1
    logN = 0
    if shared then
      entry.rank = countBetter(board, entry.score) + 1
    else
      entry.rank = redis.call('ZRANK', board.ranking, member) + 1
    end
  else
    logN = logN + 1
    entry.rank = current.rank
  end
  if not current and total > board.fill * (2 ^ board.level + board.split) then splitBucket() end

  local entryMetadata = entry.metadata
  if entryMetadata ~= '' and entryMetadata == metadata then entryMetadata = '=' end
  seq = seq + 1
  redis.call('XADD', KEYS[4], decimal(board.version) .. '-' .. decimal(logN),
    'seq', decimal(seq),
    'event_id', eventId,
    'participant_id', participantId,
    'submitted', scoreText,
    'timestamp', timestampText,
    'received_at', receivedAt,
    'old_score', current and decimal(current.score) or '',
    'new_score', decimal(entry.score),
    'old_rank', current and decimal(current.rank) or '',
    'new_rank', decimal(entry.rank),
    'changed', changed and '1' or '0',
    'metadata', metadata,
    'achieved_at', decimal(entry.achievedAt),
    'updated_at', decimal(entry.updatedAt),
    'entry_metadata', entryMetadata,
    'fingerprint', fingerprint)

  local outcome = {OK, 0, changed and 1 or 0, board.version}
  pushEntry(outcome, participantId, entry)
  if current then pushEntry(outcome, participantId, current) end
  return outcome
end

local reply = {OK, board.epoch, ''}
for i = 4, #ARGV - 5, 6 do
  local participantId, eventId, metadata, fingerprint = ARGV[i], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5]
  local outcome
  local record = nil
  if eventId ~= '' then record = findEvent(eventId) end
  if record and record[1] ~= fingerprint then
    outcome = {EVENT_ID_CONFLICT}
  elseif record then
    outcome = record[2]
    outcome[2] = 1
  else
    outcome = submit(participantId, ARGV[i + 1], ARGV[i + 2], eventId, metadata, fingerprint)
    if eventId ~= '' and outcome[1] == OK then
      redis.call('HSET', latestEvents, eventId, cmsgpack.pack({fingerprint, outcome}))
      eventsWritten = true
    end
  end
  reply[#reply + 1] = outcome
end

redis.call('HSET', KEYS[1], 'version', decimal(board.version), 'seq', decimal(seq), 'log_n', decimal(logN),
  'bucket_level', decimal(board.level), 'bucket_split', decimal(board.split), 'event_day', decimal(eventDay))
if eventsWritten then redis.call('PEXPIREAT', latestEvents, decimal((eventDay + 2) * DAY_MS)) end
reply[3] = decimal(seq)
return reply
