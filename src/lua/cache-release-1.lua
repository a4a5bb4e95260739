-- cache-release: releases a cache stampede lock only when the caller still owns it.
-- A lock whose PX expired and was taken by another process has another token: leave it alone.
--
-- KEYS[1]  the lock key (`<instance><namespace>:lock:<generation>:<key>`)
-- ARGV[1]  the owner's token (random, from SET KEYS[1] ARGV[1] NX PX <ttl>)
--
-- Returns 1 when the lock was released, 0 when it was not held by ARGV[1].
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
