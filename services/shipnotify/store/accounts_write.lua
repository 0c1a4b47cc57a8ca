-- Writes what applying account events changed of one account, if nobody else wrote it since
-- it was read (store/accounts.py reads, decides in Python, then calls this); else writes
-- nothing, and the caller reads again. The keys share the account's hash tag; the keys
-- outside it (`apikey:<sha256>`, `accounts`) are written apart, by idempotent commands.
-- KEYS[1] account hash  KEYS[2] keys hash  KEYS[3] endpoints hash
-- KEYS[4] applied hash (event id -> outcome; 'v' the version)
-- ARGV[1] the version read ("" none), then (op, key number, field, value) quadruples:
-- op 's' HSET, 'd' HDEL (value unused).
-- Returns 1 written, 0 not (the version moved).
if (redis.call('HGET', KEYS[4], 'v') or '') ~= ARGV[1] then return 0 end
for i = 2, #ARGV, 4 do
  local key = KEYS[tonumber(ARGV[i + 1])]
  if ARGV[i] == 's' then
    redis.call('HSET', key, ARGV[i + 2], ARGV[i + 3])
  else
    redis.call('HDEL', key, ARGV[i + 2])
  end
end
redis.call('HINCRBY', KEYS[4], 'v', 1)
return 1
