-- Counts one failed login of a subject in a window opened by its first failure, and at the
-- threshold locks the subject and forgets the count. A threshold of 0 counts nothing.
-- KEYS[1] the failure counter; KEYS[2] the lock (same hash tag).
-- ARGV[1] the threshold; ARGV[2] the window (ms); ARGV[3] how long a lock lasts (ms).
-- Returns 1 when the subject is locked now, else 0.
local threshold = tonumber(ARGV[1])
if threshold <= 0 then
  return redis.call('EXISTS', KEYS[2])
end
local n = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) < 0 then
  -- The first failure opens the window (a counter without a TTL is repaired the same way).
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if n >= threshold then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
  redis.call('DEL', KEYS[1])
  return 1
end
return redis.call('EXISTS', KEYS[2])
