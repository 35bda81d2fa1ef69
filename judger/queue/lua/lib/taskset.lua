-- A taskset member's end, put in front of the scripts whose first line
-- names lib/taskset.lua (store, dead, begin, taskset_cancel). Keys derive
-- from the prefix (docs/queue.md "Tasksets"): judger:taskset:<id> and its
-- :done (counted), :open (not counted yet), :held, :deps, :rdeps:<src>.

local TS_RESULTS_MAXLEN = '100000'

-- The count a member's final status goes to.
local function ts_count_field(status)
  if status == 'finished' then return 'finished' end
  if status == 'cancelled' then return 'cancelled' end
  return 'failed'
end

-- A cancelled result for a member that never ran (or never will), written
-- once (SET NX) with its results line and status record. True when written.
local function ts_write_cancelled(prefix, ts_id, task_id, reason, now_ms)
  local task = {id = task_id, status = 'cancelled', reason = reason}
  if ts_id ~= '' then task.taskset = ts_id end
  local result = cjson.encode({task = task, reason = reason})
  if not redis.call('SET', prefix .. ':result:' .. task_id, result, 'NX') then return false end
  redis.call('XADD', prefix .. ':results', 'MAXLEN', '~', TS_RESULTS_MAXLEN, '*',
    'task_id', task_id, 'attempt', '0', 'host', '', 'status', 'cancelled', 'summary', reason,
    'taskset', ts_id)
  redis.call('HSET', prefix .. ':task:' .. task_id, 'state', 'finished', 'status', 'cancelled',
    'reason', reason, 'summary', reason, 'finished_ms', now_ms, 'updated_ms', now_ms)
  return true
end

-- A held member whose sources all finished goes to the set's stream.
local function ts_release(prefix, ts, task_id, now_ms)
  local json = redis.call('HGET', ts .. ':held', task_id)
  if not json then return end
  redis.call('HDEL', ts .. ':held', task_id)
  local priority = redis.call('HGET', ts, 'priority')
  local entry = redis.call('XADD', prefix .. ':q:' .. priority, '*', 'task', json, 'task_id',
    task_id)
  redis.call('HSET', prefix .. ':task:' .. task_id, 'state', 'queued', 'entry', entry,
    'queued_ms', now_ms, 'updated_ms', now_ms)
  redis.call('HINCRBY', ts, 'held', -1)
end

-- The set's end, once: state finished (a cancelled set stays cancelled),
-- finished_ms, its line in the results stream, the unranked mark.
local function ts_maybe_end(prefix, ts_id, ts, now_ms)
  local r = redis.call('HGETALL', ts)
  local h = {}
  for i = 1, #r, 2 do h[r[i]] = r[i + 1] end
  local done = tonumber(h.finished or '0') + tonumber(h.failed or '0')
    + tonumber(h.cancelled or '0')
  if done < tonumber(h.total or '0') or (h.finished_ms or '') ~= '' then return end
  local state = h.state
  if state == 'running' then state = 'finished' end
  redis.call('HSET', ts, 'state', state, 'finished_ms', now_ms, 'updated_ms', now_ms)
  redis.call('XADD', prefix .. ':results', 'MAXLEN', '~', TS_RESULTS_MAXLEN, '*',
    'taskset_id', ts_id, 'status', state, 'total', h.total, 'finished', h.finished or '0',
    'failed', h.failed or '0', 'cancelled', h.cancelled or '0', 'time_ms', now_ms)
  redis.call('SREM', prefix .. ':tasksets:running', ts_id)
  if h.standings == '1' then redis.call('SADD', prefix .. ':tasksets:unranked', ts_id) end
end

-- A member came to its end (status: its result's, or 'dead'): counted once
-- (SADD :done), its dependents released (all their sources finished) or
-- cancelled (this one did not finish), transitively through a work list;
-- then the set's end when every member is done.
local function member_done(prefix, ts_id, task_id, status, now_ms)
  local ts = prefix .. ':taskset:' .. ts_id
  if redis.call('EXISTS', ts) == 0 then return end
  local work = {{task_id, status}}
  local i = 1
  while i <= #work do
    local tid, st = work[i][1], work[i][2]
    i = i + 1
    if redis.call('SADD', ts .. ':done', tid) == 1 then
      redis.call('SREM', ts .. ':open', tid)
      redis.call('HINCRBY', ts, ts_count_field(st), 1)
      for _, d in ipairs(redis.call('SMEMBERS', ts .. ':rdeps:' .. tid)) do
        if st == 'finished' then
          if redis.call('HINCRBY', ts .. ':deps', d, -1) <= 0 then
            ts_release(prefix, ts, d, now_ms)
          end
        elseif redis.call('HDEL', ts .. ':held', d) == 1 then
          redis.call('HINCRBY', ts, 'held', -1)
          ts_write_cancelled(prefix, ts_id, d, 'dependency ' .. tid .. ' ' .. st, now_ms)
          work[#work + 1] = {d, 'cancelled'}
        end
      end
    end
  end
  redis.call('HSET', ts, 'updated_ms', now_ms)
  ts_maybe_end(prefix, ts_id, ts, now_ms)
end
