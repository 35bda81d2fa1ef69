/* What `judger status --taskset` and `judger submit --taskset --wait` show a
 * person: one progress line a refresh, built by a pure function so its
 * widths can be tested (docs/tasksets.md "Watching progress"). */
#ifndef JD_CLI_TASKSET_VIEW_H
#define JD_CLI_TASKSET_VIEW_H

#include <stddef.h>
#include <stdint.h>

/* The counts of one line (the view's, queue/taskset.h). done counts every
 * member that ended (finished, failed or cancelled). */
typedef struct jd_ts_progress {
  const char *id;    /* the taskset id */
  const char *state; /* running|finished|cancelled */
  int64_t total, done, running, queued, failed, cancelled;
  int64_t eta_ms;     /* remaining wall time; -1: unknown */
  int64_t elapsed_ms; /* submitted to now (to finished_ms once it ended) */
} jd_ts_progress;

#define JD_TS_PROGRESS_BAR 20 /* the bar's cells */

/* A duration for a person: "45s", "3m12s", "1h02m", "2d03h"; "unknown" when
 * ms < 0. Truncated to len. */
void jd_duration_text(char *out, size_t len, int64_t ms);

/* The line, without a newline:
 *   round-7 [#########...........]  45%  90/200 running   4 queued 100 failed   2
 *   cancelled   0 ETA 3m12s
 * The percentage takes 3 columns and every count the width of total, so a
 * refreshed line keeps its columns; a set that ended ends the line with its
 * state and elapsed time ("finished in 4m05s") instead of the ETA.
 * Truncated to len. */
void jd_ts_progress_line(char *out, size_t len, const jd_ts_progress *p);

#endif
