/* A match's clock (docs/protocol.md "Turn clocks", "Accounting"): one
 * thread that owns every meter of the match's containers (cgroup_meter.h).
 * It opens a container's meter once it runs, samples what it used, runs the
 * turn clocks the game logic asks for (turn_clock.h), watches an open turn
 * so a timeout is told the moment budget and bank are spent, and freezes
 * and thaws players.
 *
 * Threads: the loop thread asks (attach, turn, turn_end, detach) and never
 * waits on a meter: a request is queued and the clock thread does the I/O
 * (a cgroup read is µs, an API call ms; neither may stall the pipe). The
 * clock thread posts event lines back (jd_clock_take_events) through the
 * match's wake fd. A unit thread calls jd_clock_release before it kills its
 * container: the last figures are read and a frozen container thawed.
 */
#ifndef JD_MATCH_CLOCK_H
#define JD_MATCH_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "match/cgroup_meter.h"
#include "match/match_internal.h"
#include "match/turn_clock.h"

/* What a unit used, for result.json (valid once the clock is stopped). */
typedef struct jd_unit_usage {
  bool known;              /* its meter was read at least once */
  bool final;              /* read just before the judger's kill, else the last sample */
  jd_meter_backend source; /* where it was read */
  jd_usage usage;
  int64_t freeze_failures; /* freezes the kernel or the engine did not do */
  bool clocked;            /* it was given at least one turn */
  const char *clock;       /* what its turns were charged on: "cpu", "wall", or "mixed"
                              (a meter lost on the way: the events say which) */
  jd_turn_stats turns;
} jd_unit_usage;

/* Starts the match's clock thread. Returns 0, or -1 with the match's
 * status set. */
int jd_clock_start(jd_match *m);
/* Stops and joins it (every unit is done); NULL-safe on a match without. */
void jd_clock_stop(jd_match *m);
/* Frees the clock and every unit's clock (after the units are joined). */
void jd_clock_free(jd_match *m);

/* Loop thread. u's container runs: its meter opens. */
void jd_clock_attach(jd_match *m, jd_unit *u);
/* u exited (its EXITED note): its meter closes. */
void jd_clock_detach(jd_match *m, jd_unit *u);
/* A turn of u with budget_ms (-1: the spec's turn_ms). Returns 0, or -1
 * with the reason for a "refused" event in err. */
int jd_clock_turn(jd_match *m, jd_unit *u, int64_t budget_ms, char *err, size_t errlen);
/* Ends u's open turn. Returns 0, or -1 with the reason in err. */
int jd_clock_turn_end(jd_match *m, jd_unit *u, char *err, size_t errlen);
/* Whether u's open turn ran out (a "stop" of it is then a TLE). */
bool jd_clock_timed_out(jd_match *m, const jd_unit *u);
/* Event lines the clock thread posted since the last call, in order, as
 * one malloc'd text; NULL when none. */
char *jd_clock_take_events(jd_match *m);

/* Unit thread, before it kills its container: reads its last figures and
 * thaws it when the clock froze it. Blocks while the clock thread is
 * reading that container; a no-op for a unit without a meter. */
void jd_clock_release(jd_match *m, jd_unit *u);

/* Collection: u's figures (zero when it never ran). */
void jd_clock_usage(jd_unit_usage *out, const jd_unit *u);

#endif
