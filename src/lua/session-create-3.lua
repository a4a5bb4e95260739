-- session-create: creates a session, adds it to its user's index, prunes the index and enforces
-- the per-user cap (oldest sessions revoked first), in one atomic step.
--
-- Every key touched shares one hash tag `{b}` (the bucket, the id's first two characters), so on
-- a Cluster all of them live in one slot; keys of other sessions of the user are built from
-- ARGV[6] for that reason.
--
-- KEYS[1]  session `P{b}s:<id>`, a string `<v>:<c>:<a>:<n>:<user><data>` (version, created ms,
--          absolute deadline ms, byte length of the user id, the user id, the encoded data; see
--          src/cache/sessionValue.ts) whose TTL is min(idle, deadline - now)
-- KEYS[2]  id marker `P{b}g:<id>`: outlives the session, so its id can never be used again
-- KEYS[3]  user index `P{b}u:<userId>`, a sorted set of ids scored by creation time in
--          microseconds (so sessions made in one millisecond still have an order); not touched
--          when ARGV[4] is ''
-- ARGV[1]  the id
-- ARGV[2]  encoded data
-- ARGV[3]  idle time to live, ms
-- ARGV[4]  user id, or '' for an anonymous session
-- ARGV[5]  most sessions a user may have, 0 for no cap
-- ARGV[6]  `P{b}`: base of every key in this slot
-- ARGV[7]  absolute time to live from now, ms (a new session)
-- ARGV[8]  '' for a new session; for a session carried over from another slot (regenerate with a
--          new user): its created ms, absolute deadline ms and version, as 'c:a:v'
-- Returns {version, created ms, absolute deadline ms, evicted count, server time ms}, or false
-- when the id (or its marker) exists already.
if redis.call('EXISTS', KEYS[1], KEYS[2]) > 0 then
  return false
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local score = tonumber(t[1]) * 1000000 + tonumber(t[2])
local idle = tonumber(ARGV[3])
local created, deadline, version = now, now + tonumber(ARGV[7]), 1
if ARGV[8] ~= '' then
  local c, a, v = string.match(ARGV[8], '^(%d+):(%d+):(%d+)$')
  created, deadline, version = tonumber(c), tonumber(a), tonumber(v)
  score = created * 1000
end
local left = deadline - now
if left <= 0 then
  return false
end
local user = ARGV[4]
local header = string.format('%d:%d:%d:%d:', version, created, deadline, #user)
redis.call('SET', KEYS[1], header .. user .. ARGV[2], 'PX', math.min(idle, left))
redis.call('SET', KEYS[2], '1', 'PX', left + idle)

local evicted = 0
if user ~= '' then
  local index, base, id = KEYS[3], ARGV[6], ARGV[1]
  redis.call('ZADD', index, score, id)
  -- lazy pruning: ids whose session expired on its own
  local members = redis.call('ZRANGE', index, 0, -1)
  local live = {}
  for _, m in ipairs(members) do
    if m == id or redis.call('EXISTS', base .. 's:' .. m) == 1 then
      live[#live + 1] = m
    else
      redis.call('ZREM', index, m)
    end
  end
  local max = tonumber(ARGV[5])
  if max > 0 then
    local excess = #live - max
    -- `live` is ordered oldest first; never evict the session being created
    for _, m in ipairs(live) do
      if excess <= 0 then break end
      if m ~= id then
        redis.call('DEL', base .. 's:' .. m)
        redis.call('ZREM', index, m)
        excess = excess - 1
        evicted = evicted + 1
      end
    end
  end
  -- the index lives as long as its longest-lived session could
  if redis.call('PTTL', index) < left + idle then
    redis.call('PEXPIRE', index, left + idle)
  end
end
return {version, created, deadline, evicted, now}
