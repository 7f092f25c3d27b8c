-- Judges one guess against an OTP challenge and applies the verdict, atomically.
-- The rule is resetd_domain::otp::OtpChallenge::judge, in the same order.
-- KEYS[1]  the challenge hash
-- ARGV     now (unix ms), guess digest (hex), client id, usage, channel, address, new claim id,
--          the user's current credential generation ('*' when the account is gone: any)
-- Returns  {outcome, attempts_left}: outcome is gone | mismatch | code_expired | claimed |
--          wrong | corrupt.
local key = KEYS[1]
local now = tonumber(ARGV[1])
local c = redis.call('HMGET', key, 'code', 'client', 'usage', 'channel', 'addr', 'attempts', 'code_exp', 'exp', 'claim', 'gen')
if not c[1] then
  return {'gone', 0}
end
local attempts, code_exp, exp = tonumber(c[6]), tonumber(c[7]), tonumber(c[8])
if not (attempts and code_exp and exp and c[2] and c[3] and c[4] and c[5] and c[9]) then
  return {'corrupt', 0}
end
-- Expired, exhausted, or held by a claim: gone for this caller.
if now >= exp or attempts <= 0 or c[9] ~= '' then
  return {'gone', 0}
end
-- Another client, usage or recipient, or a password or status change since the send (a
-- challenge stored without a generation counts as one): nothing spent.
if c[2] ~= ARGV[3] or c[3] ~= ARGV[4] or c[4] ~= ARGV[5] or c[5] ~= ARGV[6] or (ARGV[8] ~= '*' and c[10] ~= ARGV[8]) then
  return {'mismatch', 0}
end
-- The code expired (the token lives on): nothing spent.
if now >= code_exp then
  return {'code_expired', 0}
end
-- Digests, not secrets: a plain comparison is fine.
if c[1] == ARGV[2] then
  redis.call('HSET', key, 'claim', ARGV[7])
  return {'claimed', attempts}
end
attempts = attempts - 1
if attempts <= 0 then
  redis.call('DEL', key)
else
  redis.call('HSET', key, 'attempts', attempts)
end
return {'wrong', attempts}
