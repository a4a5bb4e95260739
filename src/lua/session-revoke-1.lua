-- session-revoke: ends every session of a user at once and deletes the index. Their id markers
-- stay (at least ARGV[2] ms), so a late write cannot bring any of them back.
--
-- KEYS[1]  user index `P{b}u:<userId>`, a sorted set of ids
-- ARGV[1]  `P{b}`: base of every key in this slot (sessions `P{b}s:<id>`, markers `P{b}g:<id>`)
-- ARGV[2]  least time a marker is kept, ms
-- Returns how many live sessions were ended.
local ended = 0
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  ended = ended + redis.call('DEL', ARGV[1] .. 's:' .. m)
  local marker = ARGV[1] .. 'g:' .. m
  if redis.call('PTTL', marker) < tonumber(ARGV[2]) then
    redis.call('SET', marker, '1', 'PX', ARGV[2])
  end
end
redis.call('DEL', KEYS[1])
return ended
