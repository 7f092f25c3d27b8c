-- Publishes a user's credential generation unless a newer one is published, and keeps it at
-- least as long as a session lives. Every older session of the user stops resolving.
-- KEYS[1] the user's generation; ARGV[1] the generation; ARGV[2] the longest session TTL (ms).
local published = tonumber(redis.call('GET', KEYS[1]) or '-1')
if published < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1])
end
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
