/* A taskset's standings from its stored results (see taskset_rank.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/error.h"
#include "queue/taskset.h"
#include "taskset/taskset_rank.h"

typedef struct rank_walk {
  jd_standings *s;
  size_t skipped;
} rank_walk;

/* One member's result (NULL: none stored, a member dead-lettered without a
 * result): counted, or skipped when it is not a result.json. */
static int add_one(void *ud, const char *task_id, const char *json) {
  (void)task_id;
  rank_walk *w = ud;
  char err[256];
  if (json && jd_standings_add_result(w->s, json, err, sizeof err))
    w->skipped++;
  return 0;
}

int jd_taskset_standings(jd_standings **out, size_t *skipped, jd_queue *q, const char *id,
                         char *err, size_t errlen) {
  *out = NULL;
  rank_walk w = {0};
  if (jd_standings_new(&w.s))
    return jd_fail(err, errlen, "out of memory");
  if (jd_queue_taskset_each_result(q, id, add_one, &w)) {
    jd_fail(err, errlen, "taskset %s: reading its results: %s", id, jd_queue_error(q));
    jd_standings_free(w.s);
    return -1;
  }
  /* A fit that did not converge still leaves counts and the matrix. */
  jd_standings_rate(w.s);
  if (skipped)
    *skipped = w.skipped;
  *out = w.s;
  return 0;
}

int jd_taskset_standings_json(char **out, jd_queue *q, const char *id, char *err, size_t errlen) {
  *out = NULL;
  jd_standings *s = NULL;
  if (jd_taskset_standings(&s, NULL, q, id, err, errlen))
    return -1;
  int rc = jd_standings_json(out, s);
  jd_standings_free(s);
  return rc ? jd_fail(err, errlen, "taskset %s: standings: out of memory", id) : 0;
}

/* One ended set: ranked unless another host or worker is at it. */
static int rank_one(bool *ranked, jd_queue *q, const char *id, char *err, size_t errlen) {
  *ranked = false;
  bool mine = false;
  if (!jd_task_id_valid(id))
    return 0; /* not a set's id (written by hand): nothing to rank */
  if (jd_queue_taskset_rank_lock(&mine, q, id, JD_TASKSET_RANK_LOCK_MS))
    return jd_fail(err, errlen, "taskset %s: %s", id, jd_queue_error(q));
  if (!mine)
    return 0;
  char *json = NULL;
  if (jd_taskset_standings_json(&json, q, id, err, errlen))
    return -1;
  int rc = jd_queue_taskset_put_standings(q, id, json);
  free(json);
  if (rc)
    return jd_fail(err, errlen, "taskset %s: storing its standings: %s", id, jd_queue_error(q));
  *ranked = true;
  return 0;
}

int jd_taskset_rank_pending(size_t *ranked, jd_queue *q, size_t max, char *err, size_t errlen) {
  if (ranked)
    *ranked = 0;
  char **ids = NULL;
  size_t n = 0;
  if (jd_queue_tasksets_unranked(&ids, &n, q, max))
    return jd_fail(err, errlen, "unranked tasksets: %s", jd_queue_error(q));
  int rc = 0;
  for (size_t i = 0; i < n; i++) {
    /* A set that fails (its results unreadable now) does not stop the
     * others; it is tried again after its lock ran out. */
    bool done = false;
    if (rank_one(&done, q, ids[i], err, errlen))
      rc = -1;
    else if (done && ranked)
      (*ranked)++;
    free(ids[i]);
  }
  free(ids);
  return rc;
}
