-- A final notice (rank 2 and up) is kept compact, so that every value of the shipment's
-- notices hash stays within hash-max-listpack-value (64 bytes) and the hash a listpack:
--   k s r mmm tttttttt [+K] v|n|i|d|code|e
-- k rank, s state, r receipt (one-letter codes; "." none), mmm channel, party and status
-- ("..." none), t updated at (ms, 8 digits of base 36, until 2059); a survey-loop notice's
-- kind, '+' and a letter (none for a status notice: no tail begins with '+', so records
-- written before kinds read the same); then, '|'-separated and
-- the empty ones at the end left out: v event id, n attempts, i provider id ("@": an email's
-- Message-ID, whose domain is in the hash's field '@'), d times in doubt, code, e error
-- (last: free text, it may hold '|'). notices.py makes and reads the values; none but e
-- holds '|'. About 40 bytes for an email, 62 for an SMS with its SID and receipt.
local HEAD = {{'k', 1}, {'s', 1}, {'r', 1}, {'m', 3}, {'t', 8}}
local TAIL = {'v', 'n', 'i', 'd', 'code', 'e'}
local DIGITS = '0123456789abcdefghijklmnopqrstuvwxyz'

local function pack(doc)
  local t, t36 = math.floor(tonumber(doc.t) or 0), ''
  repeat
    local d = t % 36
    t36, t = DIGITS:sub(d + 1, d + 1) .. t36, (t - d) / 36
  until t == 0
  local out = {}
  for _, f in ipairs(HEAD) do
    local v = f[1] == 't' and string.rep('0', f[2] - #t36) .. t36 or tostring(doc[f[1]] or '')
    if #v > f[2] then v = '' end  -- not a code (an older document's): not kept
    out[#out + 1] = v .. string.rep('.', f[2] - #v)
  end
  if doc.kd then out[#out + 1] = '+' .. doc.kd:sub(1, 1) end
  local tail, last = {}, 0
  for i, key in ipairs(TAIL) do
    tail[i] = doc[key] == nil and '' or tostring(doc[key])
    if tail[i] ~= '' then last = i end
  end
  return table.concat(out) .. table.concat(tail, '|', 1, last)
end

local function unpack(raw)
  local doc, at = {}, 1
  for _, f in ipairs(HEAD) do
    local v = raw:sub(at, at + f[2] - 1)
    if v:find('[^.]') then doc[f[1]] = v end
    at = at + f[2]
  end
  if raw:sub(at, at) == '+' then
    doc.kd = raw:sub(at + 1, at + 1)
    at = at + 2
  end
  local rest = raw:sub(at)
  for i, key in ipairs(TAIL) do
    local cut = i < #TAIL and rest:find('|', 1, true)
    local v = cut and rest:sub(1, cut - 1) or rest
    if v ~= '' then doc[key] = v end
    if not cut then break end
    rest = rest:sub(cut + 1)
  end
  doc.k, doc.t, doc.n, doc.d = tonumber(doc.k), tonumber(doc.t, 36), tonumber(doc.n), tonumber(doc.d)
  return doc
end

