-- Claims a notice for sending, so that each notification id is sent at most once.
-- KEYS[1] the shipment's final notices  KEYS[2] its notices in flight (JSON documents)
-- KEYS[3] the shipment's state (x: when its contacts were erased, ms)
-- ARGV: id, now (ms), lease end (ms), initial JSON (what the notice is: m, v), when the
-- notice was planned (ms).
-- Returns {attempt, in doubt since (ms) or 0, w}; {0, 0} when the notice is done,
-- {-1, lease end} while another sender holds it, and {-2, 0} when the contacts were erased
-- after it was planned (it must not go). "In doubt": the last sender's lease ran out while it was sending (it
-- crashed) or an attempt timed out, so the provider may or may not have the message from
-- that attempt's time on. w: the provider's id of the message when an earlier sender's
-- provider took it and the sender died before the notice was final (it went: not in doubt,
-- not to be sent again), else ''.
local final = redis.call('HGET', KEYS[1], ARGV[1])
local doc
if final and final:sub(1, 1) == '{' then
  -- written before notices in flight had their own hash: it moves there if not done
  doc = cjson.decode(final)
  if (doc.k or 0) < 2 then redis.call('HDEL', KEYS[1], ARGV[1]) end
elseif final then
  return {0, 0}
else
  doc = cjson.decode(redis.call('HGET', KEYS[2], ARGV[1]) or '{}')
end
if (doc.k or 0) >= 2 then return {0, 0} end
local erased = tonumber(string.match(redis.call('HGET', KEYS[3], 'x') or '', '^(%d+)') or 0)
if erased > 0 and erased >= tonumber(ARGV[5]) then return {-2, 0} end
for k, v in pairs(cjson.decode(ARGV[4])) do
  if doc[k] == nil then doc[k] = v end
end
-- q: an earlier attempt ended without knowing whether the provider took the message
-- (a timeout); it is in doubt from then on.
local doubt = tonumber(doc.q or 0)
if doc.s == 'sending' then
  if tonumber(doc.l or 0) > tonumber(ARGV[2]) then return {-1, tonumber(doc.l)} end
  if doubt == 0 then doubt = tonumber(doc.t or 0) end
end
if doc.w then doubt = 0 end
if doubt > 0 then doc.d = (doc.d or 0) + 1 end
doc.s = 'sending'
doc.k = 1
doc.l = tonumber(ARGV[3])
doc.n = (doc.n or 0) + 1
doc.t = tonumber(ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], cjson.encode(doc))
return {doc.n, doubt, doc.w or ''}
