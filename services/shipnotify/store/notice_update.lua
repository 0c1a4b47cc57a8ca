-- Merges fields into a notice's state. A state never moves to a lower rank (a late
-- "sent" receipt does not undo "delivered"), unless forced (redrive). Below rank 2 a notice
-- is in flight, a JSON document in KEYS[2]; from rank 2 on it is final, compact in KEYS[1]
-- (notice_codec.lua), without what only its sending needed: the lease, the doubt, a
-- retry's reason and time, the note that it went (the outcome replaces them).
-- KEYS[1] the shipment's final notices  KEYS[2] its notices in flight  KEYS[3] its state
-- ARGV: id, JSON patch, rank of its state, force 0|1, one-letter code of its state.
-- Returns the state: its name in flight, its code once final.
local raw = redis.call('HGET', KEYS[1], ARGV[1])
local legacy = raw and raw:sub(1, 1) == '{'  -- a JSON document from before: it stays one
local doc
if legacy then
  doc = cjson.decode(raw)
elseif raw then
  doc = unpack(raw)
else
  doc = cjson.decode(redis.call('HGET', KEYS[2], ARGV[1]) or '{}')
end
local patch = cjson.decode(ARGV[2])
local rank = tonumber(ARGV[3])
if patch.i and patch.i:sub(1, 1) == '@' then
  -- an email's Message-ID, <notice id@mail domain>: the domain, the same for every email,
  -- is kept once, in the field '@'
  local domain = patch.i:sub(2)
  local known = redis.call('HGET', KEYS[1], '@')
  if not known then redis.call('HSET', KEYS[1], '@', domain) end
  if (known or domain) == domain then patch.i = '@' end
end
if patch.s and ARGV[4] ~= '1' and (doc.k or 0) > rank then
  patch.s = nil
end
if patch.s and rank >= 2 and (doc.k or 0) < 2 then  -- final now
  for _, key in ipairs({'l', 'q', 'e', 'code', 'due', 'until', 'w'}) do doc[key] = nil end
end
if (doc.k or 0) >= 2 then patch.w = nil end  -- a final notice needs no note that it went
for k, v in pairs(patch) do doc[k] = v end
if patch.s then doc.k = rank end
if legacy then
  redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(doc))
elseif (doc.k or 0) >= 2 then
  if patch.s then doc.s = ARGV[5] end
  redis.call('HSET', KEYS[1], ARGV[1], pack(doc))
  redis.call('HDEL', KEYS[2], ARGV[1])
  -- the notices go with their shipment: its state's time to live, once it is terminal
  local ttl = redis.call('PTTL', KEYS[3])
  if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
else  -- in flight, or again (redriven)
  redis.call('HSET', KEYS[2], ARGV[1], cjson.encode(doc))
  redis.call('HDEL', KEYS[1], ARGV[1])
end
return doc.s
