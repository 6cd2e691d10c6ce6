-- Write-behind idle-timeout refresh of one NAT mapping (both keys), at most once per
-- refresh interval per flow and instance.
-- KEYS[1]  forward key, KEYS[2] reverse key
-- ARGV[1]  the 16-byte value the caller holds (identity = first 12 bytes)
-- ARGV[2], ARGV[3], ARGV[4]  TTL in milliseconds for state new, established, closing
-- Returns {1, value} refreshed (value as stored: its state may be newer than the
-- caller's), {-1, ""} mapping gone, {-2, value} mapping now belongs to another flow.
local v = redis.call('GET', KEYS[1])
if not v then
  return {-1, ''}
end
if string.sub(v, 1, 12) ~= string.sub(ARGV[1], 1, 12) then
  return {-2, v}
end
local ttl = ARGV[2 + string.byte(v, 14)]
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return {1, v}
