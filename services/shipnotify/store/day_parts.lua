-- One part of a day's and its month's figures (a survey's, a shipment's, a notice's),
-- written so that it replaces the part written before under the same member (a later
-- answer, a late courier tap, a redelivered event, a retried fold): the old part's counts are
-- taken back, the new added, in the day's cuts and the same in the month's.
-- KEYS[1]: the day's parts (member -> part); KEYS[2..n+1]: the day's cuts in the part's
-- order; KEYS[n+2..2n+1]: the month's cuts, in the same order.
-- ARGV: the member (a survey id, "d:<shipment id>", a notification id...), the part (JSON: a
-- list of n {field: count}), "1" when only a repair (a duplicate event: its day's parts gone
-- means it was counted long ago), "2" when nobody knows (a notice's event, which a rebuild
-- replays onto figures that may have it: its day's parts gone and its day counted means it
-- was counted long ago), else "0"; when the parts expire (ms), when the day's cuts expire
-- (ms), when the month's cuts expire (ms).
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old == ARGV[2] then
  return 0
end
if ARGV[3] ~= '0' and redis.call('EXISTS', KEYS[1]) == 0 then
  if ARGV[3] == '1' or redis.call('EXISTS', KEYS[2]) == 1 then
    return 0
  end
end
local function add(part, sign)
  local cuts = cjson.decode(part)
  local n = #cuts
  for i, fields in ipairs(cuts) do
    for name, count in pairs(fields) do
      if count ~= 0 then  -- a zero taken back would be -0, which HINCRBY refuses
        redis.call('HINCRBY', KEYS[i + 1], name, sign * count)
        redis.call('HINCRBY', KEYS[i + 1 + n], name, sign * count)
      end
    end
    if sign > 0 then
      redis.call('PEXPIREAT', KEYS[i + 1], ARGV[5])
      redis.call('PEXPIREAT', KEYS[i + 1 + n], ARGV[6])
    end
  end
end
if old then
  add(old, -1)
end
add(ARGV[2], 1)
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
return 1
