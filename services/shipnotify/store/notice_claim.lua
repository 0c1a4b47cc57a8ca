-- Claims a notice for sending, so that each notification id is sent at most once.
-- KEYS[1] the shipment's notices hash.  ARGV: id, now (ms), lease end (ms), initial JSON.
-- Returns {attempt, in doubt since (ms) or 0}; {0, 0} when the notice is done, and
-- {-1, lease end} while another sender holds it. "In doubt": the last sender's lease ran out while it was sending (it
-- crashed) or an attempt timed out, so the provider may or may not have the message from
-- that attempt's time on.
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local doc = cjson.decode(cur or ARGV[4])
if (doc.k or 0) >= 2 then return {0, 0} end
-- q: an earlier attempt ended without knowing whether the provider took the message
-- (a timeout); it is in doubt from then on.
local doubt = tonumber(doc.q or 0)
if doc.s == 'sending' then
  if tonumber(doc.l or 0) > tonumber(ARGV[2]) then return {-1, tonumber(doc.l)} end
  if doubt == 0 then doubt = tonumber(doc.t or 0) end
end
if doubt > 0 then doc.d = (doc.d or 0) + 1 end
doc.s = 'sending'
doc.k = 1
doc.l = tonumber(ARGV[3])
doc.n = (doc.n or 0) + 1
doc.t = tonumber(ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(doc))
return {doc.n, doubt}
