/* Tasksets in Redis: the taskset record, its members, dependencies
 * ("after"), cancelling, the view with its ETA, and the standings' store
 * (docs/tasksets.md, docs/queue.md "Tasksets"). The queue stays below the
 * taskset part: it takes plain arrays (judger/taskset/ builds them).
 *
 * Keys (prefix `judger`): judger:taskset:<id> (hash, the record),
 * :<id>:tasks (list, member ids in order), :<id>:done (set, members
 * counted), :<id>:held (hash tid -> envelope, members waiting on "after"),
 * :<id>:deps:<tid> (deps left), :<id>:rdeps:<src> (set, its dependents),
 * :<id>:standings (string), judger:tasksets (zset id -> submitted_ms),
 * judger:tasksets:running (set), judger:tasksets:unranked (set),
 * judger:class:<class> (hash: n, mean_ms, last_ms, updated_ms).
 */
#ifndef JD_QUEUE_TASKSET_H
#define JD_QUEUE_TASKSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "queue/queue.h"

typedef struct jd_taskset_counts {
  int64_t total, held, queued, running, finished, failed, cancelled;
} jd_taskset_counts; /* failed = failed|error|stalled|dead; queued/running counted
                        from the members' status records at read time */

typedef struct jd_taskset_sub { /* what jd_queue_taskset_submit writes */
  const char *id;
  jd_priority prio;
  bool standings;
  size_t n;
  const char *const *task_ids;
  const char *const *task_json;    /* each member's envelope, "taskset" field included */
  const char *const *klass;        /* each member's ETA class (jd_task_class) */
  const char *const *const *after; /* after[i]: nafter[i] ids of members (may be NULL if 0) */
  const size_t *nafter;
} jd_taskset_sub;

/* All or nothing, in one script: *created false (and nothing written) when
 * a taskset of that id exists. The members without "after" are queued on
 * the set's priority stream, the others held until their sources finish. */
int jd_queue_taskset_submit(bool *created, jd_queue *q, const jd_taskset_sub *s);

/* Cancels a taskset: members not started are removed from their stream and
 * get a cancelled result; running ones are asked to stop (their status
 * record's "cancel"; the run stores its own cancelled result); finished
 * ones are left. *found false when no such taskset. reason may be NULL. */
int jd_queue_taskset_cancel(int64_t *removed, int64_t *signalled, bool *found, jd_queue *q,
                            const char *id, const char *reason);

typedef struct jd_taskset_view {
  char id[JD_TASK_ID_MAX + 1];
  char state[16]; /* running | finished | cancelled */
  jd_priority prio;
  bool standings;
  jd_taskset_counts c;
  int64_t submitted_ms, started_ms, finished_ms, now_ms;
  int64_t eta_ms; /* remaining wall time; -1 = unknown (no history for a class) */
  int64_t slots;  /* live slots in the fleet (sum of heartbeats' "slots") */
  char cancel_reason[256];
} jd_taskset_view;

int jd_queue_taskset_view(jd_taskset_view *out, bool *found, jd_queue *q, const char *id);
/* {"taskset": {...view...}, "tasks": [{"task_id","state","status","host","class"}...] (at
 * most max_tasks), "standings": <stored JSON or null>}. Caller frees. */
int jd_queue_taskset_json(char **out, bool *found, jd_queue *q, const char *id, size_t max_tasks);
/* The member results one by one in member order, for standings: cb(ud,
 * task_id, result_json or NULL); a cb returning -1 stops it (-1). */
int jd_queue_taskset_each_result(jd_queue *q, const char *id,
                                 int (*cb)(void *ud, const char *task_id, const char *json),
                                 void *ud);
int jd_queue_taskset_put_standings(jd_queue *q, const char *id, const char *json);
/* Takes the right to compute a set's standings for ttl_ms (SET
 * <prefix>:taskset:<id>:ranking NX PX): *got false when another host or
 * worker has it, so one of the fleet ranks a set that ended. */
int jd_queue_taskset_rank_lock(bool *got, jd_queue *q, const char *id, int64_t ttl_ms);
/* The stored standings JSON; *json NULL when none. Caller frees. */
int jd_queue_taskset_get_standings(char **json, jd_queue *q, const char *id);
/* Finished tasksets whose standings are not written (at most max); caller
 * frees each and the array. */
int jd_queue_tasksets_unranked(char ***ids, size_t *n, jd_queue *q, size_t max);
/* Drops a taskset from the unranked set (its standings are written, or it
 * has none to write). */
int jd_queue_taskset_ranked(jd_queue *q, const char *id);
/* Running tasksets (for gauges): the views of at most max of them, and how
 * many run in all (*total, may be NULL); caller frees. */
int jd_queue_tasksets_running(jd_taskset_view **out, size_t *n, size_t *total, jd_queue *q,
                              size_t max);

#endif
