-- The claim's two functions, put in front of every script whose first line
-- is "-- prelude: lib/claim.lua" (the build joins them; see .luacheckrc).

-- Whether token is the task's claim: the claim key holds it, or the key ran
-- out but nobody took the task since (the status record's "claim" is still
-- this token, or the record is gone with Redis' data). The fencing check of
-- every write a run makes; a token '' (JD_CLAIM_NONE) holds nothing.
local function holds(claim_key, status_key, token)
  if token == '' then return false end
  local current = redis.call('GET', claim_key)
  if current then return current == token end
  local last = redis.call('HGET', status_key, 'claim')
  return (not last) or last == token
end

-- Gives the claim up (the next run may start at once); the status record's
-- "claim" is cleared too, so the old token holds nothing.
local function release_claim(claim_key, status_key)
  redis.call('DEL', claim_key)
  redis.call('HSET', status_key, 'claim', '')
end
