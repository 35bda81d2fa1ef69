-- Starts an attempt: takes the task's claim (only when no other run holds
-- it), counts the run and marks the status "running" on this host. Atomic: a
-- result that lands between the check and the update, or a second entry of
-- the task taken by another slot or host at the same moment, can never
-- start a second run.
-- Returns {outcome, attempt, token}; the outcome is a name of JD_BEGIN_MAP
-- (queue.h): 'run', 'done', 'duplicate', 'busy', 'exhausted'.
local result_key = KEYS[1]
local status_key = KEYS[2]
local claim_key = KEYS[3]
local claims_counter = KEYS[4]
local host = ARGV[1]
local now_ms = ARGV[2]
local priority = ARGV[3]
local entry_id = ARGV[4]
local lease_ms = ARGV[5]
local max_attempts = tonumber(ARGV[6])

if redis.call('EXISTS', result_key) == 1 then return {'done', 0, 0} end
if redis.call('EXISTS', claim_key) == 1 then
  if redis.call('HGET', status_key, 'entry') == entry_id then return {'busy', 0, 0} end
  return {'duplicate', 0, 0}
end
local attempts = tonumber(redis.call('HGET', status_key, 'attempts') or '0')
if attempts >= max_attempts then return {'exhausted', attempts, 0} end
local token = redis.call('INCR', claims_counter)
redis.call('SET', claim_key, token, 'PX', lease_ms)
attempts = redis.call('HINCRBY', status_key, 'attempts', 1)
redis.call('HSET', status_key, 'state', 'running', 'host', host, 'attempt', attempts,
  'started_ms', now_ms, 'updated_ms', now_ms, 'stream', priority, 'entry', entry_id,
  'progress', '', 'claim', token)
redis.call('HDEL', status_key, 'drained_by')
return {'run', attempts, token}
