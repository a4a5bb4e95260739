-- session-list: the live sessions of a user, oldest first; drops index entries whose session
-- expired on its own (the index is kept without keyspace notifications, pruned lazily).
--
-- KEYS[1]  user index `P{b}u:<userId>`, a sorted set of ids scored by creation time (µs)
-- ARGV[1]  `P{b}`: base of every key in this slot (sessions are `P{b}s:<id>`)
-- Returns a flat list {id, created µs, ms to idle expiry, ...}.
local out = {}
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')) do
  out[#out + 1] = m
end
local live = {}
for i = 1, #out, 2 do
  local ttl = redis.call('PTTL', ARGV[1] .. 's:' .. out[i])
  if ttl < 0 then
    redis.call('ZREM', KEYS[1], out[i])
  else
    live[#live + 1] = out[i]
    live[#live + 1] = out[i + 1]
    live[#live + 1] = ttl
  end
end
return live
