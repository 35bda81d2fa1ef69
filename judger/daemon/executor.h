/* The real task executor of the daemon (daemon.h's jd_executor): prepare
 * parses a task's build request or match spec once; execute runs it,
 * builds through jd_build_run (build/build.h), matches through
 * jd_match_run (match/match.h).
 *
 * A build task's "build" object (docs/queue.md):
 *   {"domain": "ai" | "game_logic", "id": "c-bot",
 *    "dir": "/src" | "git": "URL", "ref": "main" | "tar_url": "http://...",
 *    "ops": "all" | "build" | "run",
 *    "limits": {"cpus": 1, "memory": 536870912, "pids": 256, "wall_ms": 600000,
 *               "log_max": 65536, "network": false}}
 * A match task's "match" object is a `judger run` spec (docs/match-spec.md).
 */
#ifndef JD_EXECUTOR_H
#define JD_EXECUTOR_H

#include "common/context.h"
#include "daemon/daemon.h"

/* Fills *out with the real executor working on ctx (which must outlive
 * the daemon). */
void jd_executor_real(jd_executor *out, jd_ctx *ctx);

#endif
