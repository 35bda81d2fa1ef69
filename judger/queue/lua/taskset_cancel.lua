-- prelude: lib/taskset.lua
-- Cancels a taskset: state cancelled with the reason; each member not done
-- and not running (queued, held, or delivered but not begun) has its entry
-- acked and deleted, a cancelled result ("taskset cancelled: <reason>") and
-- its status record finished/cancelled, and is counted (member_done); a
-- running member (its claim key exists) gets "cancel" in its status record:
-- renew_claims tells its run, which stores its own cancelled result.
-- Members done are left as they are. A finished taskset is not changed.
-- ARGV: prefix, id, reason, now_ms, group.
-- Returns {found (0/1), removed, signalled, already_done}.
local prefix = ARGV[1]
local ts_id = ARGV[2]
local reason = ARGV[3]
local now_ms = ARGV[4]
local group = ARGV[5]

local ts = prefix .. ':taskset:' .. ts_id
local state = redis.call('HGET', ts, 'state')
if not state then return {0, 0, 0, 0} end
local total = tonumber(redis.call('HGET', ts, 'total') or '0')
if state == 'finished' then return {1, 0, 0, total} end
-- The members not counted yet (an ended one is counted in the script that
-- ended it).
local members = redis.call('SMEMBERS', ts .. ':open')
if state == 'running' then
  redis.call('HSET', ts, 'state', 'cancelled', 'cancel_reason', reason, 'updated_ms', now_ms)
end
local why = 'taskset cancelled: ' .. (redis.call('HGET', ts, 'cancel_reason') or reason)
local removed, signalled, done, ended = 0, 0, total - #members, {}
for _, tid in ipairs(members) do
  local status_key = prefix .. ':task:' .. tid
  local st = redis.call('HGET', status_key, 'state')
  if redis.call('EXISTS', prefix .. ':result:' .. tid) == 1 or st == 'dead' then
    done = done + 1
  elseif redis.call('EXISTS', prefix .. ':claim:' .. tid) == 1 then
    redis.call('HSET', status_key, 'cancel', why, 'updated_ms', now_ms)
    signalled = signalled + 1
  else
    if redis.call('HDEL', ts .. ':held', tid) == 1 then
      redis.call('HINCRBY', ts, 'held', -1)
    else
      local entry = redis.call('HGET', status_key, 'entry')
      local stream = prefix .. ':q:' .. (redis.call('HGET', status_key, 'priority') or '')
      if entry and entry ~= '' then
        pcall(redis.call, 'XACK', stream, group, entry)
        pcall(redis.call, 'XDEL', stream, entry)
      end
    end
    ts_write_cancelled(prefix, ts_id, tid, why, now_ms)
    ended[#ended + 1] = tid
    removed = removed + 1
  end
end
-- Counted once all are written: a dependent is cancelled with the set's
-- reason above, not as the dependency's.
for _, tid in ipairs(ended) do member_done(prefix, ts_id, tid, 'cancelled', now_ms) end
redis.call('HSET', ts, 'updated_ms', now_ms)
return {1, removed, signalled, done}
