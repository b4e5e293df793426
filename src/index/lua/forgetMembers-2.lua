--[[
  A scope ranking is dropped (its board no longer keeps the scope): the
  scope members hash forgets that its participants are in its value.

  Input:
    KEYS[1]  the scope ranking (sorted set)
    KEYS[2]  the scope members hash of its board (src/index/redis-keys.ts)
    ARGV[1]  the members' field prefix, '<scope>:'
    ARGV[2]  the ranking's value

  Output:
    OK
]]
--- @include "board"

forgetMembers(KEYS[1], KEYS[2], ARGV[1], ARGV[2])
return OK
