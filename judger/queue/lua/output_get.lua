-- Reads a published output (queue/outputs.h), bounded on Redis's side: the
-- data is sent only when it is at most ARGV[1] bytes.
-- KEYS[1] <prefix>:output:<task>:<file>; ARGV[1] the most bytes wanted.
-- Returns false when there is none; {sha256, bytes, data} when it fits;
-- {sha256, bytes, false, length} when its data is longer (or missing).
local key = KEYS[1]
local max = tonumber(ARGV[1])

if redis.call('EXISTS', key) == 0 then
  return false
end
local sha = redis.call('HGET', key, 'sha256') or ''
local bytes = redis.call('HGET', key, 'bytes') or ''
local data = redis.call('HGET', key, 'data')
if not data or #data > max then
  return { sha, bytes, false, data and #data or -1 }
end
return { sha, bytes, data }
