-- Write-behind flush of one NAT mapping: add the coalesced per-flow counters and, at most
-- once per refresh interval per flow and instance, refresh the idle timeout of both keys.
-- KEYS[1]  forward key, KEYS[2] reverse key
-- ARGV[1]  the 16-byte value the caller holds (identity = first 12 bytes)
-- ARGV[2], ARGV[3], ARGV[4]  TTL in milliseconds for state new, established, closing
-- ARGV[5]  counters key (a hash: po, bo, pi, bi = packets/bytes out/in), optional
-- ARGV[6..9]  deltas for po, bo, pi, bi (optional, default 0)
-- ARGV[10] "0" to add counters only, without refreshing the timeout (default refresh)
-- Returns {1, value} done (value as stored: its state may be newer than the caller's),
-- {-1, ""} mapping gone, {-2, value} mapping now belongs to another flow.
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
local ttl = ARGV[2 + string.byte(v, 14)]
if ARGV[10] ~= '0' then
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
  redis.call('GET', KEYS[1])
  redis.call('GET', KEYS[2])
end
if ARGV[5] and ARGV[5] ~= '' then
  local names = {'po', 'bo', 'pi', 'bi'}
  for i = 1, 4 do
    local d = tonumber(ARGV[5 + i] or '0')
    if d ~= 0 then
      redis.call('HINCRBY', ARGV[5], names[i], d)
    end
  end
  redis.call('PEXPIRE', ARGV[5], ttl)
end
return {1, v}
