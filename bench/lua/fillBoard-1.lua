--[[
  Fills a sorted set with members p-<first> .. p-<first + count - 1> and
  deterministic pseudo-random integer scores in [0, 1e9), in ZADDs of 1000
  members (unpack stays far below Lua's C stack limit). Called in slices by
  the caller, so that Redis is never blocked for long.

  Input:
    KEYS[1]  sorted set
    ARGV[1]  first member index
    ARGV[2]  count

  Output:
    the sorted set's cardinality afterwards (integer)
]]
local first = tonumber(ARGV[1])
local last = first + tonumber(ARGV[2]) - 1
local args = {}
local i = first
while i <= last do
  local n = 0
  local stop = math.min(i + 999, last)
  for m = i, stop do
    -- Knuth's multiplicative hash: below 2^53, so exact in Lua's doubles.
    args[n + 1] = (m * 2654435761) % 1000000000
    args[n + 2] = 'p-' .. m
    n = n + 2
  end
  redis.call('ZADD', KEYS[1], unpack(args, 1, n))
  i = stop + 1
end
return redis.call('ZCARD', KEYS[1])
