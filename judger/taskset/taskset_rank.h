/* A taskset's standings from its members' stored results (docs/tasksets.md
 * "Standings and ratings"): computed by the daemon that stores a set's last
 * result (and by any daemon's keeper for a set whose finisher died before),
 * and by `judger taskset standings`. Computing them twice is harmless: the
 * same results give the same standings. */
#ifndef JD_TASKSET_RANK_H
#define JD_TASKSET_RANK_H

#include <stddef.h>

#include "queue/queue.h"
#include "taskset/standings.h"

/* Reads every member's result into a new standings, rated. A member result
 * that is not a result.json (malformed) is skipped and counted in *skipped
 * (may be NULL). The caller frees *out with jd_standings_free(). */
int jd_taskset_standings(jd_standings **out, size_t *skipped, jd_queue *q, const char *id,
                         char *err, size_t errlen);

/* The standings JSON of a taskset (jd_standings_json's text, as stored
 * under <prefix>:taskset:<id>:standings); caller frees. */
int jd_taskset_standings_json(char **out, jd_queue *q, const char *id, char *err, size_t errlen);

/* How long one host holds the right to rank a set (it is retried after). */
#define JD_TASKSET_RANK_LOCK_MS 60000

/* Every finished taskset whose standings are not written yet (at most max):
 * computed, stored, marked ranked, each by whoever takes its lock first
 * (jd_queue_taskset_rank_lock). *ranked (may be NULL) counts those ranked
 * here; -1 (err: the last failure) when one of them failed. */
int jd_taskset_rank_pending(size_t *ranked, jd_queue *q, size_t max, char *err, size_t errlen);

#endif
