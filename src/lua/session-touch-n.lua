-- session-touch: pushes back the idle expiry of one or more sessions, each never past its
-- absolute deadline. Concurrent touches of one tick are sent as one call (per Cluster slot: all
-- keys of one call share a hash slot).
--
-- KEYS[1..n]  session hashes `P{b}s:<id>` (field a: absolute deadline ms)
-- ARGV[1..n]  idle time to live of KEYS[i], ms
-- Returns {r1, ..., rn}: ri is 1 when KEYS[i] exists, 0 when it does not.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for i, key in ipairs(KEYS) do
  local a = redis.call('HGET', key, 'a')
  local left = a and (tonumber(a) - now) or 0
  if left > 0 then
    redis.call('PEXPIRE', key, math.min(tonumber(ARGV[i]), left))
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
