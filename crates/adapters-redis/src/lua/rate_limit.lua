-- Counts one hit in a fixed window that starts at the window's first hit.
-- KEYS[1] the window counter; ARGV[1] the window (ms); ARGV[2] the limit.
-- Returns -1 when the hit is within the limit, else the ms until the window ends.
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  -- The first hit opens the window (a counter without a TTL is repaired the same way).
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
if n > tonumber(ARGV[2]) then
  return ttl
end
return -1
