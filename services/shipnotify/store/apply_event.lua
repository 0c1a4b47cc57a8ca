-- Applies one shipment event atomically: dedupe by event id, the progress rule,
-- the timeline. All keys share the shipment's hash tag, so this runs in one slot.
--
-- KEYS[1] state hash     s: current status, o: its occurred_at (ms), v: version, t: tracking id
-- KEYS[2] timeline hash  event id -> entry JSON
-- KEYS[3] parties        registration (protobuf bytes); personal data, never read by status_api
-- KEYS[4] updates        a short stream with an entry per change: live pages resume from it
-- ARGV[1] event id        ARGV[2] status          ARGV[3] occurred_at (ms)
-- ARGV[4] entry JSON without its closing brace
-- ARGV[5] ",statuses," it always advances from    ARGV[6] ",statuses," it advances from if later
-- ARGV[7] parties bytes or ""                     ARGV[8] tracking id or ""
-- ARGV[9] "1" if the status is terminal           ARGV[10] retention (s) after a terminal status
-- Returns {duplicate 0|1, advanced 0|1, previous status or "", version, parties}; parties
-- only when the event advanced (its notices need the contacts), else "".

local old = redis.call('HGET', KEYS[2], ARGV[1])
if old then
  local a, p = string.match(old, ',"a":(%d),"p":"([%w_]*)"}$')
  local v = tonumber(redis.call('HGET', KEYS[1], 'v') or 0)
  if a == '1' then
    return {1, 1, p, v, redis.call('GET', KEYS[3]) or ''}
  end
  return {1, 0, p, v, ''}
end

local cur = redis.call('HMGET', KEYS[1], 's', 'o')
local advanced = 0
if not cur[1] then
  advanced = 1
elseif string.find(ARGV[5], ',' .. cur[1] .. ',', 1, true) then
  advanced = 1
elseif string.find(ARGV[6], ',' .. cur[1] .. ',', 1, true) and tonumber(ARGV[3]) > tonumber(cur[2]) then
  advanced = 1
end
local previous = cur[1] or ''

redis.call('HSET', KEYS[2], ARGV[1], ARGV[4] .. ',"a":' .. advanced .. ',"p":"' .. previous .. '"}')
if advanced == 1 then
  redis.call('HSET', KEYS[1], 's', ARGV[2], 'o', ARGV[3])
end
if ARGV[7] ~= '' then
  redis.call('SET', KEYS[3], ARGV[7])
end
if ARGV[8] ~= '' then
  redis.call('HSET', KEYS[1], 't', ARGV[8])
end
local version = redis.call('HINCRBY', KEYS[1], 'v', 1)
redis.call('XADD', KEYS[4], 'MAXLEN', '~', '16', '*', 'v', version)
if advanced == 1 and ARGV[9] == '1' then
  for i = 1, 4 do redis.call('EXPIRE', KEYS[i], ARGV[10]) end
end
if advanced == 1 then
  return {0, 1, previous, version, redis.call('GET', KEYS[3]) or ''}
end
return {0, 0, previous, version, ''}
