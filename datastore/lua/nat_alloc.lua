-- NAT mapping lookup-or-create, atomic across every instance sharing the store.
-- KEYS[1]  forward key  <ns>:m<ep_key inside>
-- ARGV[1]  reverse key prefix  <ns>:r
-- ARGV[2]  port cursor key  <ns>:p<proto><public ip>
-- ARGV[3]  public IPv4 address (4 bytes, network order)
-- ARGV[4]  lowest port, ARGV[5] highest port (inclusive)
-- ARGV[6]  TTL in milliseconds
-- ARGV[7]  16-byte value template (inside address, port, proto, state; public part zero)
-- ARGV[8]  maximum number of ports to probe
-- ARGV[9], ARGV[10], ARGV[11]  TTL in ms for state new, established, closing: when the
--          mapping exists its idle timeout is refreshed (both keys), unless ARGV[9] is "0"
-- ARGV[12] counters key of the flow ("" for none), ARGV[13] bytes of the packet that
--          creates it: a created mapping starts with po = 1, bo = ARGV[13]
-- Returns {0, value} when the mapping existed, {1, value} when created here,
-- {-1, ""} when no port was free among the probed ones.
-- Our own writes end CLIENT TRACKING of a key for this client (NOLOOP suppresses the
-- message but Redis forgets the key), so every script reads back what it wrote: the
-- caller's cache keeps receiving invalidations for the keys it holds.
local v = redis.call('GET', KEYS[1])
if v then
  if ARGV[9] ~= '0' then
    local ttl = ARGV[9 + string.byte(v, 14)]
    local rkey = ARGV[1] .. string.sub(v, 13, 13) .. '\0' .. string.sub(v, 11, 12) .. string.sub(v, 5, 8)
    redis.call('PEXPIRE', KEYS[1], ttl)
    redis.call('PEXPIRE', rkey, ttl)
    redis.call('GET', KEYS[1])
    redis.call('GET', rkey)
  end
  return {0, v}
end
local lo = tonumber(ARGV[4])
local range = tonumber(ARGV[5]) - lo + 1
local probes = math.min(range, tonumber(ARGV[8]))
local tmpl = ARGV[7]
local pub = ARGV[3]
local proto = string.sub(tmpl, 13, 13)
for _ = 1, probes do
  local c = redis.call('INCR', ARGV[2])
  local port = lo + (c - 1) % range
  local pb = string.char(math.floor(port / 256), port % 256)
  local value = string.sub(tmpl, 1, 4) .. pub .. string.sub(tmpl, 9, 10) .. pb .. string.sub(tmpl, 13, 16)
  local rkey = ARGV[1] .. proto .. '\0' .. pb .. pub
  if redis.call('SET', rkey, value, 'NX', 'PX', ARGV[6]) then
    redis.call('SET', KEYS[1], value, 'PX', ARGV[6])
    if ARGV[12] and ARGV[12] ~= '' then
      redis.call('HSET', ARGV[12], 'po', 1, 'bo', ARGV[13])
      redis.call('PEXPIRE', ARGV[12], ARGV[6])
    end
    redis.call('GET', KEYS[1])
    redis.call('GET', rkey)
    return {1, value}
  end
end
return {-1, ''}
