-- Records an access-token digest in its user's sorted set, scored by its expiry (Redis
-- clock, ms), drops the entries that have expired, and keeps the set alive `margin` ms past
-- its longest-lived token.
-- KEYS[1] the user's set; ARGV[1] the digest (hex); ARGV[2] the token's TTL (ms);
-- ARGV[3] the margin (ms).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now))
redis.call('ZADD', KEYS[1], string.format('%d', now + tonumber(ARGV[2])), ARGV[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local keep = tonumber(last[2]) - now + tonumber(ARGV[3])
redis.call('PEXPIRE', KEYS[1], string.format('%d', keep))
return 0
