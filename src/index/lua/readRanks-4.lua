--[[
  Answers any number of rank queries from one state of a board, so that
  every page, the version, the epoch and the total are one snapshot.
  Windows follow core/windows.ts (aroundSpan, neighborSpan).

  Input:
    KEYS[1]  board state (hash)
    KEYS[2]  ranking (sorted set)
    KEYS[3]  entry metadata (hash)
    KEYS[4]  prefix of the bucket hashes (KEYS[4] .. i)
    ARGV[1]  'shared' to count, for shared ranks, the entries with a strictly
             better score (a ZCOUNT on the score range), else 'unique'
    ARGV[2..] the queries, one after the other:
               'page', offset, limit
               'around', participant id, size
               'neighbors', participant id, radius
               'participants', count n, n participant ids

  Output:
    {BOARD_NOT_FOUND} when the board does not exist, else
    {OK, epoch, version, total, page 1, page 2, ...}, a page per query:
      {has focus 0|1, <better>[, <focus>], <entry>, <entry>, ...}
    where <focus> and each <entry> are 6 values: participant id, score,
    achievedAt, updatedAt (these three in decimal), metadata JSON ('' for
    none), rank (unique). <better> is 0 for 'unique'; for 'shared' an array
    of counts of entries with a strictly better score: one per entry for a
    'participants' page, else one for its first entry (none when empty), as
    the later ones of consecutive entries follow from the scores
    (core/ties.ts).
]]
--- @include "board"

local board = readBoard(KEYS[1], KEYS[2], KEYS[3], KEYS[4])
if not board then return {BOARD_NOT_FOUND} end
local total = redis.call('ZCARD', KEYS[2])

-- Ranks offset + 1 .. offset + limit, cut off at the end of the board.
local function pushSpan(page, offset, limit)
  local first = math.max(0, offset) + 1
  pushRange(board, page, first, math.min(total, math.max(0, offset) + math.max(0, limit)))
end

local shared = ARGV[1] == 'shared'

-- The counts for page[3..]'s entries (6 values each, after the focus when there is one).
local function betterOf(page, kind)
  if not shared then return 0 end
  local first = 3
  if page[1] == 1 then first = 9 end
  local counts = {}
  for at = first, #page, 6 do
    counts[#counts + 1] = countBetter(board, tonumber(page[at + 1]))
    if kind ~= 'participants' then break end
  end
  return counts
end

local reply = {OK, board.epoch, board.version, total}
local i = 2
while i <= #ARGV do
  local kind = ARGV[i]
  local page = {0, 0}
  if kind == 'page' then
    pushSpan(page, tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]))
    i = i + 3
  elseif kind == 'participants' then
    local count = tonumber(ARGV[i + 1])
    local found, seen = {}, {}
    for k = i + 2, i + 1 + count do
      local participantId = ARGV[k]
      if not seen[participantId] then
        seen[participantId] = true
        local entry = findEntry(board, participantId)
        if entry then
          entry.participantId = participantId
          found[#found + 1] = entry
        end
      end
    end
    table.sort(found, function(a, b) return a.rank < b.rank end)
    for _, entry in ipairs(found) do pushEntry(page, entry.participantId, entry) end
    i = i + 2 + count
  else
    local participantId, size = ARGV[i + 1], tonumber(ARGV[i + 2])
    local focus = findEntry(board, participantId)
    if focus then
      page[1] = 1
      pushEntry(page, participantId, focus)
      if kind == 'around' then
        local centred = focus.rank - 1 - math.floor((size - 1) / 2)
        pushSpan(page, math.max(0, math.min(centred, total - size)), size)
      else
        local offset = math.max(0, focus.rank - 1 - size)
        pushSpan(page, offset, focus.rank + size - offset)
      end
    end
    i = i + 3
  end
  page[2] = betterOf(page, kind)
  reply[#reply + 1] = page
end
return reply
