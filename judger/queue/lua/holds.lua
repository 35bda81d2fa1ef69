-- prelude: lib/claim.lua
-- Whether a run still holds its task's claim and no result is stored: the
-- check before a write that is not itself a script (a published output).
-- KEYS[1] claim key, KEYS[2] status key, KEYS[3] result key; ARGV[1] the
-- run's token. Returns 1 or 0.
local claim_key = KEYS[1]
local status_key = KEYS[2]
local result_key = KEYS[3]
local token = ARGV[1]

if redis.call('EXISTS', result_key) == 1 then return 0 end
if holds(claim_key, status_key, token) then return 1 end
return 0
