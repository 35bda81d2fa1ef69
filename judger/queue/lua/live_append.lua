-- Appends a batch of entries {"e": <event JSON>} to a match's live stream
-- (docs/queue.md "Live streams") in one round trip: the stream is deleted
-- first when a new attempt begins (reset), every XADD trims it to about
-- maxlen entries and the last one to exactly maxlen, and the stream's time
-- to live is set every time, so a stream whose writer died still expires.
-- The entries come as one text (ARGV[5]) and their lengths (ARGV[4], "12,7,...").
-- Fenced like every write of a run (docs/queue.md "One run per task"), but
-- only against another run: with a token, nothing is written while the
-- task's claim is held by another token (a late write of an older attempt
-- after the next one began); a released claim (the result is out) is fine.
-- Returns the number of entries added, or -1 when refused.
local key = KEYS[1]
local claim_key = KEYS[2]
local reset = ARGV[1]
local maxlen = ARGV[2]
local ttl_ms = ARGV[3]
local lens = ARGV[4]
local blob = ARGV[5]
local token = ARGV[6]

if token ~= '' then
  local holder = redis.call('GET', claim_key)
  if holder and holder ~= token then
    return -1
  end
end
if reset == '1' then
  redis.call('DEL', key)
end
local sizes = {}
for len in string.gmatch(lens, '%d+') do
  sizes[#sizes + 1] = tonumber(len)
end
local pos = 1
for i, len in ipairs(sizes) do
  local mode = '~'
  if i == #sizes then
    mode = '='
  end
  redis.call('XADD', key, 'MAXLEN', mode, maxlen, '*', 'e', string.sub(blob, pos, pos + len - 1))
  pos = pos + len
end
if #sizes > 0 or redis.call('EXISTS', key) == 1 then
  redis.call('PEXPIRE', key, ttl_ms)
end
return #sizes
