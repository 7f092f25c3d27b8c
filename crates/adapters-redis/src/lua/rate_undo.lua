-- Takes back one counted hit of a window that still exists; never below zero, never creates
-- a counter (a window that ended stays gone).
-- KEYS[1] the window counter.
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then
  redis.call('DECR', KEYS[1])
end
return 0
