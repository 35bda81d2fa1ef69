/* The taskset file (docs/tasksets.md "The taskset file"): a set of tasks
 * submitted together, all or nothing.
 *
 *   {"id": "round-7", "priority": "auto", "max_attempts": 3,
 *    "tasks": [{<task envelope>, "after": ["boot"]}, ...],
 *    "standings": true}
 *
 * jd_taskset_parse() checks the whole file before anything is queued: every
 * member is parsed by jd_task_parse() (the daemon's entry depth), ids are
 * unique within the set, "after" names members of the set only and the
 * links have no cycle. The first bad member refuses the whole file, named
 * by its index and id: `tasks[12] (m-12): after[0]: "boot" is not a member
 * of the taskset`. Pure: no Redis here but jd_taskset_submit().
 */
#ifndef JD_TASKSET_H
#define JD_TASKSET_H

#include <stdbool.h>
#include <stddef.h>

#include "queue/queue.h"
#include "queue/task.h"

/* Members a set may have when the caller gives 0 as max_members. */
#define JD_TASKSET_MAX_MEMBERS_DEFAULT 10000

typedef struct jd_taskset_member {
  jd_task *task; /* parsed (task->taskset set to the set's id) */
  char *json;    /* the member's envelope text as it will be queued ("taskset" added) */
  char klass[JD_TASK_ID_MAX + 1]; /* its ETA class (jd_task_class) */
} jd_taskset_member;

typedef struct jd_taskset {
  char *id;
  jd_priority prio; /* "priority": build|match|auto (default auto) */
  bool standings;   /* "standings": default true when every member is a match */
  int max_attempts; /* "max_attempts": the members' default (0: none given) */
  jd_taskset_member *members;
  size_t n;
} jd_taskset;

/* Parses and validates a taskset file: at most max_members members (0 =
 * JD_TASKSET_MAX_MEMBERS_DEFAULT), each member nested at most max_depth
 * levels (0 = JD_TASK_MAX_DEPTH_DEFAULT; the file itself gets two more).
 * 0 and *out (freed with jd_taskset_free()), or -1 with the first fault in
 * err, naming the member and the field. */
int jd_taskset_parse(jd_taskset **out, const char *json, size_t max_members, int max_depth,
                     char *err, size_t errlen);
void jd_taskset_free(jd_taskset *ts);

/* Submits it through jd_queue_taskset_submit (arrays built from the
 * members). A set whose id already exists is refused (-1, "taskset X
 * exists"); a Redis failure is -1 with the queue's message. */
int jd_taskset_submit(jd_queue *q, const jd_taskset *ts, char *err, size_t errlen);

#endif
