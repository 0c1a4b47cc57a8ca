-- A survey's part of one day's figures, written so that it replaces the part written before
-- (a later answer, a redelivered event): the old part's counts are taken back, the new added.
-- KEYS[1]: the day's parts (survey id -> part); KEYS[2..]: the cuts' hashes, in the part's order.
-- ARGV: survey id, the part (JSON: a list of {field: count}, aligned with KEYS[2..]),
-- "1" when only a repair (a duplicate event: its day's parts gone means it was counted long
-- ago), when the parts expire (ms), when the cuts expire (ms).
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old == ARGV[2] then
  return 0
end
if ARGV[3] == '1' and redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
if old then
  for i, fields in ipairs(cjson.decode(old)) do
    for name, n in pairs(fields) do
      redis.call('HINCRBY', KEYS[i + 1], name, -n)
    end
  end
end
for i, fields in ipairs(cjson.decode(ARGV[2])) do
  for name, n in pairs(fields) do
    redis.call('HINCRBY', KEYS[i + 1], name, n)
  end
  redis.call('PEXPIREAT', KEYS[i + 1], ARGV[5])
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
return 1
