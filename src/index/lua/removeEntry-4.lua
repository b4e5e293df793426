--[[
  Removes one participant's entry from a board (an erasure), atomically:
  from the ranking, its bucket and the metadata hash; the entries below
  move up one rank, and the version goes up by one. The change log is not
  touched: a removal takes no log position, and what the log holds of the
  participant is the caller's to move to the durable store first
  (backend/cluster.ts drains it). Event ids stay remembered until their
  hashes expire. A frozen board (index/redis.ts freeze) is not refused:
  the caller froze it.

  A log entry id is <version>-<n>; after the removal the next submission
  that changes nothing is <version>-1, as after any change.

  Input:
    KEYS[1]  board state (hash)
    KEYS[2]  ranking (sorted set)
    KEYS[3]  entry metadata (hash)
    KEYS[4]  prefix of the bucket hashes (KEYS[4] .. i)
    ARGV[1]  participant id

  Output:
    {BOARD_NOT_FOUND} when the board does not exist, else
    {OK, epoch, seq, version, total, removed 0|1[, <entry>]}: seq (decimal)
    is the board's log position, which a removal does not take; version
    and total are the board's after it; <entry> (6 values: participant id,
    score, achievedAt, updatedAt in decimal, metadata JSON or '', rank) is
    the entry removed, with the rank it had.
]]
--- @include "board"

local board = readBoard(KEYS[1], KEYS[2], KEYS[3], KEYS[4])
if not board then return {BOARD_NOT_FOUND} end
local participantId = ARGV[1]
local seq = redis.call('HGET', KEYS[1], 'seq')
local entry, bucket = findEntry(board, participantId)
if not entry then
  return {OK, board.epoch, seq, board.version, redis.call('ZCARD', KEYS[2]), 0}
end

redis.call('ZREM', KEYS[2], entry.member)
redis.call('HDEL', bucket, participantId)
if board.hasMetadata then redis.call('HDEL', KEYS[3], participantId) end
board.version = board.version + 1
redis.call('HSET', KEYS[1], 'version', decimal(board.version), 'log_n', '0')

local reply = {OK, board.epoch, seq, board.version, redis.call('ZCARD', KEYS[2]), 1}
pushEntry(reply, participantId, entry)
return reply
