/* Private to the queue's taskset files (taskset.c: submit, cancel,
 * standings; taskset_read.c: the view, the JSON, the results). */
#ifndef JD_QUEUE_TASKSET_INTERNAL_H
#define JD_QUEUE_TASKSET_INTERNAL_H

#include "queue/queue_internal.h"
#include "queue/taskset.h"

/* The scripts (judger/queue/lua/taskset_<name>.lua, generated). */
extern const char jd_lua_taskset_submit[]; /* taskset.c: jd_queue_taskset_submit */
extern const char jd_lua_taskset_cancel[]; /* taskset.c: jd_queue_taskset_cancel */
extern const char jd_lua_taskset_view[];   /* taskset_read.c: jd_queue_taskset_view */
extern const char jd_lua_taskset_tasks[];  /* taskset_read.c: jd_queue_taskset_json */

/* <prefix>:taskset:<id><suffix> (suffix "" for the record). */
void jd_taskset_key(char out[KEY_MAX], const jd_queue *q, const char *id, const char *suffix);
/* 0 when id is a task id (the charset keys take); else -1, the failure
 * JD_REDIS_INVAL recorded. */
int jd_taskset_id_check(jd_queue *q, const char *id);
/* SMEMBERS of key: at most max of its strings, copied (*ids holds *n and
 * a NULL); the caller frees each and the array. */
int jd_queue_set_members(char ***ids, size_t *n, size_t *total, jd_queue *q, const char *key,
                         size_t max);

#endif
