-- day_parts.lua for many parts in one call (a batch's shipments or notices), each as that
-- script writes it, in their order: the member's old part taken back and the new added,
-- unless it is the same, or a duplicate's ("1") or nobody knows ("2") where its day's parts
-- are gone (see there). The counts are summed in memory and each cut's field takes its sum
-- in one HINCRBY, each key its time to live once: for a batch's parts of one day, a few
-- commands instead of a dozen a part.
-- KEYS: the parts' keys, each once. ARGV[1]: JSON, a list of parts, each [its day's parts
-- (a KEYS index), its day's cuts (indexes), its month's cuts (indexes, in the same order),
-- member, part, "0" | "1" | "2", when the parts expire (ms), when the day's cuts expire
-- (ms), when the month's cuts expire (ms)], as day_parts.lua's ARGV.
-- Returns how many parts were written.
local sums, keys_summed = {}, {}      -- key -> field -> count; keys in the order first met
local expire, keys_expiring = {}, {}  -- key -> when (ms), the last asked
local stored = {}                     -- parts key -> member -> its part as this call leaves it
local written, parts_written = {}, {} -- parts key -> {member, part, ...}; keys in that order
local kept = {}                       -- parts key -> whether it exists (there, or written here)

local function expire_at(key, at)
  if not expire[key] then keys_expiring[#keys_expiring + 1] = key end
  expire[key] = at
end

local function add(P, part, sign)
  for i, fields in ipairs(cjson.decode(part)) do
    for _, k in ipairs({KEYS[P[2][i]], KEYS[P[3][i]]}) do
      for name, count in pairs(fields) do
        if count ~= 0 then  -- as day_parts.lua: a zero touches nothing
          local cut = sums[k]
          if not cut then
            cut = {}
            sums[k] = cut
            keys_summed[#keys_summed + 1] = k
          end
          cut[name] = (cut[name] or 0) + sign * count
        end
      end
    end
    if sign > 0 then
      expire_at(KEYS[P[2][i]], P[8])
      expire_at(KEYS[P[3][i]], P[9])
    end
  end
end

local n = 0
for _, P in ipairs(cjson.decode(ARGV[1])) do
  local parts, member, part, mode = KEYS[P[1]], P[4], P[5], P[6]
  local mine = stored[parts]
  if not mine then
    mine = {}
    stored[parts] = mine
  end
  local old = mine[member]
  if old == nil then
    old = redis.call('HGET', parts, member)
    mine[member] = old
  end
  local go = old ~= part
  if go and mode ~= '0' then
    if kept[parts] == nil then kept[parts] = redis.call('EXISTS', parts) == 1 end
    -- a day's first cut, touched here, had its parts written here too
    if not kept[parts] and (mode == '1' or redis.call('EXISTS', KEYS[P[2][1]]) == 1) then
      go = false
    end
  end
  if go then
    if old then add(P, old, -1) end
    add(P, part, 1)
    mine[member] = part
    kept[parts] = true
    if not written[parts] then
      written[parts] = {}
      parts_written[#parts_written + 1] = parts
    end
    table.insert(written[parts], member)
    table.insert(written[parts], part)
    expire_at(parts, P[7])
    n = n + 1
  end
end

for _, k in ipairs(keys_summed) do
  for name, count in pairs(sums[k]) do redis.call('HINCRBY', k, name, count) end
end
for _, parts in ipairs(parts_written) do
  local pairs_ = written[parts]
  for i = 1, #pairs_, 1000 do  -- unpack's stack has a limit
    redis.call('HSET', parts, unpack(pairs_, i, math.min(i + 999, #pairs_)))
  end
end
for _, k in ipairs(keys_expiring) do redis.call('PEXPIREAT', k, expire[k]) end
return n
