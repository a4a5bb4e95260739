-- session-update: replaces a session's data when its version is the one the caller read
-- (optimistic concurrency), bumps the version and pushes back the idle expiry. Never creates a
-- session: a destroyed or expired one stays gone.
--
-- KEYS[1]  session `P{b}s:<id>`, a string `<v>:<c>:<a>:<n>:<user><data>` (see session-create-3)
-- ARGV[1]  encoded data
-- ARGV[2]  expected version
-- ARGV[3]  idle time to live, ms
-- Returns {1, new version, c, a, u} when written (u false for an anonymous session), {0} when
-- there is no session, {-1, current version} when the version differs.
local s = redis.call('GET', KEYS[1])
if not s then
  return {0}
end
local v, c, a, n, from = string.match(s, '^(%d+):(%d+):(%d+):(%d+):()')
if not v then
  return redis.error_reply('session-update: not a stored session')
end
if v ~= ARGV[2] then
  return {-1, tonumber(v)}
end
local t = redis.call('TIME')
local left = tonumber(a) - (tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
if left <= 0 then
  return {0}
end
n = tonumber(n)
local user = string.sub(s, from, from + n - 1)
local header = string.format('%d:%s:%s:%d:', tonumber(v) + 1, c, a, n)
redis.call('SET', KEYS[1], header .. user .. ARGV[1], 'PX', math.min(tonumber(ARGV[3]), left))
return {1, tonumber(v) + 1, c, a, n > 0 and user or false}
