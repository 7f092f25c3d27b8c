-- Rotates the refresh token of one login session, atomically. The rule is
-- resetd_ports::login::RefreshTokenStore::rotate, in the same order.
-- KEYS[1] the session hash
-- ARGV    client id, presented digest (hex), next digest (hex), now (unix ms), grace (ms),
--         the session's TTL (ms)
-- Returns {outcome, client, gen, auth, at}: outcome is rotated | retried (with the fields),
--         reused | unknown | corrupt (alone).
local key = KEYS[1]
local f = redis.call('HMGET', key, 'client', 'gen', 'auth', 'cur', 'prev', 'at')
if not f[1] then
  return {'unknown'}
end
if not (f[2] and f[3] and f[4]) then
  return {'corrupt'}
end
-- Another client's session: nothing changes, nothing is told.
if f[1] ~= ARGV[1] then
  return {'unknown'}
end
-- Digests, not secrets: plain comparisons are fine.
if f[4] == ARGV[2] then
  redis.call('HSET', key, 'prev', ARGV[2], 'cur', ARGV[3], 'at', ARGV[4])
  redis.call('PEXPIRE', key, ARGV[6])
  return {'rotated', f[1], f[2], f[3], ARGV[4]}
end
-- The refresh that rotated it, retried within grace: the same answer, nothing changes.
local at = tonumber(f[6] or '')
if at and f[5] == ARGV[2] and f[4] == ARGV[3] and tonumber(ARGV[4]) - at <= tonumber(ARGV[5]) then
  return {'retried', f[1], f[2], f[3], f[6]}
end
-- Any other token of the session is a replay: the session ends.
redis.call('DEL', key)
return {'reused'}
