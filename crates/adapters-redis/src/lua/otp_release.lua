-- Gives a claimed challenge back, only if the claim still holds it.
-- KEYS[1] the challenge hash; ARGV[1] the claim id. Returns 1 when released.
if ARGV[1] ~= '' and redis.call('HGET', KEYS[1], 'claim') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'claim', '')
  return 1
end
return 0
