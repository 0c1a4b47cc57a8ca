-- What the scripts on timeline entries share (put before apply_events.lua and
-- event_check.lua by Python, after the status tables).

-- An entry head without its recorded_at, which a retried tap changes: what makes two taps
-- with one event id the same tap.
local function identity(head)
  local s, o, rest = string.match(head, '^([^|]*)|([^|]*)|?[^|]*(.*)$')
  return s .. '|' .. o .. rest
end

-- Whether a stored entry (head, then its outcome) is a registration's.
local function is_registration(entry)
  return string.sub(entry, 1, 2) == STATUS_CODES['registered'] .. '|'
end
