-- luacheck's settings for the queue's Redis scripts (the test
-- test_judger_queue_lua in tests/CMakeLists.txt runs it in this folder).
-- Redis runs Lua 5.1 with these globals, and forbids making new ones.
std = "lua51"
read_globals = { "redis", "KEYS", "ARGV", "cjson", "cmsgpack", "bit" }
max_line_length = 100

-- lib/claim.lua and lib/taskset.lua go in front of the scripts whose first
-- line names them ("-- prelude: lib/claim.lua lib/taskset.lua"): their
-- functions are theirs, and unused in the lib.
local claim = { "holds", "release_claim" }
local taskset = { "member_done", "ts_write_cancelled" }
local both = { claim[1], claim[2], taskset[1], taskset[2] }
files["lib/claim.lua"] = { ignore = { "211" } }
files["lib/taskset.lua"] = { ignore = { "211" } }
files["renew_claims.lua"] = { read_globals = claim }
files["drained.lua"] = { read_globals = claim }
files["retry.lua"] = { read_globals = claim }
files["progress.lua"] = { read_globals = claim }
files["holds.lua"] = { read_globals = claim }
files["dead.lua"] = { read_globals = both }
files["store.lua"] = { read_globals = both }
files["begin.lua"] = { read_globals = taskset }
files["taskset_cancel.lua"] = { read_globals = taskset }
