-- Merges fields into a notice's state. A state never moves to a lower rank (a late
-- "sent" receipt does not undo "delivered"), unless forced (redrive).
-- KEYS[1] the shipment's notices hash.  ARGV: id, JSON patch, rank of its state, force 0|1.
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local doc = cur and cjson.decode(cur) or {}
local patch = cjson.decode(ARGV[2])
local rank = tonumber(ARGV[3])
if patch.s and ARGV[4] ~= '1' and (doc.k or 0) > rank then
  patch.s = nil
end
for k, v in pairs(patch) do doc[k] = v end
if patch.s then doc.k = rank end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(doc))
return doc.s
