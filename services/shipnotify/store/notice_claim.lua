-- Claims a notice for sending, so that each notification id is sent at most once.
-- KEYS[1] the shipment's notices hash.  ARGV: id, now (ms), lease end (ms), initial JSON.
-- Returns the attempt number, or 0 when the notice is done or leased by another sender.
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local doc = cjson.decode(cur or ARGV[4])
if (doc.k or 0) >= 2 then return 0 end
if doc.s == 'sending' and tonumber(doc.l or 0) > tonumber(ARGV[2]) then return 0 end
doc.s = 'sending'
doc.k = 1
doc.l = tonumber(ARGV[3])
doc.n = (doc.n or 0) + 1
doc.t = tonumber(ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(doc))
return doc.n
