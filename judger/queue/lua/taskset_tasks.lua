-- The first members of a taskset with their states: for each of the first
-- count members, {task id, state, status, host, class} from its status
-- record ('' where unset). ARGV: prefix, id, count.
local prefix = ARGV[1]
local ts_id = ARGV[2]
local count = tonumber(ARGV[3])

local out = {}
local ts = prefix .. ':taskset:' .. ts_id
for _, tid in ipairs(redis.call('LRANGE', ts .. ':tasks', 0, count - 1)) do
  local status_key = prefix .. ':task:' .. tid
  out[#out + 1] = tid
  for _, field in ipairs({'state', 'status', 'host', 'class'}) do
    out[#out + 1] = redis.call('HGET', status_key, field) or ''
  end
end
return out
