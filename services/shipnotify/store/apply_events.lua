-- Applies a batch of shipment events in order, each atomically: dedupe by event id, the
-- progress rule, the timeline, the lifetime of the shipment's personal data. One call for
-- the batch: a call per event cost the tracker more in the client than the work in Redis.
-- Each shipment's keys share its hash tag.
--
-- A shipment's events are applied in their order, in memory: its state and the timeline
-- entries of its events are read once, when its first event comes, and what they change is
-- written once, after its last (a hash's fields in one HSET, the time to live once, one
-- announcement of the new version). Nothing outside sees a call half done, so that is what
-- applying them one by one would leave, for a fifth of the commands when a batch holds a
-- shipment's several events (a replay, a burst) and a fifth fewer for one.
--
-- Per shipment n (from 1, in the order of its first event), its keys at KEYS[7n-6..7n]; per
-- event i (from 1), its arguments A[1..9] are the ith array of the JSON in ARGV[3], and its
-- registration's bytes (A[6]) ARGV[i+3] (JSON would mangle them). As one JSON string the
-- arguments cost the client a tenth of what 9 apiece do.
-- K[1] state hash     s: current status, o: its occurred_at (ms), v: version, t: tracking id,
--                     g: the event id of the registration whose contacts K[3] holds,
--                     x: when the contacts were erased (ms), then the erasures' event ids,
--                     c: when its earliest courier tap happened (ms; store/day_figures.py)
-- K[2] timeline hash  event id -> entry, as model/codec.py lays it out (older ones: JSON)
-- K[3] parties        registration (protobuf bytes); personal data, never read by status_api
-- K[4] updates        no key: the sharded pub/sub channel on which a change announces the
--                     new version, to wake the live pages (they keep nothing here)
-- K[5] pending        ingest's records of events not yet applied (store/event_check.lua)
-- K[6] notices        the notifier's final notices: they live as long as the shipment
-- K[7] quiet          phone numbers whose SMS wait for the morning: erased with the contacts
-- A[1] event id        A[2] status          A[3] occurred_at (ms)
-- A[4] entry without its outcome (the last field, which this script appends: see below)
-- A[5] tracking id or ""                    A[6] parties bytes or ""
-- A[7] kind: 'r' a registration, 's' a status, 'x' the contacts erased
-- A[8] 'c' a status tapped in the courier app, not the delivery (model/day_figures.py)
-- A[9] the event's shipment: n of its keys
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

local KEPT = {1, 2, 3, 4, 6}  -- the keys a time to live is given to
local RENEW = tonumber(ARGV[2]) * 0.99

-- A shipment as this call knows it: read when its first event comes. `ids`: the event ids
-- of its events in the batch (their records in K[5] go, erasures' too, as each is applied).
-- Kept small (Lua's own work, its tables, costs more than Redis's commands here).
local function shipment(n, ids)
  local K = {}
  for j = 1, 7 do K[j] = KEYS[7 * (n - 1) + j] end
  redis.call('HDEL', K[5], unpack(ids))
  local f = redis.call('HMGET', K[1], 's', 'o', 'v', 'c', 'g', 'x')
  local v = tonumber(f[3] or 0)
  -- s, o, v, c, g, x: K[1]'s fields as this call leaves them; v0: v as read; ids, found:
  -- the timeline entries of the events as read (false: none); new: those written here
  -- (id, entry, id, entry...), written after the last; p: K[3]'s bytes once read or written
  -- (false: none), pw: K[3] to 'set' or 'del'; ttl: K[1]'s time to live (s) once read, as
  -- this call leaves it; exp: the time to live (s) to give the KEPT keys; follow: K[3] to
  -- take K[1]'s (a SET drops its own); ws (s and o), wc, wg, wt, wx: fields to write.
  return {
    K = K, s = f[1], o = f[2], v = v, v0 = v, c = f[4], g = f[5], x = f[6],
    ids = ids, found = redis.call('HMGET', K[2], unpack(ids)), new = {}
  }
end

local function entry_of(S, id)
  local new = S.new
  for i = #new - 1, 1, -2 do
    if new[i] == id then return new[i + 1] end
  end
  local ids = S.ids
  for i = 1, #ids do
    if ids[i] == id then return S.found[i] end
  end
  return redis.call('HGET', S.K[2], id)
end

local function parties(S)
  if S.p == nil then S.p = redis.call('GET', S.K[3]) end
  return S.p
end

local function has_contacts(S)
  if S.p == nil then return redis.call('EXISTS', S.K[3]) == 1 end
  return S.p ~= false
end

-- Time to live: ARGV[1] after a terminal status; else ARGV[2] after the last event, renewed
-- once a hundredth of it has passed (an EXPIRE a key per event would cost more than the
-- rest of the event).
local function keep_for(S, status, advanced, registered)
  local ttl
  if TERMINAL[status] then
    if advanced == 1 then ttl = ARGV[1] end
  else
    if S.ttl == nil then S.ttl = redis.call('TTL', S.K[1]) end
    if S.ttl < RENEW then ttl = ARGV[2] end
  end
  if ttl then
    S.exp, S.ttl, S.follow = ttl, tonumber(ttl), false
  elseif registered then  -- SET drops the contacts' time to live: the shipment's
    S.follow = true
  end
end

-- What applying the shipment's events left, written.
local function flush(S)
  local K = S.K
  if S.wg == false then redis.call('HDEL', K[1], 'g') end
  local f, n = {}, 0
  if S.v ~= S.v0 then f[1], f[2], n = 'v', S.v, 2 end  -- else no event applied
  if S.ws then f[n + 1], f[n + 2], f[n + 3], f[n + 4], n = 's', S.s, 'o', S.o, n + 4 end
  if S.wc then f[n + 1], f[n + 2], n = 'c', S.c, n + 2 end
  if S.wg then f[n + 1], f[n + 2], n = 'g', S.g, n + 2 end
  if S.wt then f[n + 1], f[n + 2], n = 't', S.wt, n + 2 end
  if S.wx then f[n + 1], f[n + 2], n = 'x', S.x, n + 2 end
  if n > 0 then redis.call('HSET', K[1], unpack(f)) end
  if #S.new > 0 then redis.call('HSET', K[2], unpack(S.new)) end
  if S.pw == 'set' then
    redis.call('SET', K[3], S.p)
  elseif S.pw == 'del' then
    redis.call('DEL', K[3])
  end
  S.pw = nil
  if S.exp then
    -- K[4] too: a stream an older version kept under that name goes with the rest
    for i = 1, 5 do redis.call('EXPIRE', K[KEPT[i]], S.exp) end
  elseif S.follow then
    local left = redis.call('PTTL', K[1])
    if left > 0 then redis.call('PEXPIRE', K[3], left) end
  end
  if S.v ~= S.v0 then redis.call('SPUBLISH', K[4], S.v) end
end

-- The event whose status is the current one: the advanced entry with its status and time.
local function current_event(S)
  if #S.new > 0 then  -- the entries of this call's earlier events first (written again
    redis.call('HSET', S.K[2], unpack(S.new))  -- with the rest: the same)
  end
  local entries = redis.call('HGETALL', S.K[2])
  for i = 1, #entries, 2 do
    local s, o = string.match(entries[i + 1], '^(%w)|(%w+)|.*|1%w?$')
    if s == STATUS_CODES[S.s] and tonumber(o, 36) == tonumber(S.o) then
      return entries[i], entries[i + 1]
    end
  end
end

local function duplicate(S, A, old)
  local v = S.v
  local a, p, owed
  if string.sub(old, 1, 1) == '{' then  -- JSON, as entries were stored before
    a, p = string.match(old, ',"a":(%d),"p":"([%w_]*)"}$')
  else
    local head
    head, a, p, owed = string.match(old, '^(.*)|([012])(%w?)([%w-]*)$')
    if not head then return {1, 0, '', v, '', '', ''} end
    local conflict
    if A[7] == 'r' then
      conflict = not is_registration(old) or (S.g == A[1] and parties(S) ~= A[6])
    else
      conflict = identity(head) ~= identity(A[4])
    end
    if conflict then return {2, 0, '', v, '', '', ''} end
    p = STATUS_NAMES[p] or ''
  end
  if a == '1' then
    return {1, 1, p, v, parties(S) or '', '', ''}
  end
  if a == '2' then
    local entry = entry_of(S, owed)
    if entry then return {1, 0, p, v, A[6], owed, entry} end
  end
  return {1, 0, p, v, '', '', ''}
end

-- The order system asked to forget the contacts; x keeps when, and the erasures' ids so
-- that a redelivered one changes nothing.
local function erase(S, A)
  local x = S.x or ''
  if string.find(x .. ',', ',' .. A[1] .. ',', 1, true) then return {1, 0, '', S.v, '', '', ''} end
  local at, ids = string.match(x, '^(%d+)(.*)$')
  if not at or tonumber(A[3]) > tonumber(at) then at = A[3] end
  ids = (ids or '') .. ',' .. A[1]
  local _, n = string.gsub(ids, ',', '')
  if n > 16 then ids = string.sub(ids, string.find(ids, ',', 2, true)) end  -- the oldest goes
  redis.call('DEL', S.K[7])
  S.p, S.pw, S.follow = false, 'del', false
  S.g, S.wg = false, false
  S.x, S.wx = at .. ids, true
  keep_for(S, S.s, 0, false)
  return {0, 0, '', S.v, '', '', ''}
end

local function apply(S, A)
  if A[7] == 'x' then return erase(S, A) end
  local old = entry_of(S, A[1])
  if old then return duplicate(S, A, old) end

  local advanced = 0
  if not S.s then
    advanced = 1
  elseif ALWAYS_FROM[A[2]][S.s] then
    advanced = 1
  elseif LATER_FROM[A[2]][S.s] and tonumber(A[3]) > tonumber(S.o) then
    advanced = 1
  end
  local previous = S.s or ''
  local outcome = advanced .. (STATUS_CODES[previous] or '')

  local owed, owed_entry = '', ''
  if A[7] == 'r' then
    if previous ~= '' and previous ~= 'registered' and not has_contacts(S) then
      owed, owed_entry = current_event(S)
      if owed then outcome = '2' .. STATUS_CODES[previous] .. owed else owed = '' end
    end
    S.p, S.pw = A[6], 'set'
    S.g, S.wg = A[1], true
  end
  local new = S.new
  new[#new + 1] = A[1]
  new[#new + 1] = A[4] .. '|' .. outcome
  if A[8] == 'c' then  -- the earliest courier tap: whether a delivery was covered
    if not S.c or tonumber(A[3]) < tonumber(S.c) then S.c, S.wc = A[3], true end
  end
  if advanced == 1 then
    S.s, S.o, S.ws = A[2], A[3], true
  end
  if A[5] ~= '' then
    S.wt = A[5]
  end
  S.v = S.v + 1
  keep_for(S, advanced == 1 and A[2] or previous, advanced, A[7] == 'r')
  if advanced == 1 then
    return {0, 1, previous, S.v, parties(S) or '', '', ''}
  end
  return {0, 0, previous, S.v, owed ~= '' and A[6] or '', owed, owed_entry or ''}
end

local events = cjson.decode(ARGV[3])
local ids, last = {}, {}  -- per shipment, its events' ids and the place of its last
for i, A in ipairs(events) do
  local n = A[9]
  local mine = ids[n]
  if mine then mine[#mine + 1] = A[1] else ids[n] = {A[1]} end
  last[n] = i
end
local shipments = {}
local results = {}
for i, A in ipairs(events) do
  local n = A[9]
  local S = shipments[n]
  if not S then
    S = shipment(n, ids[n])
    shipments[n] = S
  end
  A[6] = ARGV[i + 3]
  results[i] = apply(S, A)
  if last[n] == i then  -- its last event here: written while its keys are at hand
    flush(S)
    shipments[n] = nil
  end
end
return results
