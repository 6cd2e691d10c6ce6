-- Write-behind idle-timeout refresh of one load balancer connection (both keys), sent at
-- most once per refresh interval per connection and instance.
-- KEYS[1]  forward key, KEYS[2] reverse key
-- ARGV[1]  the 20-byte connection the caller holds
-- ARGV[2]  TTL in milliseconds
-- Returns {1, value} refreshed, {-1, ""} connection gone, {-2, value} the forward key now
-- holds another connection (the caller's one expired and the client came back).
-- Our own writes end CLIENT TRACKING of a key for this client (NOLOOP suppresses the
-- message but Redis forgets the key), so every script reads back what it wrote: the
-- caller's cache keeps receiving invalidations for the keys it holds.
local v = redis.call('GET', KEYS[1])
if not v then
  return {-1, ''}
end
if v ~= ARGV[1] then
  return {-2, v}
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('GET', KEYS[1])
redis.call('GET', KEYS[2])
return {1, v}
