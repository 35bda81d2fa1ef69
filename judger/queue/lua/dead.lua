-- prelude: lib/claim.lua lib/taskset.lua
-- Dead letter: XADD to the dead stream with the reason, status "dead" (when
-- the task id is known), XACK and XDEL of the entry. A token '' is an entry
-- that never ran; else nothing is written once the run lost its claim.
-- A taskset member is counted in its set as 'dead' (member_done: its
-- dependents are cancelled).
-- Returns 1 when written, 0 when the claim was lost.
local dead_stream = KEYS[1]
local status_key = KEYS[2]
local stream = KEYS[3]
local claim_key = KEYS[4]
local group = ARGV[1]
local entry_id = ARGV[2]
local task_id = ARGV[3]
local reason = ARGV[4]
local attempts = ARGV[5]
local host = ARGV[6]
local task = ARGV[7]
local now_ms = ARGV[8]
local priority = ARGV[9]
local maxlen = ARGV[10]
local token = ARGV[11]
local prefix = ARGV[12]

if token ~= '' then
  if not holds(claim_key, status_key, token) then return 0 end
  release_claim(claim_key, status_key)
end
redis.call('XADD', dead_stream, 'MAXLEN', '~', maxlen, '*', 'task_id', task_id,
  'priority', priority, 'entry_id', entry_id, 'reason', reason, 'attempts', attempts,
  'host', host, 'time_ms', now_ms, 'task', task)
-- An entry that never ran names its task only by the entry's own task_id
-- field (a member the daemon could not read): believed only when the
-- task's record says this is its entry, so an entry cannot end another task.
if task_id ~= '' and token == '' then
  local known = redis.call('HGET', status_key, 'entry')
  if known and known ~= entry_id then task_id = '' end
end
if task_id ~= '' then
  redis.call('HSET', status_key, 'state', 'dead', 'reason', reason, 'host', host,
    'updated_ms', now_ms)
  local ts_id = redis.call('HGET', status_key, 'taskset')
  if ts_id and ts_id ~= '' then member_done(prefix, ts_id, task_id, 'dead', now_ms) end
end
pcall(redis.call, 'XACK', stream, group, entry_id)
redis.call('XDEL', stream, entry_id)
return 1
