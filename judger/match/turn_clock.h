/* One player's turn clock (docs/protocol.md "Turn clocks"): the arithmetic
 * of budgets, the time bank and its increment, and the record of turns for
 * result.json. Pure: readings (ns of CPU or of wall time, whichever clock
 * the match uses) are given by the caller, so every rule is unit-tested.
 *
 * A turn opened at reading r0 with budget B, bank K: at reading r it has
 * used u = r - r0. It times out when u > B + K (a turn that ends exactly at
 * B + K does not). At its end the overrun max(0, u - B) is drawn from the
 * bank, then the increment is added.
 */
#ifndef JD_TURN_CLOCK_H
#define JD_TURN_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Turns whose time is kept for the percentiles; past it the figures are of
 * the first ones (turns, overruns, max and the bank still count them all). */
#define JD_TURN_RECORD_MAX ((size_t)1 << 16)
/* The bank never holds more (a large increment over millions of turns
 * must not overflow the sums of budgets, banks and deadlines). */
#define JD_TURN_BANK_MAX_NS ((int64_t)24 * 3600 * 1000000000)

typedef struct jd_turn_clock {
  int64_t bank_ns, increment_ns;
  bool open;          /* a turn is running */
  bool timed_out;     /* the open turn ran out (after an end: the ended one did) */
  int64_t budget_ns;  /* the open turn's */
  int64_t start;      /* reading at the open turn's start */
  int64_t ran_out_ns; /* a timed-out turn's use when it ran out */
  int64_t turns;      /* turns ended or timed out */
  int64_t overruns;   /* turns that drew from the bank (timeouts included) */
  int64_t timeouts;
  int64_t max_ns; /* the longest turn */
  int64_t *used;  /* per-turn ns, the first JD_TURN_RECORD_MAX */
  size_t nused, cap;
} jd_turn_clock;

/* A turn as it ended (or ran out). */
typedef struct jd_turn_outcome {
  int64_t turn; /* 1-based */
  int64_t used_ns, budget_ns, overrun_ns, bank_ns;
} jd_turn_outcome;

typedef struct jd_turn_stats {
  int64_t turns, overruns, timeouts;
  int64_t max_ns, median_ns, p95_ns; /* 0 without turns; nearest-rank percentiles */
  int64_t bank_ns;
} jd_turn_stats;

void jd_turn_clock_init(jd_turn_clock *c, int64_t bank_ns, int64_t increment_ns);
/* Opens a turn at reading now. Returns 0, or -1 with err when one is open. */
int jd_turn_clock_begin(jd_turn_clock *c, int64_t budget_ns, int64_t now, char *err, size_t errlen);
/* Time left before the open turn times out at reading now (<= 0: out, that
 * is u > B + K: at u = B + K exactly 1 ns is left); INT64_MAX when no turn is
 * open. A negative budget is refused by begin. */
int64_t jd_turn_clock_left(const jd_turn_clock *c, int64_t now);
/* Ends the open turn at reading now: charges it (a timed-out turn is charged
 * what it used when it ran out, its bank already 0), records it, adds the
 * increment. Returns 0 with *out, or -1 (no turn open; out of memory for
 * the record is not an error: the figures just stop growing). A turn that
 * ends past B + K without jd_turn_clock_timeout having been called (the
 * watcher had not seen it yet) is counted as a timeout there: bank 0, no
 * increment, and c->timed_out is left true for the caller to see. */
int jd_turn_clock_end(jd_turn_outcome *out, jd_turn_clock *c, int64_t now);
/* Marks the open turn timed out at reading now: the bank goes to 0, the
 * turn counts as a timeout and an overrun and is recorded with what it used
 * now (ending it later closes it without counting it again); it stays open
 * until ended (a frozen player's) or dropped. Returns 0 with *out, or -1 (none open, or
 * already timed out). */
int jd_turn_clock_timeout(jd_turn_outcome *out, jd_turn_clock *c, int64_t now);
void jd_turn_clock_stats(jd_turn_stats *out, const jd_turn_clock *c);
void jd_turn_clock_free(jd_turn_clock *c);

#endif
