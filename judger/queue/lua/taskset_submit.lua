-- Submits a taskset, all or nothing: refuses an id that exists ('exists')
-- or a member that is not new (a status record or a result of its id:
-- error), else writes the record, the member list, each member's status
-- record (taskset, class; state queued or held), the held members and
-- their dependency counts, and XADDs every member without "after" to the
-- set's priority stream (its entry id into its status record).
-- ARGV: prefix, id, priority, standings (0/1), now_ms, n, then four per
-- member: task id, class, envelope JSON, "after" ids joined by ','.
-- Returns 'created' or 'exists'.
local prefix = ARGV[1]
local ts_id = ARGV[2]
local priority = ARGV[3]
local standings = ARGV[4]
local now_ms = ARGV[5]
local n = tonumber(ARGV[6])

local ts = prefix .. ':taskset:' .. ts_id
if redis.call('EXISTS', ts) == 1 then return 'exists' end
if not n or n < 1 or #ARGV ~= 6 + 4 * n then
  return redis.error_reply('taskset_submit: ' .. #ARGV .. ' arguments for ' .. tostring(n))
end

-- Checked before anything is written.
local members, afters, nheld = {}, {}, 0
for i = 1, n do
  local tid = ARGV[3 + 4 * i]
  if members[tid] then
    return redis.error_reply('tasks[' .. (i - 1) .. '] (' .. tid .. '): twice')
  end
  if redis.call('EXISTS', prefix .. ':task:' .. tid) == 1
      or redis.call('EXISTS', prefix .. ':result:' .. tid) == 1 then
    return redis.error_reply('tasks[' .. (i - 1) .. '] (' .. tid .. '): the task exists')
  end
  members[tid] = true
end
for i = 1, n do
  local list, seen = {}, {}
  for src in string.gmatch(ARGV[6 + 4 * i], '[^,]+') do
    if not members[src] or src == ARGV[3 + 4 * i] then
      return redis.error_reply('tasks[' .. (i - 1) .. ']: after: ' .. src .. ' is not a member')
    end
    if not seen[src] then list[#list + 1] = src end
    seen[src] = true
  end
  afters[i] = list
  if #list > 0 then nheld = nheld + 1 end
end

redis.call('HSET', ts, 'state', 'running', 'priority', priority, 'total', n, 'held', nheld,
  'finished', 0, 'failed', 0, 'cancelled', 0, 'submitted_ms', now_ms, 'started_ms', '',
  'finished_ms', '', 'cancel_reason', '', 'standings', standings, 'updated_ms', now_ms)
redis.call('ZADD', prefix .. ':tasksets', now_ms, ts_id)
redis.call('SADD', prefix .. ':tasksets:running', ts_id)
local stream = prefix .. ':q:' .. priority
for i = 1, n do
  local tid, klass, json = ARGV[3 + 4 * i], ARGV[4 + 4 * i], ARGV[5 + 4 * i]
  local status_key = prefix .. ':task:' .. tid
  redis.call('RPUSH', ts .. ':tasks', tid)
  redis.call('SADD', ts .. ':open', tid)
  if #afters[i] > 0 then
    redis.call('HSET', status_key, 'state', 'held', 'taskset', ts_id, 'class', klass,
      'priority', priority, 'queued_ms', now_ms, 'updated_ms', now_ms)
    redis.call('HSET', ts .. ':held', tid, json)
    redis.call('HSET', ts .. ':deps', tid, #afters[i])
    for _, src in ipairs(afters[i]) do redis.call('SADD', ts .. ':rdeps:' .. src, tid) end
  else
    -- task_id: a daemon that cannot read the member (over its entry caps)
    -- still dead-letters it under its id, so its set is counted and ends.
    local entry = redis.call('XADD', stream, '*', 'task', json, 'task_id', tid)
    redis.call('HSET', status_key, 'state', 'queued', 'taskset', ts_id, 'class', klass,
      'priority', priority, 'queued_ms', now_ms, 'updated_ms', now_ms, 'entry', entry)
  end
end
return 'created'
