-- prelude: lib/claim.lua
-- An attempt that failed for a system reason: status "queued" with the error
-- and the claim released; the entry stays pending and is claimed again after
-- the lease. Returns 1 when done, 0 when the claim was lost (nothing
-- written).
local result_key = KEYS[1]
local status_key = KEYS[2]
local claim_key = KEYS[3]
local now_ms = ARGV[1]
local error_text = ARGV[2]
local token = ARGV[3]

if not holds(claim_key, status_key, token) then return 0 end
if redis.call('EXISTS', result_key) == 0 then
  redis.call('HSET', status_key, 'state', 'queued', 'last_error', error_text,
    'updated_ms', now_ms)
end
release_claim(claim_key, status_key)
return 1
