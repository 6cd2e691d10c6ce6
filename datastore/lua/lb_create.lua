-- Load balancer connection lookup-or-create, atomic across every instance sharing the store:
-- the first instance to see a new connection stores its backend, every other one (racing
-- or later, whatever its own pool says) gets that same backend back.
-- KEYS[1]  forward key  <ns>:f<lb_ckey client -> VIP>
-- KEYS[2]  reverse key of the caller's choice  <ns>:r<lb_ckey backend -> client>
-- ARGV[1]  the 20-byte connection with the caller's backend (struct lb_conn), or "" when
--          the caller has no backend to offer (lookup only)
-- ARGV[2]  TTL in milliseconds
-- ARGV[3]  "1": refresh the TTL of an existing connection (remote mode), else "0"
-- ARGV[4]  reverse key prefix <ns>:r (the existing connection's backend may differ from
--          the caller's choice, so its reverse key is built here)
-- Returns {0, value} when the connection existed, {1, value} when created here,
-- {-1, other} when the caller's backend already has a connection from the same client
-- address and port (through another VIP: half NAT cannot tell them apart),
-- {-2, ""} when it does not exist and the caller offered no backend.
-- Our own writes end CLIENT TRACKING of a key for this client (NOLOOP suppresses the
-- message but Redis forgets the key), so every script reads back what it wrote: the
-- caller's cache keeps receiving invalidations for the keys it holds.
local v = redis.call('GET', KEYS[1])
if v then
  -- value: client ip 1-4, vip 5-8, backend ip 9-12, client port 13-14, vport 15-16,
  -- backend port 17-18, proto 19; reverse key: dir 1, proto, backend port, backend ip,
  -- client ip, client port, 2 zero bytes
  local rkey = ARGV[4] .. '\1' .. string.sub(v, 19, 19) .. string.sub(v, 17, 18) ..
    string.sub(v, 9, 12) .. string.sub(v, 1, 4) .. string.sub(v, 13, 14) .. '\0\0'
  if ARGV[3] == '1' then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    redis.call('PEXPIRE', rkey, ARGV[2])
    redis.call('GET', KEYS[1])
  end
  redis.call('GET', rkey)
  return {0, v}
end
if ARGV[1] == '' then
  return {-2, ''}
end
local o = redis.call('GET', KEYS[2])
if o and o ~= ARGV[1] then
  return {-1, o}
end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('GET', KEYS[1])
redis.call('GET', KEYS[2])
return {1, ARGV[1]}
