/* The daemon's side of tasksets (docs/tasksets.md): a taskset written as
 * one stream entry (field "taskset") is checked and submitted; the
 * standings of sets that ended are computed and stored; the running sets
 * are read into the metrics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "daemon/daemon_internal.h"
#include "queue/taskset.h"
#include "taskset/taskset.h"
#include "taskset/taskset_rank.h"

/* Running sets read into the metrics (each a view: one script over the
 * members still open, ~50 ms for 10 000 of them). */
#define GAUGED_SETS 20
/* Ended sets looked at per pass (each ranked by the one host or worker
 * that takes its lock): a few, so a pass stays short on threads that also
 * renew leases. */
#define RANK_BATCH 4

static bool taskset_exists(jd_queue *q, const char *id) {
  jd_taskset_view v;
  bool found = false;
  return jd_queue_taskset_view(&v, &found, q, id) == 0 && found;
}

void jd_daemon_taskset_entry(jd_daemon *d, jd_slot *s) {
  char err[512] = "";
  jd_taskset *ts = NULL;
  pthread_mutex_lock(&d->mu);
  int depth = d->cfg.entry_max_depth;
  pthread_mutex_unlock(&d->mu);
  if (jd_taskset_parse(&ts, s->entry.task_json, JD_TASKSET_MAX_MEMBERS_DEFAULT, depth, err,
                       sizeof err)) {
    char why[600];
    snprintf(why, sizeof why, "taskset: %s", err);
    jd_attempt_dead_letter(d, s, NULL, JD_CLAIM_NONE, why, 0);
    return;
  }
  int rc;
  WITH_RETRY(rc, d, s->q, false, jd_taskset_submit(s->q, ts, err, sizeof err));
  if (rc && jd_queue_lost(s->q)) {
    /* Stopping while Redis is away: the entry stays pending and is taken
     * again after the lease. */
    jd_log(JD_LOG_WARN, "taskset.unsubmitted", "taskset %s (entry %s): %s", ts->id, s->entry.id,
           err);
  } else if (rc && !taskset_exists(s->q, ts->id)) {
    /* Redis refused it (a member's id in use...): it never will take it. */
    char why[600];
    snprintf(why, sizeof why, "taskset: %s", err);
    jd_attempt_dead_letter(d, s, NULL, JD_CLAIM_NONE, why, 0);
  } else {
    /* Submitted, or submitted before (a daemon killed between the submit
     * and the ack, a platform that wrote it twice): acked. */
    jd_slot_set_finishing(d, s);
    WITH_RETRY(rc, d, s->q, true, jd_queue_ack(s->q, s->entry.prio, s->entry.id));
    jd_log(JD_LOG_INFO, "taskset.submitted", "taskset %s: %zu tasks from entry %s (%s)%s", ts->id,
           ts->n, s->entry.id, jd_priority_name(s->entry.prio), err[0] ? " (already there)" : "");
  }
  jd_taskset_free(ts);
}

void jd_daemon_rank_tasksets(jd_daemon *d, jd_queue *q) {
  (void)d;
  char err[512];
  size_t ranked = 0;
  if (jd_taskset_rank_pending(&ranked, q, RANK_BATCH, err, sizeof err))
    jd_log(JD_LOG_WARN, "taskset.rank_failed", "%s", err);
  if (ranked)
    jd_log(JD_LOG_INFO, "taskset.ranked", "standings written for %zu taskset(s)", ranked);
}

void jd_daemon_taskset_gauges(jd_daemon *d, jd_queue *q) {
  jd_taskset_view *v = NULL;
  size_t n = 0, total = 0;
  if (jd_queue_tasksets_running(&v, &n, &total, q, GAUGED_SETS) == 0)
    jd_dmetrics_tasksets(d->metrics, v, n, total);
  free(v);
}
