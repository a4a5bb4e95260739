-- session-expire: pushes back the idle expiry of sessions whose absolute deadline the caller
-- knows to be further away than the new expiry (a deadline never changes, so the caller
-- remembers it from a read, and judges "further away" by the server's clock as that read
-- reported it). The cheap form of session-touch-n: no read of the deadline.
--
-- KEYS[1..n]  session hashes `P{b}s:<id>`
-- ARGV[1..n]  idle time to live of KEYS[i], ms
-- Returns {r1, ..., rn}: ri is 1 when KEYS[i] exists, 0 when it does not.
local out = {}
for i, key in ipairs(KEYS) do
  out[i] = redis.call('PEXPIRE', key, ARGV[i])
end
return out
