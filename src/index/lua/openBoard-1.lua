--[[
  Makes a board known with no entries, unless it is known already (then
  nothing changes). An empty board is this one small hash.

  Input:
    KEYS[1]  board state (hash)
    ARGV[1]  epoch
    ARGV[2]  version
    ARGV[3]  sort order: 'desc' or 'asc'
    ARGV[4]  operator: 'best', 'latest' or 'increment'
    ARGV[5]  seq: the last log position used (0 for a new board)
    ARGV[6]  bucket fill: entries per bucket hash on average
    ARGV[7]  period_start: the start (ms) of the period its live standings
             belong to (0 without resets; applyScores checks it)

  Output:
    1 when the board was made, 0 when it was known already
]]
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1],
  'epoch', ARGV[1], 'version', ARGV[2], 'order', ARGV[3], 'operator', ARGV[4], 'seq', ARGV[5],
  'log_n', '0', 'bucket_level', '0', 'bucket_split', '0', 'bucket_fill', ARGV[6], 'period_start', ARGV[7])
return 1
