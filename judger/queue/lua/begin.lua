-- prelude: lib/taskset.lua
-- Starts an attempt: takes the task's claim (only when no other run holds
-- it), counts the run and marks the status "running" on this host. Atomic: a
-- result that lands between the check and the update, or a second entry of
-- the task taken by another slot or host at the same moment, can never
-- start a second run. A task whose cancel was asked (its status record's
-- "cancel", or its taskset's state cancelled) does not run: its cancelled
-- result is written, its entry acked and deleted (and a taskset member is
-- counted in its set).
-- Returns {outcome, attempt, token}; the outcome is a name of JD_BEGIN_MAP
-- (queue.h): 'run', 'done', 'duplicate', 'busy', 'exhausted', 'cancelled'.
local result_key = KEYS[1]
local status_key = KEYS[2]
local claim_key = KEYS[3]
local claims_counter = KEYS[4]
local stream = KEYS[5]
local host = ARGV[1]
local now_ms = ARGV[2]
local priority = ARGV[3]
local entry_id = ARGV[4]
local lease_ms = ARGV[5]
local max_attempts = tonumber(ARGV[6])
local group = ARGV[7]
local prefix = ARGV[8]
local task_id = ARGV[9]

if redis.call('EXISTS', result_key) == 1 then return {'done', 0, 0} end
if redis.call('EXISTS', claim_key) == 1 then
  if redis.call('HGET', status_key, 'entry') == entry_id then return {'busy', 0, 0} end
  return {'duplicate', 0, 0}
end
local ts_id = redis.call('HGET', status_key, 'taskset') or ''
local cancel = redis.call('HGET', status_key, 'cancel') or ''
local ts = prefix .. ':taskset:' .. ts_id
if cancel == '' and ts_id ~= '' and redis.call('HGET', ts, 'state') == 'cancelled' then
  cancel = 'taskset cancelled: ' .. (redis.call('HGET', ts, 'cancel_reason') or '')
end
if cancel ~= '' then
  ts_write_cancelled(prefix, ts_id, task_id, cancel, now_ms)
  pcall(redis.call, 'XACK', stream, group, entry_id)
  redis.call('XDEL', stream, entry_id)
  if ts_id ~= '' then member_done(prefix, ts_id, task_id, 'cancelled', now_ms) end
  return {'cancelled', 0, 0}
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
if ts_id ~= '' and (redis.call('HGET', ts, 'started_ms') or '') == '' then
  redis.call('HSET', ts, 'started_ms', now_ms)
end
return {'run', attempts, token}
