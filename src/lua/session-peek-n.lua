-- session-peek: reads the data and absolute deadline of one or more sessions without pushing
-- back their expiry (the express-session `get`: express-session touches at the end of the
-- request). Concurrent reads of one tick are sent as one call (per Cluster slot: all keys of one
-- call share a hash slot).
--
-- KEYS[1..n]  session hashes `P{b}s:<id>` (fields d data, a absolute deadline ms)
-- Returns {now, d1, a1, ..., dn, an}: the server's time in ms, then for each key its data and
-- deadline (both false when KEYS[i] does not exist).
local t = redis.call('TIME')
local out = {tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)}
for i, key in ipairs(KEYS) do
  local s = redis.call('HMGET', key, 'd', 'a')
  out[2 * i] = s[1]
  out[2 * i + 1] = s[2]
end
return out
