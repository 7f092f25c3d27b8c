-- Checks hits against fixed windows that start at each window's first counted hit: every limit
-- of one request in one script (on a single Redis or Sentinel the keys may sit anywhere; on a
-- cluster, one key per call), each in order, and the hit is counted on every window only when
-- every one allows it: a request that any limit refuses counts on none, so nothing needs
-- taking back. A window at its limit answers how long it has left (a limit of 0, or a
-- counter without a TTL, gets a full window).
-- KEYS[i] a window counter; ARGV[2i - 1] its window (ms); ARGV[2i] its limit.
-- Returns, per key: -1 when it allows the hit, else the ms until its window ends.
local answers, pending, refused = {}, {}, false
for i, key in ipairs(KEYS) do
  local window, limit = ARGV[2 * i - 1], tonumber(ARGV[2 * i])
  -- A key named twice counts the earlier naming's hit.
  local n = tonumber(redis.call('GET', key) or '0') + (pending[key] or 0)
  if n >= limit then
    local ttl = redis.call('PTTL', key)
    if ttl < 0 then
      if ttl == -1 then redis.call('PEXPIRE', key, window) end
      ttl = tonumber(window)
    end
    answers[i] = ttl
    refused = true
  else
    answers[i] = -1
    pending[key] = (pending[key] or 0) + 1
  end
end
if not refused then
  for i, key in ipairs(KEYS) do
    redis.call('INCR', key)
    if redis.call('PTTL', key) < 0 then
      redis.call('PEXPIRE', key, ARGV[2 * i - 1])
    end
  end
end
return answers
