--[[
  Takes `amount` from a fixed window's budget of `limit`, when it fits:
  the window starts with the first take and lasts `window` ms (the key's
  expiry). A refused take leaves the window as it is.

  Input:
    KEYS[1]  the window's counter (a string holding the amount taken)
    ARGV[1]  amount to take (integer >= 0)
    ARGV[2]  limit of the window (integer)
    ARGV[3]  window length in ms

  Output:
    { taken (1 or 0), amount taken in the window after it, ms until the window ends }
]]
local amount = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  -- No window yet (or a counter without expiry, which no take leaves): one starts now.
  used = 0
  ttl = window
end
if used + amount > limit then
  return { 0, used, ttl }
end
redis.call('SET', KEYS[1], used + amount, 'PX', ttl)
return { 1, used + amount, ttl }
