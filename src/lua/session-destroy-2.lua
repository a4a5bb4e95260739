-- session-destroy: deletes a session and removes it from its user's index, atomically; its id
-- marker stays (at least ARGV[2] ms), so a late write cannot bring the session back.
--
-- KEYS[1]  session hash `P{b}s:<id>` (fields d data, v version, c created ms, a absolute deadline
--          ms, u user id)
-- KEYS[2]  id marker `P{b}g:<id>`
-- ARGV[1]  the id
-- ARGV[2]  least time the marker is kept, ms
-- ARGV[3]  `P{b}`: base of every key in this slot (the user index is `P{b}u:<u>`)
-- Returns the destroyed session as {d, v, c, a, u}, or false when there was none.
local s = redis.call('HMGET', KEYS[1], 'd', 'v', 'c', 'a', 'u')
if not s[1] then
  return false
end
redis.call('DEL', KEYS[1])
if s[5] then
  redis.call('ZREM', ARGV[3] .. 'u:' .. s[5], ARGV[1])
end
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
end
return s
