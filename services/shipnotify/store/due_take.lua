-- Leases the notices whose time has come: they stay in the set with a later score, so a
-- crashed notifier's notices come due again when the lease ends.
-- KEYS[1] the due set.  ARGV: now (ms), lease end (ms), how many at most.
local items = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, member in ipairs(items) do
  redis.call('ZADD', KEYS[1], ARGV[2], member)
end
return items
