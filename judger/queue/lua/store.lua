-- prelude: lib/claim.lua lib/taskset.lua
-- Stores a result once per task id (SET NX), appends to the results stream,
-- sets the status "finished", releases the claim and acks + deletes the
-- entry; only while the run's claim is held (or a result is there already).
-- A taskset member's first result also counts it in its set (member_done)
-- and, when it finished, goes into its class's history (judger:class:<c>:
-- the running mean of started_ms to now, weight 1/min(n, 20)).
-- Returns a name of JD_STORE_MAP (queue.h): 'written', 'already there',
-- 'refused'.
local result_key = KEYS[1]
local results_stream = KEYS[2]
local status_key = KEYS[3]
local stream = KEYS[4]
local claim_key = KEYS[5]
local result = ARGV[1]
local task_id = ARGV[2]
local attempt = ARGV[3]
local host = ARGV[4]
local status = ARGV[5]
local summary = ARGV[6]
local group = ARGV[7]
local entry_id = ARGV[8]
local now_ms = ARGV[9]
local maxlen = ARGV[10]
local token = ARGV[11]
local prefix = ARGV[12]

-- The class's history: n runs, their running mean (weight 1/min(n, 20)),
-- the last one.
local function class_history()
  local klass = redis.call('HGET', status_key, 'class')
  local started = tonumber(redis.call('HGET', status_key, 'started_ms') or '')
  if not klass or klass == '' or not started then return end
  local ms = math.max(0, tonumber(now_ms) - started)
  local key = prefix .. ':class:' .. klass
  local n = redis.call('HINCRBY', key, 'n', 1)
  local mean = tonumber(redis.call('HGET', key, 'mean_ms') or '') or ms
  mean = mean + (ms - mean) / math.min(n, 20)
  redis.call('HSET', key, 'mean_ms', math.floor(mean + 0.5), 'last_ms', ms, 'updated_ms', now_ms)
end

if redis.call('EXISTS', result_key) == 0 and not holds(claim_key, status_key, token) then
  return 'refused'
end
local out = 'already there'
if redis.call('SET', result_key, result, 'NX') then
  local ts_id = redis.call('HGET', status_key, 'taskset') or ''
  local line = {'task_id', task_id, 'attempt', attempt, 'host', host, 'status', status,
    'summary', summary}
  if ts_id ~= '' then
    line[#line + 1] = 'taskset'
    line[#line + 1] = ts_id
  end
  redis.call('XADD', results_stream, 'MAXLEN', '~', maxlen, '*', unpack(line))
  redis.call('HSET', status_key, 'state', 'finished', 'status', status, 'host', host,
    'attempt', attempt, 'summary', summary, 'finished_ms', now_ms, 'updated_ms', now_ms,
    'claim', '')
  redis.call('DEL', claim_key)
  if ts_id ~= '' then
    if status == 'finished' then class_history() end
    member_done(prefix, ts_id, task_id, status, now_ms)
  end
  out = 'written'
end
if entry_id ~= '' then
  pcall(redis.call, 'XACK', stream, group, entry_id)
  redis.call('XDEL', stream, entry_id)
end
return out
