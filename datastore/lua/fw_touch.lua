-- Write-behind flush of one firewall connection: merge the sequence tracking the caller
-- saw and, at most once per refresh interval per connection and instance, refresh the
-- idle timeout.
-- KEYS[1]  connection key  <ns>:c<fw_ckey>
-- ARGV[1]  the 32-byte value the caller holds (identity: protocol, originator side and
--          the originator's initial sequence number, bytes 1, 3 and 9-12)
-- ARGV[2] .. ARGV[10]  TTL in milliseconds for states 1 .. 9 (enum fw_state)
-- ARGV[11] "1" to refresh the TTL, "0" to merge the tracking only (keeping the TTL)
-- Returns {1, value} done (value as stored: its state may be newer than the caller's),
-- {-1, ""} the connection is gone, {-2, value} the key now holds another connection.
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

-- 'stored' with the tracking of 'mine' merged in, per direction with the same ISN.
local function merge(stored, mine)
  local ends, wins = {}, {}
  for d = 0, 1 do
    local e, w = u32(stored, 17 + 4 * d), u32(stored, 25 + 4 * d)
    if string.sub(stored, 9 + 4 * d, 12 + 4 * d) == string.sub(mine, 9 + 4 * d, 12 + 4 * d) then
      local me, mw = u32(mine, 17 + 4 * d), u32(mine, 25 + 4 * d)
      local ahead = (me - e) % 4294967296
      if ahead ~= 0 and ahead < 2147483648 then e = me end
      if mw > w then w = mw end
    end
    ends[d + 1], wins[d + 1] = e, w
  end
  return string.sub(stored, 1, 16) .. p32(ends[1]) .. p32(ends[2]) .. p32(wins[1]) .. p32(wins[2])
end

local v = redis.call('GET', KEYS[1])
if not v then
  return {-1, ''}
end
local mine = ARGV[1]
if string.byte(v, 1) ~= string.byte(mine, 1) or string.byte(v, 3) ~= string.byte(mine, 3) or
   string.sub(v, 9, 12) ~= string.sub(mine, 9, 12) then
  return {-2, v}
end
local nv = merge(v, mine)
if ARGV[11] ~= '0' then
  redis.call('SET', KEYS[1], nv, 'PX', ARGV[1 + string.byte(v, 2)])
elseif nv ~= v then
  redis.call('SET', KEYS[1], nv, 'KEEPTTL')
end
redis.call('GET', KEYS[1])
return {1, nv}
