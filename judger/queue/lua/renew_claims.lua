-- prelude: lib/claim.lua
-- Renews the claims of this host's runs. A claim whose key ran out while
-- nobody took the task is set again: a host cut off for a moment keeps its
-- run.
-- KEYS[2i - 1], KEYS[2i]: claim key and status key of run i;
-- ARGV[1 + i]: its token. Returns one flag per run: 1 held, 2 held but its
-- cancel was asked (the status record's "cancel", set by taskset_cancel),
-- 0 lost.
local lease_ms = ARGV[1]

local out = {}
for i = 1, #KEYS / 2 do
  local claim_key, status_key, token = KEYS[2 * i - 1], KEYS[2 * i], ARGV[i + 1]
  if holds(claim_key, status_key, token) then
    redis.call('SET', claim_key, token, 'PX', lease_ms)
    out[i] = 1
    if (redis.call('HGET', status_key, 'cancel') or '') ~= '' then out[i] = 2 end
  else
    out[i] = 0
  end
end
return out
