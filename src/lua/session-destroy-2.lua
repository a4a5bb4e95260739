-- session-destroy: deletes a session and removes it from its user's index, atomically; its id
-- marker stays (at least ARGV[2] ms), so a late write cannot bring the session back.
--
-- KEYS[1]  session `P{b}s:<id>`, a string `<v>:<c>:<a>:<n>:<user><data>` (see session-create-3)
-- KEYS[2]  id marker `P{b}g:<id>`
-- ARGV[1]  the id
-- ARGV[2]  least time the marker is kept, ms
-- ARGV[3]  `P{b}`: base of every key in this slot (the user index is `P{b}u:<u>`)
-- Returns the destroyed session's stored value, or false when there was none.
local s = redis.call('GET', KEYS[1])
if not s then
  return false
end
redis.call('DEL', KEYS[1])
local n, from = string.match(s, '^%d+:%d+:%d+:(%d+):()')
if n and tonumber(n) > 0 then
  redis.call('ZREM', ARGV[3] .. 'u:' .. string.sub(s, from, from + tonumber(n) - 1), ARGV[1])
end
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
end
return s
