-- Checks one hit against a fixed window that starts at the window's first counted hit, and
-- counts it only when it is within the limit: a refused hit counts nothing.
-- KEYS[1] the window counter; ARGV[1] the window (ms); ARGV[2] the limit.
-- Returns -1 when the hit was counted, else the ms until the window ends.
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[2]) then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then
    -- No window yet (a limit of 0), or a counter without a TTL: a full window to wait.
    if ttl == -1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
    ttl = tonumber(ARGV[1])
  end
  return ttl
end
redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) < 0 then
  -- The first hit opens the window (a counter without a TTL is repaired the same way).
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return -1
