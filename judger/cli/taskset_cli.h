/* The parts `judger taskset`, `judger submit --taskset` and `judger status
 * --taskset` share (docs/tasksets.md): loading a game template and its
 * players, and watching a taskset until it ends. Private to cli/. */
#ifndef JD_CLI_TASKSET_CLI_H
#define JD_CLI_TASKSET_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli/taskset_view.h"
#include "daemon/config.h"
#include "queue/queue.h"
#include "queue/taskset.h"

struct json_object;
struct jd_taskset;

/* Files a command reads: a game template, a program, a taskset. */
#define JD_CLI_SPEC_MAX_BYTES ((size_t)1 << 20)
#define JD_CLI_TASKSET_MAX_BYTES ((size_t)64 << 20)
/* Players one command line may name. */
#define JD_CLI_PLAYERS_MAX 1024

/* GAME.json: a match spec without "players" (game_logic, limits, config...).
 * A relative "dir" of its game_logic is made absolute against the file's
 * directory (the daemon that runs it does not know where the file was).
 * 0 and *out (json_object_put), or -1 with err naming the file. */
int jd_cli_game_load(struct json_object **out, const char *path, char *err, size_t errlen);

/* Each path a program JSON file ({"id", "dir"|"git"|"tar_url"...}, a
 * relative "dir" made absolute against the file's directory) or a
 * directory ({"id": its name made a program id, "dir": its real path}).
 * Ids must be unique: a directory's is made so with "-2", "-3"...; two
 * files giving the same id are refused. 0 and *out (n entries, freed with
 * jd_cli_players_free), or -1 with err naming the path. */
int jd_cli_players_load(struct json_object ***out, char *const *paths, size_t n, char *err,
                        size_t errlen);
void jd_cli_players_free(struct json_object **players, size_t n);

/* A file's bytes (at most max), or standard input for "-". -1 with errno. */
int jd_cli_read_input(char **out, const char *path, size_t max);

/* The progress line's counts from a view. */
void jd_ts_progress_from_view(jd_ts_progress *p, const jd_taskset_view *v);

/* Reads the taskset's view every 500 ms until it is no longer running or
 * the clock passes deadline_ms (unix ms; 0: no deadline). Each new progress
 * line goes to f (NULL: none): rewritten in place on a terminal, one line
 * each otherwise; a final newline when it ends. 0 with *v the last view and
 * *ended; -1 on a Redis failure (the queue's error) or when the taskset is
 * not there (*found false). */
int jd_taskset_watch(jd_taskset_view *v, bool *found, bool *ended, jd_queue *q, const char *id,
                     int64_t deadline_ms, FILE *f);

/* The options of `judger taskset round-robin` and `swiss`. */
#define JD_TS_SEEDS_MAX 1024
typedef struct jd_ts_gen_args {
  const char *game; /* --game GAME.json */
  char **players;   /* --players A B ... (argv's) */
  size_t nplayers;
  const char *id;                 /* --id: the taskset's (swiss: the rounds' prefix) */
  const char *prio_name;          /* --priority (default match) */
  const char *seed_key;           /* --seed-key (default "seed"; "": no seed in config) */
  long long seats, rounds;        /* --seats (2), --rounds (1; swiss: required) */
  long long max_games;            /* --max-games */
  int64_t seeds[JD_TS_SEEDS_MAX]; /* --seeds 1,2,3 */
  size_t nseeds;
  int64_t seed; /* swiss --seed: the pairing's ties and round k's game seed (seed + k) */
  bool swap;    /* not --no-swap */
  bool submit, json;
  double wait_s;          /* round-robin --submit --wait S (< 0: none) */
  double round_timeout_s; /* swiss --round-timeout S */
} jd_ts_gen_args;

/* judger taskset swiss (cli/taskset_swiss.c): the exit code. */
int jd_cli_swiss(const jd_config *cfg, const jd_ts_gen_args *a);

/* Parses a taskset's text (all or nothing) and submits it; prio_name
 * (NULL: the file's) overrides its priority. The exit code: 0 (*out, when
 * not NULL, the parsed set: jd_taskset_free), 2 refused (invalid, naming
 * the member; the id exists; Redis refused the script, e.g. a member's
 * task id in use), 3 Redis unreachable or the submission unconfirmed by
 * the replicas (jd_cli_confirm); the reason on stderr after "judger <cmd>: ". */
int jd_cli_taskset_submit(struct jd_taskset **out, jd_queue *q, const char *cmd, const char *json,
                          const char *prio_name);

/* The queue options of cfg for a command: its Redis, prefix and group, and
 * the replicas its submissions wait for. */
jd_queue_opts jd_cli_queue_opts(const jd_config *cfg);

/* After a submission's writes on q: whether the replicas the queue
 * requires have them (jd_queue_confirm). 0, or 3 with "judger <cmd>:
 * <what>, but no replica confirmed it within replica_wait_ms: submit again
 * (<again>)" on stderr: the writes are on the primary, but a failover now
 * could lose them. */
int jd_cli_confirm(jd_queue *q, const char *cmd, const char *what, const char *again);

/* What ends a wait: the stored standings JSON (for a finished set waited
 * for until 5 s after the end or deadline_ms), else when the set finished and wants standings
 * the ones computed here from its results, else the view
 * (jd_queue_taskset_json), on stdout. The exit code. */
int jd_cli_taskset_final(jd_queue *q, const char *cmd, const jd_taskset_view *v,
                         int64_t deadline_ms);

#endif
