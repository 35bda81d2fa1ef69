/* Match spec: what a match runs (docs/match-spec.md). The game logic, the
 * AIs in AI-list order, a config handed verbatim to the game logic, and the
 * limits of both roles. Parsing validates everything before anything is
 * created; the parsed spec is read-only afterwards and may be shared by
 * several runs.
 */
#ifndef JD_MATCH_SPEC_H
#define JD_MATCH_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* Which clock a turn is charged on (limits.clock, docs/protocol.md "Turn
 * clocks"): the player's own CPU time from its cgroup, or wall time. */
#define JD_CLOCK_MAP(XX)                                                                           \
  XX(JD_CLOCK_CPU, "cpu")                                                                          \
  XX(JD_CLOCK_WALL, "wall")

typedef enum {
#define JD_CLOCK_ENUM(code, name) code,
  JD_CLOCK_MAP(JD_CLOCK_ENUM)
#undef JD_CLOCK_ENUM
      JD_CLOCK_COUNT
} jd_clock_kind;

const char *jd_clock_name(jd_clock_kind k);

/* What a turn that spends its budget and the bank comes to (limits.on_timeout):
 * the player is killed at once (TLE), or frozen until the game logic decides. */
#define JD_ON_TIMEOUT_MAP(XX)                                                                      \
  XX(JD_ON_TIMEOUT_TLE, "tle")                                                                     \
  XX(JD_ON_TIMEOUT_FREEZE, "freeze")

typedef enum {
#define JD_ON_TIMEOUT_ENUM(code, name) code,
  JD_ON_TIMEOUT_MAP(JD_ON_TIMEOUT_ENUM)
#undef JD_ON_TIMEOUT_ENUM
      JD_ON_TIMEOUT_COUNT
} jd_on_timeout;

const char *jd_on_timeout_name(jd_on_timeout t);

/* Turn clocks (docs/protocol.md "Turn clocks"; every field effective after
 * parsing). Times in ms. */
typedef struct jd_turn_limits {
  jd_clock_kind clock;       /* limits.clock, default cpu */
  int64_t turn_ms;           /* limits.turn_ms: budget of a turn command naming none (1000) */
  int64_t time_bank_ms;      /* limits.time_bank_ms: each player's bank at its start (0) */
  int64_t bank_increment_ms; /* limits.bank_increment_ms: added at every turn's end (0) */
  jd_on_timeout on_timeout;  /* limits.on_timeout, default tle */
  bool freeze_idle;          /* limits.freeze_idle: frozen outside its turns (false) */
  bool exclusive;            /* limits.exclusive_turns: one open turn per match (false) */
  /* limits.turn_wall_factor: a CPU-clocked turn also times out when its wall
   * time passes this many times budget + bank (a player blocked without
   * spending CPU), plus 100 ms; default 5. */
  int turn_wall_factor;
} jd_turn_limits;

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
  bool warm;            /* warm player starts (match/warm.h); default true */
  jd_turn_limits turns; /* turn clocks */
  /* limits.cpuset "auto": the game logic and each AI get cores of their own
   * from the host's pool (match/cpu_pool.h); "none" (default): no cpuset. */
  bool cpuset_auto;
  /* Live watching (docs/match-spec.md): bytes of one frame's compact data
   * (a larger frame is dropped), frames per second (token bucket, burst =
   * this; past it frames are dropped), bytes of live.jsonl (0 = no file). */
  int64_t frame_max_bytes;
  int frames_per_sec;
  int64_t live_max_bytes;
} jd_match_limits;

/* One program of a match: the same keys as jd_program_ref (build/program.h)
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

/* Who may reach whom in a match (docs/match-spec.md "isolation"). */
#define JD_ISOLATION_MAP(XX)                                                                       \
  XX(JD_ISOLATION_PLAYER, "player") /* each player on its own network with the game */             \
  XX(JD_ISOLATION_MATCH, "match")   /* one network for all: players reach each other */

typedef enum {
#define JD_ISOLATION_ENUM(code, name) code,
  JD_ISOLATION_MAP(JD_ISOLATION_ENUM)
#undef JD_ISOLATION_ENUM
      JD_ISOLATION_COUNT
} jd_isolation;

const char *jd_isolation_name(jd_isolation i);

/* Files handed to the game logic read-only at /inputs/<name> (spec
 * "inputs", docs/match-spec.md "Inputs"): a URL's bytes checked against
 * their sha256, or a finished task's published output (resolved by the
 * daemon before the run: it fills sha256). Both come from the host's input
 * cache (match/input_cache.h). */
#define JD_MATCH_MAX_INPUTS 16
#define JD_INPUT_NAME_MAX 128

typedef struct jd_match_input {
  char *name;        /* [A-Za-z0-9._-], no leading dot, at most JD_INPUT_NAME_MAX */
  char *url;         /* {"url","sha256"}: fetched into the cache; NULL for a task's */
  char *task;        /* {"task","file"}: a task's published output; NULL for a URL's */
  char *file;        /* the output's path in that task */
  char sha256[65];   /* lower-case hex; "" for a task's until the daemon resolves it */
  int64_t max_bytes; /* "max_bytes"; 0 = the host's input_max_bytes */
  /* Set by the daemon when a task's output cannot be had, the task's
   * fault ("inputs[0]: task X has no published output Y"): the match
   * fails with it before anything is built. NULL otherwise. */
  char *unresolved;
} jd_match_input;

typedef struct jd_match_spec {
  char *id;               /* safe name, at most JD_MATCH_ID_MAX */
  jd_isolation isolation; /* default JD_ISOLATION_PLAYER */
  jd_match_program game_logic;
  jd_match_program *players; /* AI-list order: index i = AI i */
  size_t nplayers;
  char *config_json; /* spec.config verbatim (JSON text; "null" if absent) */
  jd_match_limits limits;
  /* [nplayers]: the limits of AI i's instances, limits.players with
   * players[i].limits over it (each user string owned). */
  jd_role_limits *player_limits;
  jd_match_input *inputs; /* [ninputs], spec order */
  size_t ninputs;
} jd_match_spec;

/* Parses and validates a spec. base_dir (may be NULL = cwd) resolves relative
 * `dir`s. On failure returns -1 and writes into err a one-line reason naming
 * the field ("players[1].dir: no run.Dockerfile in ..."); nothing is created.
 * The caller frees *out with jd_match_spec_free(). */
int jd_match_spec_parse(jd_match_spec **out, const char *json, const char *base_dir, char *err,
                        size_t errlen);
/* The same from an object already parsed (a queue task's "match" object):
 * the daemon parses a task once and hands the object on. root is only
 * read; its strings are copied. */
struct json_object;
int jd_match_spec_from_object(jd_match_spec **out, struct json_object *root, const char *base_dir,
                              char *err, size_t errlen);
void jd_match_spec_free(jd_match_spec *s);
/* The limits of AI ai's instances (s->player_limits[ai]). */
const jd_role_limits *jd_match_player_limits(const jd_match_spec *s, int ai);
/* Fills l with the documented defaults (docs/match-spec.md). */
void jd_match_limits_default(jd_match_limits *l);

/* The text of /judger/match.json: {"match_id", "config", "players":
 * [{"ai":i,"id":...,"token":...}], "player_tokens_doc"}. tokens[i] is AI i's
 * token. The caller frees; NULL on out of memory. */
char *jd_match_game_json(const jd_match_spec *s, const char *const *tokens);

#endif
