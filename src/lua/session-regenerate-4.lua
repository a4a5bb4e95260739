-- session-regenerate: moves a session to a new id in one atomic step (the defence against
-- session fixation): same data, version, creation time and absolute deadline; the old id stops
-- working at once and its marker stays, so it can never be used again. The user index follows.
--
-- Both ids share the bucket `{b}`, so every key is in one Cluster slot.
--
-- KEYS[1]  old session hash `P{b}s:<old>`
-- KEYS[2]  old id marker `P{b}g:<old>`
-- KEYS[3]  new session hash `P{b}s:<new>`
-- KEYS[4]  new id marker `P{b}g:<new>`
-- ARGV[1]  old id
-- ARGV[2]  new id
-- ARGV[3]  idle time to live, ms (also the least time the old marker is kept)
-- ARGV[4]  `P{b}`: base of every key in this slot (the user index is `P{b}u:<u>`)
-- Returns {1, d, v, c, a, u} when moved, {0} when there is no session, {-1} when the new id is
-- taken.
if redis.call('EXISTS', KEYS[3], KEYS[4]) > 0 then
  return {-1}
end
local s = redis.call('HMGET', KEYS[1], 'd', 'v', 'c', 'a', 'u')
if not s[1] then
  return {0}
end
local t = redis.call('TIME')
local left = tonumber(s[4]) - (tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
if left <= 0 then
  return {0}
end
local idle = tonumber(ARGV[3])
redis.call('RENAME', KEYS[1], KEYS[3])
redis.call('PEXPIRE', KEYS[3], math.min(idle, left))
redis.call('SET', KEYS[4], '1', 'PX', left + idle)
if redis.call('PTTL', KEYS[2]) < idle then
  redis.call('SET', KEYS[2], '1', 'PX', idle)
end
if s[5] then
  local index = ARGV[4] .. 'u:' .. s[5]
  local score = redis.call('ZSCORE', index, ARGV[1])
  redis.call('ZREM', index, ARGV[1])
  redis.call('ZADD', index, score or (tonumber(s[3]) * 1000), ARGV[2])
end
return {1, s[1], s[2], s[3], s[4], s[5]}
