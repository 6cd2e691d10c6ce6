-- Publish a firewall rule set: the JSON text and its version change together, so every
-- instance that sees a new version reads the matching rule set (MGET of both keys).
-- KEYS[1]  <ns>:rules      the rule set, canonical JSON {"default": ..., "rules": [...]}
-- KEYS[2]  <ns>:rules_ver  its version, an integer incremented on every change
-- ARGV[1]  the new rule set (validated by the caller)
-- ARGV[2]  "1" to publish only when the store has no rule set yet, "0" always
-- Returns {version, 1} published as that version, {version, 0} not published (a rule set
-- was present and ARGV[2] is "1", or it is identical to ARGV[1]): the current version.
local cur = redis.call('GET', KEYS[1])
if cur and (ARGV[2] == '1' or cur == ARGV[1]) then
  return {tonumber(redis.call('GET', KEYS[2]) or '0'), 0}
end
redis.call('SET', KEYS[1], ARGV[1])
return {redis.call('INCR', KEYS[2]), 1}
