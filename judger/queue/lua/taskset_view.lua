-- What a taskset's view needs, read at once: its record, the states of
-- its members not counted yet (:open; queued / running / held from their
-- status records),
-- for each member not done its class's mean duration and, when running,
-- the time since its start (the ETA's inputs), and the live slots of the
-- fleet (the sum of "slots" in the heartbeats that exist).
-- ARGV: prefix, id, now_ms.
-- Returns {} when no such taskset, else {record (HGETALL), {queued,
-- running, held}, {mean_ms, elapsed_ms (-1: not running)} per member not
-- done (mean -1: no history), slots}.
local prefix = ARGV[1]
local ts_id = ARGV[2]
local now_ms = tonumber(ARGV[3])

local ts = prefix .. ':taskset:' .. ts_id
local record = redis.call('HGETALL', ts)
if #record == 0 then return {} end
local counts = {0, 0, 0}
local eta = {}
local means = {}
for _, tid in ipairs(redis.call('SMEMBERS', ts .. ':open')) do
  local status_key = prefix .. ':task:' .. tid
  local st = redis.call('HGET', status_key, 'state')
  if st ~= 'finished' and st ~= 'dead' then
    local elapsed = -1
    if st == 'queued' then counts[1] = counts[1] + 1
    elseif st == 'running' then
      counts[2] = counts[2] + 1
      local started = tonumber(redis.call('HGET', status_key, 'started_ms') or '')
      if started then elapsed = math.max(0, now_ms - started) end
    elseif st == 'held' then counts[3] = counts[3] + 1 end
    local klass = redis.call('HGET', status_key, 'class') or ''
    if means[klass] == nil then
      means[klass] = tonumber(redis.call('HGET', prefix .. ':class:' .. klass, 'mean_ms') or '')
        or -1
    end
    eta[#eta + 1] = means[klass]
    eta[#eta + 1] = elapsed
  end
end
local slots = 0
for _, host in ipairs(redis.call('SMEMBERS', prefix .. ':hosts')) do
  local info = redis.call('GET', prefix .. ':host:' .. host)
  if info then
    local ok, hb = pcall(cjson.decode, info)
    if ok and type(hb) == 'table' and type(hb.slots) == 'number' and hb.slots > 0 then
      slots = slots + math.floor(hb.slots)
    end
  end
end
return {record, counts, eta, slots}
