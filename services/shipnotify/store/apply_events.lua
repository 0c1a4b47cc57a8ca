-- Applies a batch of shipment events in order, each atomically: dedupe by event id, the
-- progress rule, the timeline. One call for the batch: a call per event cost the tracker
-- more in the client than the work in Redis. Each event's keys share its shipment's hash tag.
--
-- Per event i (from 0), its keys at KEYS[4i+1..4i+4]; its arguments A[1..6] are the (i+1)th
-- array of the JSON in ARGV[2], and its registration's bytes (A[6]) ARGV[i+3] (JSON would
-- mangle them). As one JSON string the arguments cost the client a tenth of what 9 apiece do.
-- K[1] state hash     s: current status, o: its occurred_at (ms), v: version, t: tracking id
-- K[2] timeline hash  event id -> entry, as model/codec.py lays it out (older ones: JSON)
-- K[3] parties        registration (protobuf bytes); personal data, never read by status_api
-- K[4] updates        no key: the sharded pub/sub channel on which each change announces
--                     the new version, to wake the live pages (they keep nothing here)
-- A[1] event id        A[2] status          A[3] occurred_at (ms)
-- A[4] entry without its outcome, the last field '|<advanced 0|1><previous status's code>'
-- A[5] tracking id or ""                    A[6] parties bytes or ""
-- ARGV[1] retention (s) after a terminal status.
-- Returns, per event, {duplicate 0|1, advanced 0|1, previous status or "", version, parties};
-- parties only when the event advanced (its notices need the contacts), else "".
-- Put before this script by tracking.py, from model/: STATUS_CODES (status -> code) and
-- STATUS_NAMES (code -> status), the codes an entry stores its previous status by; the rule
-- of progress as ALWAYS_FROM[new][current] (advances) and LATER_FROM[new][current]
-- (advances if it happened later); TERMINAL[status].

local function apply(K, A)
  local old = redis.call('HGET', K[2], A[1])
  if old then
    local a, p
    if string.sub(old, 1, 1) == '{' then  -- JSON, as entries were stored before
      a, p = string.match(old, ',"a":(%d),"p":"([%w_]*)"}$')
    else
      a, p = string.match(old, '|([01])(%w?)$')
      p = STATUS_NAMES[p] or ''
    end
    local v = tonumber(redis.call('HGET', K[1], 'v') or 0)
    if a == '1' then
      return {1, 1, p, v, redis.call('GET', K[3]) or ''}
    end
    return {1, 0, p, v, ''}
  end

  local cur = redis.call('HMGET', K[1], 's', 'o')
  local advanced = 0
  if not cur[1] then
    advanced = 1
  elseif ALWAYS_FROM[A[2]][cur[1]] then
    advanced = 1
  elseif LATER_FROM[A[2]][cur[1]] and tonumber(A[3]) > tonumber(cur[2]) then
    advanced = 1
  end
  local previous = cur[1] or ''

  redis.call('HSET', K[2], A[1], A[4] .. '|' .. advanced .. (STATUS_CODES[previous] or ''))
  if advanced == 1 then
    redis.call('HSET', K[1], 's', A[2], 'o', A[3])
  end
  if A[6] ~= '' then
    redis.call('SET', K[3], A[6])
  end
  if A[5] ~= '' then
    redis.call('HSET', K[1], 't', A[5])
  end
  local version = redis.call('HINCRBY', K[1], 'v', 1)
  redis.call('SPUBLISH', K[4], version)
  if advanced == 1 and TERMINAL[A[2]] then
    -- K[4] too: a stream an older version kept under that name goes with the rest
    for i = 1, 4 do redis.call('EXPIRE', K[i], ARGV[1]) end
  end
  if advanced == 1 then
    return {0, 1, previous, version, redis.call('GET', K[3]) or ''}
  end
  return {0, 0, previous, version, ''}
end

local events = cjson.decode(ARGV[2])
local results = {}
for i, A in ipairs(events) do
  local k = 4 * (i - 1)
  A[6] = ARGV[i + 2]
  results[i] = apply({KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4]}, A)
end
return results
