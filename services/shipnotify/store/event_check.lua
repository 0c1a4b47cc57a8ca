-- Ingest, before it accepts an event with an event id the client made: is that id new, a
-- retry of the same event, or already another event's (a 409)? An event waits in K[4]
-- (pending, event id -> identity) from here until the tracker applies it and drops it; once
-- applied, its timeline entry answers.
-- KEYS: the shipment's state, timeline, parties, pending.
-- ARGV[1] event id; ARGV[2] kind: 'r' a registration, 's' a status; ARGV[3] for a status its
-- entry head, for a registration a digest of its bytes; ARGV[4] the registration's bytes or
-- ""; ARGV[5] how long (s) a pending record is kept.
-- Returns 'new', 'same' or 'conflict'.
local entry = redis.call('HGET', KEYS[2], ARGV[1])
if entry and string.sub(entry, 1, 1) ~= '{' then
  if ARGV[2] == 'r' then
    -- the contacts of this registration, if they are still the shipment's, must match
    local mine = redis.call('HGET', KEYS[1], 'g') == ARGV[1]
    if not is_registration(entry) or (mine and redis.call('GET', KEYS[3]) ~= ARGV[4]) then
      return 'conflict'
    end
    return 'same'
  end
  local head = string.match(entry, '^(.*)|[^|]*$')
  return identity(head) == identity(ARGV[3]) and 'same' or 'conflict'
end
local mine = ARGV[2] == 'r' and ARGV[3] or identity(ARGV[3])
local pending = redis.call('HGET', KEYS[4], ARGV[1])
if pending then return pending == mine and 'same' or 'conflict' end
redis.call('HSET', KEYS[4], ARGV[1], mine)
redis.call('EXPIRE', KEYS[4], ARGV[5])
return 'new'
