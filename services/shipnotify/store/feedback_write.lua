-- Writes what applying feedback events changed of one shipment, if nobody else wrote its
-- feedback since it was read (store/feedback_state.py reads, decides in Python, then calls
-- this); else writes nothing, and the caller reads again. The keys share the shipment's
-- hash tag; the keys outside it (the case lists, a case's shipment, the SMS reply keys) are
-- written apart, by idempotent commands.
-- KEYS[1] surveys hash (survey id -> record)  KEYS[2] cases hash (case id -> record)
-- KEYS[3] applied hash (event id -> 'a' applied or 'k' kept out; 'v' the version)
-- ARGV[1] the version read ("" none)  ARGV[2] time to live (s) after this change
-- ARGV[3] S, the surveys written   ARGV[4] C, the cases written
-- then S (survey id, record) pairs, C (case id, record) pairs, and (event id, outcome) pairs
-- Returns 1 written, 0 not (the version moved).
if (redis.call('HGET', KEYS[3], 'v') or '') ~= ARGV[1] then return 0 end
local s, c = tonumber(ARGV[3]), tonumber(ARGV[4])
local i = 5
if s > 0 then redis.call('HSET', KEYS[1], unpack(ARGV, i, i + 2 * s - 1)) end
i = i + 2 * s
if c > 0 then redis.call('HSET', KEYS[2], unpack(ARGV, i, i + 2 * c - 1)) end
i = i + 2 * c
if i <= #ARGV then redis.call('HSET', KEYS[3], unpack(ARGV, i, #ARGV)) end
redis.call('HINCRBY', KEYS[3], 'v', 1)
for _, key in ipairs(KEYS) do redis.call('EXPIRE', key, ARGV[2]) end
return 1
