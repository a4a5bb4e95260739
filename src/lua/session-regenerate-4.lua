-- session-regenerate: moves a session to a new id in one atomic step (the defence against
-- session fixation): same data, version, creation time and absolute deadline; the old id stops
-- working at once and its marker stays, so it can never be used again. The user index follows.
--
-- Both ids share the bucket `{b}`, so every key is in one Cluster slot.
--
-- KEYS[1]  old session `P{b}s:<old>`, a string `<v>:<c>:<a>:<n>:<user><data>` (see
--          session-create-3)
-- KEYS[2]  old id marker `P{b}g:<old>`
-- KEYS[3]  new session `P{b}s:<new>`
-- KEYS[4]  new id marker `P{b}g:<new>`
-- ARGV[1]  old id
-- ARGV[2]  new id
-- ARGV[3]  idle time to live, ms (also the least time the old marker is kept)
-- ARGV[4]  `P{b}`: base of every key in this slot (the user index is `P{b}u:<u>`)
-- Returns {1, stored value} when moved, {0} when there is no session, {-1} when the new id is
-- taken.
if redis.call('EXISTS', KEYS[3], KEYS[4]) > 0 then
  return {-1}
end
local s = redis.call('GET', KEYS[1])
if not s then
  return {0}
end
local c, a, n, from = string.match(s, '^%d+:(%d+):(%d+):(%d+):()')
if not c then
  return redis.error_reply('session-regenerate: not a stored session')
end
local t = redis.call('TIME')
local left = tonumber(a) - (tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
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
n = tonumber(n)
if n > 0 then
  local index = ARGV[4] .. 'u:' .. string.sub(s, from, from + n - 1)
  local score = redis.call('ZSCORE', index, ARGV[1])
  redis.call('ZREM', index, ARGV[1])
  redis.call('ZADD', index, score or (tonumber(c) * 1000), ARGV[2])
end
return {1, s}
