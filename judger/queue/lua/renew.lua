-- Renews the leases of this consumer's entries (idle time back to 0), only
-- those still pending on it: XCLAIM with min-idle 0 would otherwise steal
-- an entry another judger has taken over.
-- KEYS[i]: the stream of entry i; ARGV[2 + i]: its id.
-- Returns one flag per entry: 1 renewed, 0 no longer ours.
local group = ARGV[1]
local consumer = ARGV[2]

local out = {}
for i, stream in ipairs(KEYS) do
  local id = ARGV[i + 2]
  local ok, pending = pcall(redis.call, 'XPENDING', stream, group, id, id, 1)
  if ok and pending[1] and pending[1][2] == consumer then
    redis.call('XCLAIM', stream, group, consumer, 0, id, 'JUSTID')
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
