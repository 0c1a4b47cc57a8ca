-- Remembers, per contact of a shipment, the latest status deferred by quiet hours.
-- KEYS[1] the shipment's quiet hash.  ARGV: address, occurred_at (ms), notification id.
-- Returns the notification id that is now the latest for that contact.
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur or tonumber(string.match(cur, '^(%d+)')) <= tonumber(ARGV[2]) then
  cur = ARGV[2] .. ':' .. ARGV[3]
  redis.call('HSET', KEYS[1], ARGV[1], cur)
end
redis.call('EXPIRE', KEYS[1], 172800)  -- two nights at most
return string.match(cur, ':(.+)$')
