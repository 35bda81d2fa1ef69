-- Gives an entry back without counting an attempt: its idle time is set past
-- any lease, so any judger may claim it at once. Only while it is pending on
-- this consumer. Returns 1 when released, 0 when not ours.
local stream = KEYS[1]
local group = ARGV[1]
local consumer = ARGV[2]
local entry_id = ARGV[3]
local idle_ms = ARGV[4]

local ok, pending = pcall(redis.call, 'XPENDING', stream, group, entry_id, entry_id, 1)
if ok and pending[1] and pending[1][2] == consumer then
  redis.call('XCLAIM', stream, group, consumer, 0, entry_id, 'IDLE', idle_ms, 'JUSTID')
  return 1
end
return 0
