-- Applies a batch of shipment events in order, each atomically: dedupe by event id, the
-- progress rule, the timeline, the lifetime of the shipment's personal data. One call for
-- the batch: a call per event cost the tracker more in the client than the work in Redis.
-- Each event's keys share its shipment's hash tag.
--
-- Per event i (from 0), its keys at KEYS[7i+1..7i+7]; its arguments A[1..7] are the (i+1)th
-- array of the JSON in ARGV[3], and its registration's bytes (A[6]) ARGV[i+4] (JSON would
-- mangle them). As one JSON string the arguments cost the client a tenth of what 9 apiece do.
-- K[1] state hash     s: current status, o: its occurred_at (ms), v: version, t: tracking id,
--                     g: the event id of the registration whose contacts K[3] holds,
--                     x: when the contacts were erased (ms), then the erasures' event ids,
--                     c: when its earliest courier tap happened (ms; store/day_figures.py)
-- K[2] timeline hash  event id -> entry, as model/codec.py lays it out (older ones: JSON)
-- K[3] parties        registration (protobuf bytes); personal data, never read by status_api
-- K[4] updates        no key: the sharded pub/sub channel on which each change announces
--                     the new version, to wake the live pages (they keep nothing here)
-- K[5] pending        ingest's records of events not yet applied (store/event_check.lua)
-- K[6] notices        the notifier's final notices: they live as long as the shipment
-- K[7] quiet          phone numbers whose SMS wait for the morning: erased with the contacts
-- A[1] event id        A[2] status          A[3] occurred_at (ms)
-- A[4] entry without its outcome (the last field, which this script appends: see below)
-- A[5] tracking id or ""                    A[6] parties bytes or ""
-- A[7] kind: 'r' a registration, 's' a status, 'x' the contacts erased
-- A[8] 'c' a status tapped in the courier app, not the delivery (model/day_figures.py)
-- ARGV[1] retention (s) after a terminal status; ARGV[2] how long (s) a shipment that never
-- ends keeps its keys after its last event.
-- An entry's outcome: 0 kept or 1 advanced, then the previous status's code; or, for a
-- registration that found taps and no contacts, 2, the current status's code and the event
-- id of that status, whose notices it owes (they were due to no one when it came).
-- Returns, per event, {outcome, advanced 0|1, previous status or "", version, parties,
-- owed event id, owed entry}: outcome 0 applied, 1 a duplicate (what its first delivery
-- did), 2 a conflict (the event id is another event's: nothing applied); parties only when
-- notices are due (advanced, or owed), else "".
-- Put before this script by tracking.py, from model/: STATUS_CODES (status -> code) and
-- STATUS_NAMES (code -> status), the codes an entry stores its previous status by; the rule
-- of progress as ALWAYS_FROM[new][current] (advances) and LATER_FROM[new][current]
-- (advances if it happened later); TERMINAL[status]; then entries.lua.

-- Time to live: ARGV[1] after a terminal status; else ARGV[2] after the last event, renewed
-- once a hundredth of it has passed (an EXPIRE a key per event would cost more than the
-- rest of the event).
local function keep_for(K, status, advanced, registered)
  local ttl
  if TERMINAL[status] then
    if advanced == 1 then ttl = ARGV[1] end
  elseif redis.call('TTL', K[1]) < tonumber(ARGV[2]) * 0.99 then
    ttl = ARGV[2]
  end
  if ttl then
    -- K[4] too: a stream an older version kept under that name goes with the rest
    for _, i in ipairs({1, 2, 3, 4, 6}) do redis.call('EXPIRE', K[i], ttl) end
  elseif registered then  -- SET dropped the contacts' time to live: the shipment's
    local left = redis.call('PTTL', K[1])
    if left > 0 then redis.call('PEXPIRE', K[3], left) end
  end
end

-- The event whose status is the current one: the advanced entry with its status and time.
local function current_event(K, cur)
  local entries = redis.call('HGETALL', K[2])
  for i = 1, #entries, 2 do
    local s, o = string.match(entries[i + 1], '^(%w)|(%w+)|.*|1%w?$')
    if s == STATUS_CODES[cur[1]] and tonumber(o, 36) == tonumber(cur[2]) then
      return entries[i], entries[i + 1]
    end
  end
end

local function duplicate(K, A, old)
  local v = tonumber(redis.call('HGET', K[1], 'v') or 0)
  local a, p, owed
  if string.sub(old, 1, 1) == '{' then  -- JSON, as entries were stored before
    a, p = string.match(old, ',"a":(%d),"p":"([%w_]*)"}$')
  else
    local head
    head, a, p, owed = string.match(old, '^(.*)|([012])(%w?)([%w-]*)$')
    if not head then return {1, 0, '', v, '', '', ''} end
    local conflict
    if A[7] == 'r' then
      conflict = not is_registration(old)
        or (redis.call('HGET', K[1], 'g') == A[1] and redis.call('GET', K[3]) ~= A[6])
    else
      conflict = identity(head) ~= identity(A[4])
    end
    if conflict then return {2, 0, '', v, '', '', ''} end
    p = STATUS_NAMES[p] or ''
  end
  if a == '1' then
    return {1, 1, p, v, redis.call('GET', K[3]) or '', '', ''}
  end
  if a == '2' then
    local entry = redis.call('HGET', K[2], owed)
    if entry then return {1, 0, p, v, A[6], owed, entry} end
  end
  return {1, 0, p, v, '', '', ''}
end

-- The order system asked to forget the contacts; x keeps when, and the erasures' ids so
-- that a redelivered one changes nothing.
local function erase(K, A)
  local v = tonumber(redis.call('HGET', K[1], 'v') or 0)
  local x = redis.call('HGET', K[1], 'x') or ''
  if string.find(x .. ',', ',' .. A[1] .. ',', 1, true) then return {1, 0, '', v, '', '', ''} end
  local at, ids = string.match(x, '^(%d+)(.*)$')
  if not at or tonumber(A[3]) > tonumber(at) then at = A[3] end
  ids = (ids or '') .. ',' .. A[1]
  local _, n = string.gsub(ids, ',', '')
  if n > 16 then ids = string.sub(ids, string.find(ids, ',', 2, true)) end  -- the oldest goes
  redis.call('DEL', K[3], K[7])
  redis.call('HDEL', K[1], 'g')
  redis.call('HSET', K[1], 'x', at .. ids)
  keep_for(K, redis.call('HGET', K[1], 's'), 0, false)
  return {0, 0, '', v, '', '', ''}
end

local function apply(K, A)
  redis.call('HDEL', K[5], A[1])
  if A[7] == 'x' then return erase(K, A) end
  local old = redis.call('HGET', K[2], A[1])
  if old then return duplicate(K, A, old) end

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
  local outcome = advanced .. (STATUS_CODES[previous] or '')

  local owed, owed_entry = '', ''
  if A[7] == 'r' then
    if previous ~= '' and previous ~= 'registered' and redis.call('EXISTS', K[3]) == 0 then
      owed, owed_entry = current_event(K, cur)
      if owed then outcome = '2' .. STATUS_CODES[previous] .. owed else owed = '' end
    end
    redis.call('SET', K[3], A[6])
    redis.call('HSET', K[1], 'g', A[1])
  end
  redis.call('HSET', K[2], A[1], A[4] .. '|' .. outcome)
  if A[8] == 'c' then  -- the earliest courier tap: whether a delivery was covered
    local c = redis.call('HGET', K[1], 'c')
    if not c or tonumber(A[3]) < tonumber(c) then redis.call('HSET', K[1], 'c', A[3]) end
  end
  if advanced == 1 then
    redis.call('HSET', K[1], 's', A[2], 'o', A[3])
  end
  if A[5] ~= '' then
    redis.call('HSET', K[1], 't', A[5])
  end
  local version = redis.call('HINCRBY', K[1], 'v', 1)
  redis.call('SPUBLISH', K[4], version)
  keep_for(K, advanced == 1 and A[2] or previous, advanced, A[7] == 'r')
  if advanced == 1 then
    return {0, 1, previous, version, redis.call('GET', K[3]) or '', '', ''}
  end
  return {0, 0, previous, version, owed ~= '' and A[6] or '', owed, owed_entry or ''}
end

local events = cjson.decode(ARGV[3])
local results = {}
for i, A in ipairs(events) do
  local k = 7 * (i - 1)
  A[6] = ARGV[i + 3]
  local K = {}
  for j = 1, 7 do K[j] = KEYS[k + j] end
  results[i] = apply(K, A)
end
return results
