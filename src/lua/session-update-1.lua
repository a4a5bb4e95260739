-- session-update: replaces a session's data when its version is the one the caller read
-- (optimistic concurrency), bumps the version and pushes back the idle expiry. Never creates a
-- session: a destroyed or expired one stays gone.
--
-- KEYS[1]  session hash `P{b}s:<id>` (fields d data, v version, c created ms, a absolute deadline
--          ms, u user id)
-- ARGV[1]  encoded data
-- ARGV[2]  expected version
-- ARGV[3]  idle time to live, ms
-- Returns {1, new version, c, a, u} when written, {0} when there is no session, {-1, current
-- version} when the version differs.
local s = redis.call('HMGET', KEYS[1], 'v', 'c', 'a', 'u')
if not s[1] then
  return {0}
end
if s[1] ~= ARGV[2] then
  return {-1, tonumber(s[1])}
end
local t = redis.call('TIME')
local left = tonumber(s[3]) - (tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
if left <= 0 then
  return {0}
end
local v = redis.call('HINCRBY', KEYS[1], 'v', 1)
redis.call('HSET', KEYS[1], 'd', ARGV[1])
redis.call('PEXPIRE', KEYS[1], math.min(tonumber(ARGV[3]), left))
return {1, v, s[2], s[3], s[4]}
