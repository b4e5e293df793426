--[[
  The last step of a rebuild (RedisIndex.load): the caller has written the
  board's new entries under temporary keys (which expire, should it die
  first); this replaces the board's entries with them, forgets its change
  log and event ids, and sets its state, in one atomic step. For a scope
  ranking (src/core/derived.ts), the scope members hash follows: the
  participants of the old entries leave the value, those of the new join it.

  Input:
    KEYS[1]  board state (hash)
    KEYS[2]  ranking (sorted set)
    KEYS[3]  entry metadata (hash)
    KEYS[4]  change log (stream)
    KEYS[5]  prefix of the bucket hashes
    KEYS[6]  prefix of the event-id hashes
    KEYS[7]  the new ranking (temporary)
    KEYS[8]  the new entry metadata (temporary)
    KEYS[9]  prefix of the new bucket hashes (temporary)
    KEYS[10] the scope members hash of the board's board (src/index/redis-keys.ts)
    ARGV[1]  epoch
    ARGV[2]  version
    ARGV[3]  seq: the last log position used, or '' to keep the board's
    ARGV[4]  bucket level of the new buckets
    ARGV[5]  bucket split of the new buckets
    ARGV[6]  bucket fill
    ARGV[7]  for a scope ranking, its members' field prefix '<scope>:', else ''
    ARGV[8]  for a scope ranking, its value

  Output:
    OK, or BOARD_NOT_FOUND when the board does not exist (then the
    temporary keys are deleted and nothing else changes)
]]
--- @include "board"

local buckets = 2 ^ tonumber(ARGV[4]) + tonumber(ARGV[5])
local known = redis.call('EXISTS', KEYS[1]) == 1

local function adopt(from, to)
  if redis.call('EXISTS', from) == 0 then return end
  if known then
    redis.call('RENAME', from, to)
    redis.call('PERSIST', to)
  else
    redis.call('UNLINK', from)
  end
end

local scoped = ARGV[7] ~= ''
if known and scoped then forgetMembers(KEYS[2], KEYS[10], ARGV[7], ARGV[8]) end
if known then unlinkEntries(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]) end
adopt(KEYS[7], KEYS[2])
adopt(KEYS[8], KEYS[3])
for i = 0, buckets - 1 do adopt(KEYS[9] .. decimal(i), KEYS[5] .. decimal(i)) end
if not known then return BOARD_NOT_FOUND end
if scoped then adoptMembers(KEYS[2], KEYS[10], ARGV[7], ARGV[8]) end

redis.call('HSET', KEYS[1], 'epoch', ARGV[1], 'version', ARGV[2], 'log_n', '0',
  'bucket_level', ARGV[4], 'bucket_split', ARGV[5], 'bucket_fill', ARGV[6])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'seq', ARGV[3]) end
redis.call('HDEL', KEYS[1], 'event_day')
return OK
