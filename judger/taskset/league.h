/* A local league (`judger league`, docs/writing-a-bot.md): the games of a
 * round robin run on this host's engine, K at a time, each exactly as
 * `judger run` runs a match (jd_match_run with the same context, a run file
 * per match, the host's stock of networks), with a progress line for a
 * person. SIGINT, SIGTERM and SIGHUP cancel the running matches (each
 * removes what it made) and no further game starts.
 *
 * The games are made by the caller (cli/cmd_league.c: the round robin of
 * taskset/rounds.h); the standings (taskset/standings.h) are counted from
 * what this module fills in. */
#ifndef JD_LEAGUE_H
#define JD_LEAGUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/context.h"
#include "match/match_result.h"
#include "match/match_spec.h"

typedef struct jd_league_game {
  /* Given by the caller (and freed by it). */
  jd_match_spec *spec; /* players in seat order */
  char *out_dir;       /* result.json and the logs go there */
  char *name;          /* its label in the progress ("r1-g03") */
  /* Filled by jd_league_run. */
  bool ran;                           /* the match made a result */
  jd_match_status status;             /* when ran */
  bool has_scores;                    /* the game logic ended it with scores */
  double scores[JD_MATCH_MAX_AIS];    /* [spec->nplayers] when has_scores */
  char verdicts[JD_MATCH_MAX_AIS][8]; /* "OK", "RE", "CANCEL"... a seat, when ran */
  char reason[256];                   /* why not finished, or "" */
  int64_t ms;                         /* its wall time, the teardown included */
} jd_league_game;

typedef struct jd_league_opts {
  size_t parallel;  /* games at once, >= 1 */
  size_t net_stock; /* the net_stock setting: networks kept ready (0 = off) */
  FILE *progress;   /* where the progress goes (stderr), NULL = none */
  bool tty;         /* progress is a terminal: one line redrawn in place */
} jd_league_opts;

/* Prepares every program of the games once (their builds, before the
 * first game: the times of the games are then the games'), then runs them.
 * ctx holds the settings (state dir, host id, policy...); its dk and
 * net_stock are made here for the run and cleared after. *interrupted:
 * a signal stopped the league (the games not played have ran false).
 * 0 once every game ran or the league was interrupted; -1 with err when it
 * could not start (no engine client, no signal thread) or preparing the
 * programs failed for a system reason (the engine unreachable): no game
 * ran then. */
int jd_league_run(bool *interrupted, jd_ctx *ctx, jd_league_game *games, size_t ngames,
                  const jd_league_opts *o, char *err, size_t errlen);

/* "45s", "1m02s", "2h03m" (out of at least 16 bytes). */
void jd_league_duration(char *out, size_t len, int64_t ms);

/* The progress line: "[#####.....] 6/12 games  1m02s  ETA 1m01s";
 * eta_ms < 0: "ETA unknown". */
void jd_league_progress_line(char *out, size_t len, size_t done, size_t total, int64_t elapsed_ms,
                             int64_t eta_ms);

/* The remaining time: queued games and the rest of each running one's mean
 * time, shared by the parallel slots. -1 when no game has ended (mean
 * unknown). running_elapsed: the elapsed ms of each running game. */
int64_t jd_league_eta(int64_t mean_ms, size_t queued, const int64_t *running_elapsed,
                      size_t nrunning, size_t parallel);

#endif
