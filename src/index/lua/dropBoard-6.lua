--[[
  Forgets a board: its state, entries, change log and event ids. Idempotent.
  The bucket and event-id keys are named from the prefixes in KEYS[5] and
  KEYS[6], which share the board's hash tag (one cluster slot).

  Input:
    KEYS[1]  board state (hash)
    KEYS[2]  ranking (sorted set)
    KEYS[3]  entry metadata (hash)
    KEYS[4]  change log (stream)
    KEYS[5]  prefix of the bucket hashes
    KEYS[6]  prefix of the event-id hashes

  Output:
    1 when the board existed, 0 otherwise
]]
--- @include "board"

local existed = redis.call('EXISTS', KEYS[1])
unlinkEntries(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6])
redis.call('UNLINK', KEYS[1])
return existed
