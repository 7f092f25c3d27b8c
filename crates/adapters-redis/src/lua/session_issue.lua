-- Stores one API session under the credential generation it was issued at, and publishes
-- that generation when it is newer than the published one (never older).
-- KEYS[1] the session; KEYS[2] the user's generation (same hash tag).
-- ARGV[1] role; ARGV[2] generation; ARGV[3] the session's TTL (ms).
local published = tonumber(redis.call('GET', KEYS[2]) or '-1')
if published < tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], ARGV[2])
end
-- The generation outlives every session checked against it.
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[3]) then
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
end
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. ARGV[2], 'PX', ARGV[3])
return 0
