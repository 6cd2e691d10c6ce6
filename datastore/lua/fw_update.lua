-- Firewall connection write-through: create, or apply a transition only from the state the
-- caller computed it from (compare-and-set), atomic across every instance sharing the store.
-- KEYS[1]  connection key  <ns>:c<fw_ckey>
-- ARGV[1]  expected control part (the first 16 bytes of the value the caller started from),
--          or "" to create: the key must not exist (SET NX semantics)
-- ARGV[2]  new 32-byte value (struct fw_conn)
-- ARGV[3]  TTL in milliseconds for the new value's state
-- Returns {1, value} applied (value as stored: the sequence tracking part is merged with
-- what was stored), {0, value} not applied because the stored value is not the expected
-- one (or exists when creating): the caller recomputes from it, {-1, ""} the connection is
-- gone (expected one, found none).
-- Tracking part (bytes 17-32): per direction the highest sequence end seen and the largest
-- window; merged per direction whose initial sequence number (bytes 9-16) is unchanged.
-- Our own writes end CLIENT TRACKING of a key for this client (NOLOOP suppresses the
-- message but Redis forgets the key), so the script reads back what it wrote: the
-- caller's cache keeps receiving invalidations for the keys it holds.
local function u32(s, i)
  local a, b, c, d = string.byte(s, i, i + 3)
  return ((a * 256 + b) * 256 + c) * 256 + d
end

local function p32(n)
  return string.char(math.floor(n / 16777216) % 256, math.floor(n / 65536) % 256,
                     math.floor(n / 256) % 256, n % 256)
end

local function merge(old, new)
  if string.sub(old, 1, 1) ~= string.sub(new, 1, 1) or string.sub(old, 3, 3) ~= string.sub(new, 3, 3) then
    return new
  end
  local ends, wins = {}, {}
  for d = 0, 1 do
    local e, w = u32(new, 17 + 4 * d), u32(new, 25 + 4 * d)
    if string.sub(old, 9 + 4 * d, 12 + 4 * d) == string.sub(new, 9 + 4 * d, 12 + 4 * d) then
      local oe, ow = u32(old, 17 + 4 * d), u32(old, 25 + 4 * d)
      local ahead = (oe - e) % 4294967296
      if ahead ~= 0 and ahead < 2147483648 then e = oe end
      if ow > w then w = ow end
    end
    ends[d + 1], wins[d + 1] = e, w
  end
  return string.sub(new, 1, 16) .. p32(ends[1]) .. p32(ends[2]) .. p32(wins[1]) .. p32(wins[2])
end

local v = redis.call('GET', KEYS[1])
local nv = ARGV[2]
if ARGV[1] == '' then
  if v then
    return {0, v}
  end
else
  if not v then
    return {-1, ''}
  end
  if string.sub(v, 1, 16) ~= ARGV[1] then
    return {0, v}
  end
  nv = merge(v, nv)
end
redis.call('SET', KEYS[1], nv, 'PX', ARGV[3])
redis.call('GET', KEYS[1])
return {1, nv}
