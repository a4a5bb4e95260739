-- session-get: reads a session and pushes back its idle expiry in the same round trip (sliding
-- sessions), never past the session's absolute deadline. The exact form of the sliding read: the
-- caller sends a bare GETEX instead when it knows the deadline to be far off.
--
-- KEYS[1]  session `P{b}s:<id>`, a string `<v>:<c>:<a>:<n>:<user><data>` (see session-create-3)
-- ARGV[1]  idle time to live, ms
-- Returns {server time ms, stored value}, or {server time ms} when there is no session.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local s = redis.pcall('GET', KEYS[1])
if type(s) ~= 'string' then
  -- none, or a key of another layout: no session
  return {now}
end
local a = tonumber(string.match(s, '^%d+:%d+:(%d+):'))
local left = a and (a - now) or 0
if left <= 0 then
  -- past its absolute deadline: the key's own expiry is due within the millisecond
  return {now}
end
redis.call('PEXPIRE', KEYS[1], math.min(tonumber(ARGV[1]), left))
return {now, s}
