-- prelude: lib/claim.lua
-- Writes a run's progress, only while the claim is held and the task runs: a
-- late progress write must neither resurrect the record of a finished task
-- nor overwrite the run that took the task over.
-- Returns 1 when written, 0 when not.
local status_key = KEYS[1]
local claim_key = KEYS[2]
local progress = ARGV[1]
local now_ms = ARGV[2]
local token = ARGV[3]

if redis.call('HGET', status_key, 'state') == 'running'
    and holds(claim_key, status_key, token) then
  redis.call('HSET', status_key, 'progress', progress, 'updated_ms', now_ms)
  return 1
end
return 0
