-- session-get: reads a session and pushes back its idle expiry in the same round trip (sliding
-- sessions). The new expiry never passes the session's absolute deadline.
--
-- KEYS[1]  session hash `P{b}s:<id>` (fields d data, v version, c created ms, a absolute deadline
--          ms, u user id)
-- ARGV[1]  idle time to live, ms
-- Returns {d, v, c, a, u} (u false for an anonymous session), or false when there is no session.
local s = redis.call('HMGET', KEYS[1], 'd', 'v', 'c', 'a', 'u')
if not s[1] then
  return false
end
local t = redis.call('TIME')
local left = tonumber(s[4]) - (tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
if left <= 0 then
  -- past its absolute deadline: the key's own expiry is due within the millisecond
  return false
end
redis.call('PEXPIRE', KEYS[1], math.min(tonumber(ARGV[1]), left))
return s
