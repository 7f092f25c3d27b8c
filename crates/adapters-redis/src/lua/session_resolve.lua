-- Resolves one API session: its role while the generation it was issued at is the user's
-- published one; a session of an older generation is deleted and answers nothing. A missing
-- generation (evicted) answers nothing too: the check fails closed.
-- KEYS[1] the session; KEYS[2] the user's generation (same hash tag).
-- Returns the role, false (no session), or 'corrupt'.
local session = redis.call('GET', KEYS[1])
if not session then
  return false
end
local role, generation = string.match(session, '^([a-z]+):(%-?%d+)$')
if not role then
  return 'corrupt'
end
if redis.call('GET', KEYS[2]) == generation then
  return role
end
redis.call('DEL', KEYS[1])
return false
