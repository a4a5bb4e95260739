-- session-touch: pushes back the idle expiry of one or more sessions, each never past its
-- absolute deadline: the new expiry is min(now + idle, deadline), on the server's clock.
-- Concurrent touches of one tick are sent as one call (per Cluster slot: all keys of one call
-- share a hash slot). Most sessions are nowhere near their deadline: the caller puts those
-- last and passes the earliest of their deadlines less the longest idle time (a deadline never
-- changes, so the caller remembers them from its reads and writes); while that is still ahead
-- of the server's clock, each of them takes a bare PEXPIRE. Every other key has its deadline
-- read from the value's header first.
--
-- KEYS[1..n]  sessions `P{b}s:<id>`, strings `<v>:<c>:<a>:<n>:<user><data>` (see
--             session-create-3)
-- ARGV[1]     c: the first c keys have their deadline read in any case
-- ARGV[2]     for KEYS[c + 1..n]: the earliest deadline less the longest idle time, ms ('' when
--             c = n)
-- ARGV[3]     idle time to live, ms, of every key; '' when each key has its own (ARGV[3 + i]
--             for KEYS[i])
-- Returns {server time ms, i, j, ...}: the positions in KEYS of the sessions that do not exist
-- (or are past their deadline), usually none; every other one was touched.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = #KEYS
local shared = ARGV[3] ~= '' and ARGV[3]
-- when the caller's view of the server's clock was wrong, every deadline is read
local read = (tonumber(ARGV[2]) or 0) > now and tonumber(ARGV[1]) or n
local out = {now}
for i = 1, read do
  local idle = tonumber(shared or ARGV[3 + i])
  -- pcall: a key of another layout must not fail the other sessions of the batch
  local head = redis.pcall('GETRANGE', KEYS[i], 0, 63)
  local a = type(head) == 'string' and tonumber(string.match(head, '^%d+:%d+:(%d+):'))
  if not (a and a > now and redis.call('PEXPIRE', KEYS[i], math.min(idle, a - now)) == 1) then
    out[#out + 1] = i
  end
end
-- the loop every touch of a busy app takes: one PEXPIRE a key
if shared then
  for i = read + 1, n do
    if redis.call('PEXPIRE', KEYS[i], shared) == 0 then
      out[#out + 1] = i
    end
  end
else
  for i = read + 1, n do
    if redis.call('PEXPIRE', KEYS[i], ARGV[3 + i]) == 0 then
      out[#out + 1] = i
    end
  end
end
return out
