/* Match results: what a match came to, for every AI and every container it
 * ran, and how it is written (result.json, docs/match-spec.md) and shown
 * (the summary table of `judger run`).
 */
#ifndef JD_MATCH_RESULT_H
#define JD_MATCH_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "common/error.h"
#include "common/verdict.h"
#include "match/match_spec.h"
#include "match/turn_clock.h"

/* How a match ended: one list gives the enum, the name written in
 * result.json and events, and the exit code of `judger run`.
 *   finished   the game logic ended the match (with scores)
 *   failed     the game logic's fault: it crashed, overran or did not build
 *   error      a system fault (engine, disk, judger)
 *   cancelled  stopped from outside (signal, daemon shutdown) */
#define JD_MATCH_STATUS_MAP(XX)                                                                    \
  XX(FINISHED, "finished", JD_EXIT_OK)                                                             \
  XX(FAILED, "failed", JD_EXIT_PROGRAM)                                                            \
  XX(ERROR, "error", JD_EXIT_SYSTEM)                                                               \
  XX(CANCELLED, "cancelled", JD_EXIT_SYSTEM)

typedef enum jd_match_status {
#define JD_MATCH_STATUS_ENUM(code, name, exit) JD_MATCH_STATUS_##code,
  JD_MATCH_STATUS_MAP(JD_MATCH_STATUS_ENUM)
#undef JD_MATCH_STATUS_ENUM
      JD_MATCH_STATUS_COUNT
} jd_match_status;

/* "finished", ...; "error" for a value outside the enum. Static storage. */
const char *jd_match_status_name(jd_match_status s);

/* One container a match ran: the game logic or one player instance. */
typedef struct jd_instance_result {
  char *name;         /* player name chosen by the game logic; "game_logic" */
  int ai;             /* AI index; -1 for the game logic */
  jd_verdict verdict; /* OK, RE, TLE, MLE, OLE, UE (CANCEL: game logic not built) */
  int64_t exit_code;  /* -1 if it never ran */
  bool oom_killed;
  bool log_truncated;
  bool killed;        /* the judger killed it (stop, deadline, end, log cap) */
  int64_t started_ms; /* unix ms; 0 if never started */
  int64_t ended_ms;
  char *message; /* why UE/killed, or NULL */
  /* What it used ("usage", docs/match-spec.md "Accounting"): known false
   * when it was never metered; a figure of -1 is one its backend cannot
   * give; final false: the last sample before it exited by itself. */
  bool usage_known, usage_final;
  const char *usage_source; /* "cgroup-v1", "cgroup-v2", "api" (static) */
  int64_t cpu_ns, memory_peak, throttled_ns, throttled_periods;
  int64_t freeze_failures; /* freezes asked for that did not happen */
  /* Its turn clock ("turns"), when it was given turns. */
  bool clocked;
  const char *clock; /* "cpu", "wall" or "mixed" (static) */
  jd_turn_stats turns;
  char *cpuset; /* its cores (limits.cpuset "auto"), or NULL */
  bool cpuset_shared;
} jd_instance_result;

/* One AI of the match (AI-list order). */
typedef struct jd_player_result {
  int ai;
  char *id;           /* program id */
  jd_verdict verdict; /* first non-OK instance's verdict; CANCEL if its build
                         failed; OK otherwise (also with 0 instances), UE with
                         0 instances in an errored or cancelled match */
  double score;       /* 0 when the match did not end with scores */
  char *message;      /* from the end command's messages, or NULL */
  int64_t exit_code;  /* exit code of the instance that set the verdict (or
                         the last one); -1 without instances */
  bool oom_killed;    /* any instance */
  bool log_truncated; /* any instance */
  int instances;
  char *log;             /* "player_<i>.log" (relative to out_dir) */
  char *build_message;   /* why CANCEL, or NULL */
  char *build_log;       /* "build_<i>.log" (relative to out_dir) when its build
                            failed: the build's output, capped, control
                            characters escaped; NULL otherwise */
  jd_role_limits limits; /* what its instances ran under (user owned; NULL
                            when not filled: no "limits" in result.json) */
} jd_player_result;

/* Where the match's time went, in ms (-1: the phase was not reached):
 * prepare (images, artifacts, limits), container start (prepared to the
 * game logic's container running), run (the game logic running to the end
 * of the loop), teardown (the loop's end to everything removed). */
typedef struct jd_match_timing {
  int64_t prepare_ms, start_ms, run_ms, teardown_ms;
} jd_match_timing;

/* The game logic's frames (result.json "live"): passed on, dropped for
 * their size (limits.frame_max_bytes), their rate (limits.frames_per_sec),
 * or not written to live.jsonl past limits.live_max_bytes (or a write
 * error; such frames still reach the hooks). */
typedef struct jd_live_counts {
  int64_t frames, dropped_size, dropped_rate, dropped_file;
} jd_live_counts;

typedef struct jd_match_result {
  char *match_id;
  char *run_key; /* "<match id>-<random>" */
  jd_match_status status;
  char *reason;       /* one line when status != finished, else NULL */
  bool has_scores;    /* the game logic ended the match with scores */
  int64_t started_ms; /* unix ms */
  int64_t ended_ms;
  jd_player_result *players;
  size_t nplayers;
  jd_instance_result game_logic;
  char *game_logic_log;          /* "game_logic.log" */
  char *game_logic_build_log;    /* "build_game_logic.log" when its build
                                    failed, else NULL */
  jd_instance_result *instances; /* every player instance, in start order */
  size_t ninstances;
  char **files; /* game-logic outputs copied to out_dir (relative) */
  size_t nfiles;
  char *out_dir;
  int refused_commands; /* pipe lines refused (each got a "refused" event) */
  jd_match_timing timing;
  jd_live_counts live;
} jd_match_result;

/* Bytes of output names result.json lists in "files": the outputs (up to
 * 10 000 files of 64 levels, ~16 KB of name each) could otherwise make a
 * result of 160 MB, stored in Redis and the spool. Past it the list stops,
 * "outputs_truncated" is true, and "outputs_count" still counts them all
 * (the files themselves are in out_dir either way). */
#define JD_RESULT_FILES_BYTES ((size_t)1 << 20)

/* The result.json document (schema in docs/match-spec.md) as a JSON object,
 * for a caller that adds to it; the caller owns it (json_object_put); NULL
 * on out of memory. */
json_object *jd_match_result_object(const jd_match_result *r);
/* The one rendering of a result object as text, for result.json and for
 * the result the daemon stores (worker.c) alike: '/' stays '/' (json-c
 * would write "a\/b"), so a string reads the same in both. pretty: indented
 * (a file people read), else one line (Redis, the spool). The caller frees
 * it; NULL on out of memory. */
char *jd_result_text(json_object *o, bool pretty);
/* result.json text: jd_match_result_object() through jd_result_text(),
 * pretty. The caller frees it; NULL on out of memory. */
char *jd_match_result_json(const jd_match_result *r);
/* Writes result.json (the text above and a newline) into dir atomically.
 * Returns 0, or -1 with errno. */
int jd_match_result_write(const jd_match_result *r, const char *dir);
/* A table for humans (one row per AI, then the instances), malloc'd. */
char *jd_match_result_summary(const jd_match_result *r);
void jd_match_result_free(jd_match_result *r);
/* Exit code of `judger run` for a result: 0 finished, 1 failed (program's
 * fault), 3 error or cancelled (and for NULL). */
int jd_match_exit_code(const jd_match_result *r);

#endif
