/* A parsed taskset onto the queue (see taskset.h): the members as the
 * plain arrays queue/taskset.h takes (the queue stays below this part). */
#include <stdlib.h>

#include "common/error.h"
#include "queue/taskset.h"
#include "taskset/taskset.h"

int jd_taskset_submit(jd_queue *q, const jd_taskset *ts, char *err, size_t errlen) {
  size_t n = ts->n;
  const char **ids = calloc(n ? n : 1, sizeof *ids);
  const char **json = calloc(n ? n : 1, sizeof *json);
  const char **klass = calloc(n ? n : 1, sizeof *klass);
  const char *const **after = calloc(n ? n : 1, sizeof *after);
  size_t *nafter = calloc(n ? n : 1, sizeof *nafter);
  int rc = -1;
  if (!ids || !json || !klass || !after || !nafter) {
    jd_fail(err, errlen, "out of memory");
    goto cleanup;
  }
  for (size_t i = 0; i < n; i++) {
    const jd_taskset_member *m = &ts->members[i];
    ids[i] = m->task->id;
    json[i] = m->json;
    klass[i] = m->klass;
    after[i] = (const char *const *)m->task->after;
    nafter[i] = m->task->nafter;
  }
  jd_taskset_sub sub = {.id = ts->id,
                        .prio = ts->prio,
                        .standings = ts->standings,
                        .n = n,
                        .task_ids = ids,
                        .task_json = json,
                        .klass = klass,
                        .after = after,
                        .nafter = nafter};
  bool created = false;
  if (jd_queue_taskset_submit(&created, q, &sub))
    jd_fail(err, errlen, "taskset %s: %s", ts->id, jd_queue_error(q));
  else if (!created)
    jd_fail(err, errlen, "taskset %s exists", ts->id);
  else
    rc = 0;
cleanup:
  free(ids);
  free(json);
  free(klass);
  free(after);
  free(nafter);
  return rc;
}
