-- Publish the load balancer's backend pool: the JSON text and its version change together,
-- so an instance that reads both with one MGET never mixes two pools.
-- KEYS[1]  <ns>:pool (JSON {"services": [...]})
-- KEYS[2]  <ns>:pool_ver (integer, incremented by every publish)
-- ARGV[1]  the pool JSON
-- ARGV[2]  "1" to publish only when there is no pool yet, "0" to replace it
-- Returns {1, version} published, {0, version} left alone (a pool exists and 'only when
-- absent' was asked, or the stored pool is the same text: no needless version change).
local cur = redis.call('GET', KEYS[1])
if cur and (ARGV[2] == '1' or cur == ARGV[1]) then
  return {0, tonumber(redis.call('GET', KEYS[2]) or '0')}
end
redis.call('SET', KEYS[1], ARGV[1])
return {1, redis.call('INCR', KEYS[2])}
