--[[
  applyScores-6.lua for a board with derived rankings (src/core/derived.ts,
  src/index/derived.ts), in the same atomic step: every accepted submission
  (not a duplicate, not an error) is applied to the all-time ranking too,
  and for each scope, the ranking of the participant's value (the one the
  submission names, else the one they have) gets the board's entry as it
  now is, exactly, and the ranking of the value they had before, when it
  differs, loses them. The scope members hash says who is where. A derived
  ranking is a board of its own, whose keys share the board's hash tag:
  KEYS[7] .. '<suffix>:' then 's', 'z', 'm', 'log', 'h:', 'e:', with
  suffix 'all' or '<scope>=<value>'.

  Input:
    KEYS[1..6]  the board's, as applyScores-6.lua
    KEYS[7]     prefix of the derived rankings' keys; KEYS[7] .. 'members'
                is the scope members hash (src/index/redis-keys.ts)
    ARGV[1]     receivedAt, as applyScores-6.lua
    ARGV[2]     period start, as applyScores-6.lua; the scope rankings'
                period_start is checked against it too
    ARGV[3]     ties, as applyScores-6.lua: 'shared' or 'unique', for the
                board and its derived rankings alike
    ARGV[4]     '1' when the board keeps an all-time ranking, else ''
    ARGV[5]     k, the number of the board's scopes
    ARGV[6 .. 5 + k]  their names
    then per submission 6 + k values: the six of applyScores-6.lua, then
    its value of each scope ('' for none)

  Output:
    as applyScores-6.lua, and
    {DERIVED_NOT_FOUND, suffix, ...} when derived rankings the batch writes
    do not exist (nothing is applied),
    {BOARD_BUSY} also while one of them is frozen,
    {DERIVED_PERIOD_MISMATCH, suffix, period_start} when a scope ranking's
    live standings belong to another period than ARGV[2],
    else {OK, epoch, seq, <derived>, outcome 1, outcome 2, ...} where
    <derived> lists each derived ranking that logged something: suffix,
    epoch, seq (decimal), events logged, version, changed 0|1.
]]
--- @include "board"
--- @include "apply"

local receivedAt = ARGV[1]
local board = openWrite(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], receivedAt)
if not board then return {BOARD_NOT_FOUND} end
if isFrozen(board, receivedAt) then return {BOARD_BUSY} end
if ARGV[2] ~= '' and board.periodStart ~= ARGV[2] then return {PERIOD_MISMATCH, board.periodStart} end

local shared = ARGV[3] == 'shared'
board.shared = shared
local members = KEYS[7] .. 'members'
local k = tonumber(ARGV[5])
local names = {}
for j = 1, k do names[j] = ARGV[5 + j] end
local first = 6 + k
local stride = 6 + k

-- Every derived ranking the batch may write, opened first: nothing is applied unless all can be.
local derived, opened, missing = {}, {}, {}
local busy, mismatch = false, nil
local function need(suffix, isScope)
  if derived[suffix] ~= nil then return end
  local base = KEYS[7] .. suffix .. ':'
  local ranking = openWrite(base .. 's', base .. 'z', base .. 'm', base .. 'log', base .. 'h:', base .. 'e:', receivedAt)
  if not ranking then
    derived[suffix] = false
    missing[#missing + 1] = suffix
    return
  end
  if isFrozen(ranking, receivedAt) then busy = true end
  if isScope and ARGV[2] ~= '' and ranking.periodStart ~= ARGV[2] and not mismatch then mismatch = {suffix, ranking.periodStart} end
  ranking.suffix = suffix
  ranking.shared = shared
  derived[suffix] = ranking
  opened[#opened + 1] = ranking
end
if ARGV[4] == '1' then need('all', false) end
for i = first, #ARGV - stride + 1, stride do
  for j = 1, k do
    local value = ARGV[i + 5 + j]
    if value ~= '' then need(names[j] .. '=' .. value, true) end
    local current = redis.call('HGET', members, names[j] .. ':' .. ARGV[i])
    if current then need(names[j] .. '=' .. current, true) end
  end
end
if #missing > 0 then return {DERIVED_NOT_FOUND, unpack(missing)} end
if busy then return {BOARD_BUSY} end
if mismatch then return {DERIVED_PERIOD_MISMATCH, mismatch[1], mismatch[2]} end

local allTime = derived['all'] or nil
local reply = {OK, board.epoch, '', {}}
for i = first, #ARGV - stride + 1, stride do
  local participantId, scoreText, timestampText, eventId, metadata, fingerprint = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5]
  local outcome, entry = nil, nil
  local remembered = eventId ~= '' and findEvent(board, eventId)
  if allTime and not remembered and board.operator == 'increment' then
    -- The all-time total may overflow where the period's does not: then nothing is applied.
    local total = findEntry(allTime, participantId)
    local sum = total and total.score + tonumber(scoreText)
    if total and (sum > MAX_SCORE or sum < -MAX_SCORE) then outcome = {SCORE_OVERFLOW, decimal(total.score)} end
  end
  if not outcome then outcome, entry = applySubmission(board, participantId, scoreText, timestampText, eventId, metadata, fingerprint, receivedAt) end
  if entry then
    if allTime then applySubmission(allTime, participantId, scoreText, timestampText, eventId, metadata, fingerprint, receivedAt) end
    for j = 1, k do
      local field = names[j] .. ':' .. participantId
      local before = redis.call('HGET', members, field)
      local value = ARGV[i + 5 + j]
      if value == '' then value = before end
      if value then
        placeIn(derived[names[j] .. '=' .. value], participantId, entry, receivedAt)
        if before and before ~= value then removeFrom(derived[names[j] .. '=' .. before], participantId, receivedAt) end
        if before ~= value then redis.call('HSET', members, field, value) end
      end
    end
  end
  reply[#reply + 1] = outcome
end

closeWrite(board)
reply[3] = decimal(board.seq)
local written = reply[4]
for _, ranking in ipairs(opened) do
  if ranking.logged > 0 then
    closeWrite(ranking)
    written[#written + 1] = ranking.suffix
    written[#written + 1] = ranking.epoch
    written[#written + 1] = decimal(ranking.seq)
    written[#written + 1] = ranking.logged
    written[#written + 1] = ranking.version
    written[#written + 1] = ranking.changed and 1 or 0
  end
end
return reply
