/* Matches: one game logic and its players run as containers on a private
 * network, talking to the judger through two named pipes.
 *
 * A match spec (JSON, docs/match-spec.md) names the game logic, the AIs in
 * AI-list order, a config handed verbatim to the game logic, and limits.
 * jd_match_run() prepares the programs, creates the match's internal network
 * and work directory (match.json, the two FIFOs, out/), starts the game
 * logic, serves the pipe protocol (docs/protocol.md) until the game logic
 * ends the match, exits or the deadline passes, then writes result.json,
 * player_<i>.log, game_logic.log and the replay into out_dir, and removes
 * every container, the network, the FIFOs and the work directory on every
 * path (success, crash, deadline, engine failure, cancellation).
 *
 * Every container/network a match creates carries the labels
 * judger.host=<ctx->host_id>, judger.match=<match id>, judger.run=<run key>
 * and judger.role=game_logic|player|network; names are
 * "judger-<host>-<run key>-<role/name>" where the run key is
 * "<match id>-<random hex>", so the same spec may run twice at once.
 */
#ifndef JD_MATCH_H
#define JD_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/context.h"


/* Caps on a spec (more is refused by the parser). */
#define JD_MATCH_MAX_AIS 16
#define JD_MATCH_ID_MAX 64

/* Limits of one role's containers (game logic or players). After parsing,
 * every field holds its effective value (defaults filled in). */
typedef struct jd_role_limits {
  double cpus;     /* CPUs (NanoCpus = cpus * 1e9) */
  int64_t memory;  /* bytes; swap is set equal (no swap) */
  int64_t pids;    /* PidsLimit */
  int64_t wall_ms; /* wall time of one container, from its start */
  size_t log_max;  /* bytes of stdout+stderr kept per container; past it: OLE */
  int64_t tmpfs;   /* size of the tmpfs at /tmp, bytes */
  char *user;      /* "uid:gid" or a name; "" = the image's user */
} jd_role_limits;

typedef struct jd_match_limits {
  jd_role_limits game_logic;
  jd_role_limits player;
  int64_t deadline_ms;  /* the whole match, from the game logic's start */
  int64_t end_grace_ms; /* after "end", time left to the game logic to exit */
  int max_instances;    /* player starts per match */
  int max_concurrent;   /* players alive at once */
  int starts_per_sec;   /* start rate cap (token bucket, burst = this) */
  size_t line_max;      /* bytes of one pipe line */
  int64_t out_max;      /* bytes of game-logic output copied to out_dir */
} jd_match_limits;

/* One program of a match: the same keys as jd_program_ref (judger/program.h)
 * plus `image`/`cmd`: an existing run image used as is (no build; `dir`, if
 * any, is bound at /app read-only). Strings are owned by the spec. */
typedef struct jd_match_program {
  char *id;
  char *dir; /* absolute after parsing (relative = to the spec's dir) */
  char *git_url;
  char *git_ref;
  char *tar_url;
  char *image; /* prebuilt run image, or NULL */
  char **cmd;  /* NULL-terminated command override, or NULL = image's CMD */
} jd_match_program;

typedef struct jd_match_spec {
  char *id; /* safe name, at most JD_MATCH_ID_MAX */
  jd_match_program game_logic;
  jd_match_program *players; /* AI-list order: index i = AI i */
  size_t nplayers;
  char *config_json; /* spec.config verbatim (JSON text; "null" if absent) */
  jd_match_limits limits;
} jd_match_spec;

/* Parses and validates a spec. base_dir (may be NULL = cwd) resolves relative
 * `dir`s. On failure returns -1 and writes into err a one-line reason naming
 * the field ("players[1].dir: no run.Dockerfile in ..."); nothing is created.
 * The caller frees *out with jd_match_spec_free(). */
int jd_match_spec_parse(jd_match_spec **out, const char *json, const char *base_dir, char *err,
                        size_t errlen);
void jd_match_spec_free(jd_match_spec *s);
/* Fills l with the documented defaults (docs/match-spec.md). */
void jd_match_limits_default(jd_match_limits *l);

/* Hooks of a running match; every field may be NULL. */
typedef struct jd_match_hooks {
  /* Called from the thread running jd_match_run with one JSON object per
   * call: {"event":"player.started",...} (see docs/match-spec.md). */
  void (*progress)(void *ud, const char *json_event);
  void *ud;
  /* Fired from any thread: the match stops promptly, everything is removed
   * and the status is "cancelled". */
  dk_cancel *cancel;
} jd_match_hooks;

/* One container a match ran: the game logic or one player instance. */
typedef struct jd_instance_result {
  char *name;        /* player name chosen by the game logic; "game_logic" */
  int ai;            /* AI index; -1 for the game logic */
  char *verdict;     /* OK, RE, TLE, MLE, OLE, UE */
  int64_t exit_code; /* -1 if it never ran */
  bool oom_killed;
  bool log_truncated;
  bool killed;        /* the judger killed it (stop, deadline, end, log cap) */
  int64_t started_ms; /* unix ms; 0 if never started */
  int64_t ended_ms;
  char *message; /* why UE/killed, or NULL */
} jd_instance_result;

/* One AI of the match (AI-list order). */
typedef struct jd_player_result {
  int ai;
  char *id;           /* program id */
  char *verdict;      /* first non-OK instance's verdict; CANCEL if its build
                         failed; OK otherwise (also with 0 instances) */
  double score;       /* 0 when the match did not end with scores */
  char *message;      /* from the end command's messages, or NULL */
  int64_t exit_code;  /* exit code of the instance that set the verdict (or
                         the last one); -1 without instances */
  bool oom_killed;    /* any instance */
  bool log_truncated; /* any instance */
  int instances;
  char *log;           /* "player_<i>.log" (relative to out_dir) */
  char *build_message; /* why CANCEL, or NULL */
} jd_player_result;

typedef struct jd_match_result {
  char *match_id;
  char *run_key;      /* "<match id>-<random>" */
  char *status;       /* "finished" | "failed" | "error" | "cancelled" */
  char *reason;       /* one line when status != finished, else NULL */
  bool has_scores;    /* the game logic ended the match with scores */
  int64_t started_ms; /* unix ms */
  int64_t ended_ms;
  jd_player_result *players;
  size_t nplayers;
  jd_instance_result game_logic;
  char *game_logic_log;          /* "game_logic.log" */
  jd_instance_result *instances; /* every player instance, in start order */
  size_t ninstances;
  char **files; /* game-logic outputs copied to out_dir (relative) */
  size_t nfiles;
  char *out_dir;
  int refused_commands; /* pipe lines refused (each got a "refused" event) */
} jd_match_result;

/* Runs a match. out_dir (created if missing) receives result.json and the
 * logs and outputs. Returns 0 with *out filled whatever happened to the match
 * (its status says; a system fault is status "error"); returns a negative dk
 * error code only when no result can be made at all (bad arguments, out of
 * memory). The caller frees *out with jd_match_result_free(). hooks may be
 * NULL. */
int jd_match_run(jd_match_result **out, jd_ctx *ctx, const jd_match_spec *spec, const char *out_dir,
                 const jd_match_hooks *hooks);

/* result.json text for a result (schema in docs/match-spec.md); the caller
 * frees it; NULL on out of memory. */
char *jd_match_result_json(const jd_match_result *r);
void jd_match_result_free(jd_match_result *r);
/* Exit code of `judger run` for a result: 0 finished, 1 failed (program's
 * fault), 3 error or cancelled. */
int jd_match_exit_code(const jd_match_result *r);

#endif
