-- prelude: lib/claim.lua
-- An attempt given back by a draining judger: the attempt count goes down
-- again, the status is "queued", the claim is released and the entry is
-- released (claimable at once). Only while the claim is held.
-- Returns 1 when done, 0 when the claim was lost (nothing written).
local result_key = KEYS[1]
local status_key = KEYS[2]
local stream = KEYS[3]
local claim_key = KEYS[4]
local host = ARGV[1]
local now_ms = ARGV[2]
local group = ARGV[3]
local entry_id = ARGV[4]
local idle_ms = ARGV[5]
local token = ARGV[6]

if not holds(claim_key, status_key, token) then return 0 end
if redis.call('EXISTS', result_key) == 0 then
  if tonumber(redis.call('HGET', status_key, 'attempts') or '0') > 0 then
    redis.call('HINCRBY', status_key, 'attempts', -1)
  end
  redis.call('HSET', status_key, 'state', 'queued', 'drained_by', host, 'updated_ms', now_ms)
end
release_claim(claim_key, status_key)
local ok, pending = pcall(redis.call, 'XPENDING', stream, group, entry_id, entry_id, 1)
if ok and pending[1] and pending[1][2] == host then
  redis.call('XCLAIM', stream, group, host, 0, entry_id, 'IDLE', idle_ms, 'JUSTID')
end
return 1
