-- prelude: lib/claim.lua
-- Stores a result once per task id (SET NX), appends to the results stream,
-- sets the status "finished", releases the claim and acks + deletes the
-- entry; only while the run's claim is held (or a result is there already).
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

if redis.call('EXISTS', result_key) == 0 and not holds(claim_key, status_key, token) then
  return 'refused'
end
local out = 'already there'
if redis.call('SET', result_key, result, 'NX') then
  redis.call('XADD', results_stream, 'MAXLEN', '~', maxlen, '*', 'task_id', task_id,
    'attempt', attempt, 'host', host, 'status', status, 'summary', summary)
  redis.call('HSET', status_key, 'state', 'finished', 'status', status, 'host', host,
    'attempt', attempt, 'summary', summary, 'finished_ms', now_ms, 'updated_ms', now_ms,
    'claim', '')
  redis.call('DEL', claim_key)
  out = 'written'
end
if entry_id ~= '' then
  pcall(redis.call, 'XACK', stream, group, entry_id)
  redis.call('XDEL', stream, entry_id)
end
return out
