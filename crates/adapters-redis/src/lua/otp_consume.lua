-- Deletes a claimed challenge, only if the claim still holds it.
-- KEYS[1] the challenge hash; ARGV[1] the claim id. Returns 1 when consumed.
if ARGV[1] ~= '' and redis.call('HGET', KEYS[1], 'claim') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
