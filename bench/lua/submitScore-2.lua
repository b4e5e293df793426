--[[
  Anchor of the HTTP benchmark: what one score submission costs when the
  ranking lives in a Redis sorted set. Not Ladder's cluster script (that one
  also applies the operator, breaks ties and appends to a stream): this is the
  plain minimum a Redis-backed leaderboard does per submission.

  Input:
    KEYS[1]  sorted set of the board
    KEYS[2]  version counter of the board
    ARGV[1]  score (integer, as a string)
    ARGV[2]  member (participant id)

  Output:
    { rank (0-based, best first), version }
]]
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
local rank = redis.call('ZREVRANK', KEYS[1], ARGV[2])
local version = redis.call('INCR', KEYS[2])
return { rank, version }
