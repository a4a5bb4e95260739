-- session-put: the express-session `set` (an upsert under an id express-session chose). Writes
-- the data of a live session, or creates a session under a never-used id; refuses an id whose
-- session ended (destroyed, revoked, regenerated or expired), so a late write from a request
-- still in flight cannot bring it back.
--
-- KEYS[1]  session `P{b}s:<id>`, a string `<v>:<c>:<a>:<n>:<user><data>` (see session-create-3)
-- KEYS[2]  id marker `P{b}g:<id>`: exists from creation until after the session ended
-- ARGV[1]  encoded data
-- ARGV[2]  idle time to live, ms
-- ARGV[3]  absolute time to live of a new session, ms
-- ARGV[4]  how long the marker outlives the session, ms
-- Returns {1, a} when an existing session was written, {2, a} when a session was created (a: its
-- absolute deadline ms), {0} when the id's session ended.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local idle = tonumber(ARGV[2])
local s = redis.call('GET', KEYS[1])
if s then
  local v, c, a, n, from = string.match(s, '^(%d+):(%d+):(%d+):(%d+):()')
  if not v then
    return redis.error_reply('session-put: not a stored session')
  end
  local left = tonumber(a) - now
  if left <= 0 then
    return {0}
  end
  n = tonumber(n)
  local header = string.format('%d:%s:%s:%d:', tonumber(v) + 1, c, a, n)
  redis.call('SET', KEYS[1], header .. string.sub(s, from, from + n - 1) .. ARGV[1], 'PX',
    math.min(idle, left))
  return {1, tonumber(a)}
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  return {0}
end
local left = tonumber(ARGV[3])
redis.call('SET', KEYS[1], string.format('1:%d:%d:0:', now, now + left) .. ARGV[1], 'PX',
  math.min(idle, left))
redis.call('SET', KEYS[2], '1', 'PX', left + tonumber(ARGV[4]))
return {2, now + left}
