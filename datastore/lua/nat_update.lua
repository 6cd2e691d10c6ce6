-- Write-through NAT state transition, atomic across instances, never moving backwards.
-- KEYS[1]  forward key, KEYS[2] reverse key
-- ARGV[1]  the 16-byte value the caller holds (identity = first 12 bytes)
-- ARGV[2]  new state (0 new, 1 established, 2 closing)
-- ARGV[3]  TTL in milliseconds for the new state
-- ARGV[4]  "1" when a new connection reuses the mapping (allows closing -> new)
-- Returns {1, value} applied, {0, value} not applied because the stored state is already
-- at or past it, {-1, ""} mapping gone, {-2, value} mapping now belongs to another flow.
-- Our own writes end CLIENT TRACKING of a key for this client (NOLOOP suppresses the
-- message but Redis forgets the key), so every script reads back what it wrote: the
-- caller's cache keeps receiving invalidations for the keys it holds.
local v = redis.call('GET', KEYS[1])
if not v then
  return {-1, ''}
end
if string.sub(v, 1, 12) ~= string.sub(ARGV[1], 1, 12) then
  return {-2, v}
end
local cur = string.byte(v, 14)
local new = tonumber(ARGV[2])
if new <= cur and not (ARGV[4] == '1' and cur == 2 and new == 0) then
  return {0, v}
end
local nv = string.sub(v, 1, 13) .. string.char(new) .. string.sub(v, 15, 16)
redis.call('SET', KEYS[1], nv, 'PX', ARGV[3])
redis.call('SET', KEYS[2], nv, 'PX', ARGV[3])
redis.call('GET', KEYS[1])
redis.call('GET', KEYS[2])
return {1, nv}
