-- luacheck's settings for the queue's Redis scripts (the test
-- test_judger_queue_lua in tests/CMakeLists.txt runs it in this folder).
-- Redis runs Lua 5.1 with these globals, and forbids making new ones.
std = "lua51"
read_globals = { "redis", "KEYS", "ARGV", "cjson", "cmsgpack", "bit" }
max_line_length = 100

-- lib/claim.lua goes in front of the scripts whose first line says
-- "-- prelude: lib/claim.lua": its functions are theirs, and unused in it.
local with_claim = { read_globals = { "holds", "release_claim" } }
files["lib/claim.lua"] = { ignore = { "211" } }
files["renew_claims.lua"] = with_claim
files["drained.lua"] = with_claim
files["retry.lua"] = with_claim
files["progress.lua"] = with_claim
files["dead.lua"] = with_claim
files["store.lua"] = with_claim
