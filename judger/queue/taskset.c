/* Tasksets in Redis: submit, cancel, the standings' store and the sets
 * waiting for them (taskset.h, docs/queue.md "Tasksets"). The view and
 * the results are in taskset_read.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/utf8.h"
#include "queue/taskset_internal.h"

void jd_taskset_key(char out[KEY_MAX], const jd_queue *q, const char *id, const char *suffix) {
  snprintf(out, KEY_MAX, "%s:taskset:%s%s", q->prefix, id, suffix);
}

int jd_taskset_id_check(jd_queue *q, const char *id) {
  if (id && jd_task_id_valid(id))
    return 0;
  return jd_redis_fail(q->r, JD_REDIS_INVAL,
                       "taskset id: [A-Za-z0-9][A-Za-z0-9_.-]*, at most %d chars", JD_TASK_ID_MAX);
}

/* Every id of the set (its own, the members', their "after"s and classes)
 * is a task id: they become parts of keys, and "after" goes joined by ','. */
static int sub_check(jd_queue *q, const jd_taskset_sub *s) {
  if (jd_taskset_id_check(q, s->id))
    return -1;
  if (!s->n || !s->task_ids || !s->task_json)
    return jd_redis_fail(q->r, JD_REDIS_INVAL, "taskset %s: no members", s->id);
  for (size_t i = 0; i < s->n; i++) {
    bool ok = jd_task_id_valid(s->task_ids[i]) && s->task_json[i] &&
              (!s->klass || !s->klass[i] || !*s->klass[i] || jd_task_id_valid(s->klass[i]));
    size_t na = s->nafter ? s->nafter[i] : 0;
    for (size_t j = 0; ok && j < na; j++)
      ok = jd_task_id_valid(s->after[i][j]);
    if (!ok)
      return jd_redis_fail(q->r, JD_REDIS_INVAL, "taskset %s: tasks[%zu]: a bad id, class or after",
                           s->id, i);
  }
  return 0;
}

/* The "after" ids of member i joined by ','; NULL when out of memory. */
static char *join_after(const jd_taskset_sub *s, size_t i) {
  size_t n = s->nafter ? s->nafter[i] : 0, len = 1;
  for (size_t j = 0; j < n; j++)
    len += strlen(s->after[i][j]) + 1;
  char *out = malloc(len), *p = out;
  if (!out)
    return NULL;
  *p = '\0';
  for (size_t j = 0; j < n; j++)
    p += sprintf(p, "%s%s", j ? "," : "", s->after[i][j]);
  return out;
}

/* The script's arguments (taskset_submit.lua): EVAL, the script, 0 keys,
 * 6 of the set, 4 a member; *joined keeps the "after" texts. */
static const char **submit_argv(int *argc, char ***joined, const jd_taskset_sub *s, const char *pfx,
                                const char *now, const char *count) {
  const char **argv = calloc(9 + 4 * s->n, sizeof *argv);
  *joined = calloc(s->n ? s->n : 1, sizeof **joined);
  if (!argv || !*joined)
    return argv;
  int c = 0;
  const char *head[] = {"EVAL",
                        jd_lua_taskset_submit,
                        "0",
                        pfx,
                        s->id,
                        jd_priority_name(s->prio),
                        s->standings ? "1" : "0",
                        now,
                        count};
  for (size_t i = 0; i < sizeof head / sizeof head[0]; i++)
    argv[c++] = head[i];
  for (size_t i = 0; i < s->n; i++) {
    if (!((*joined)[i] = join_after(s, i)))
      return argv;
    argv[c++] = s->task_ids[i];
    argv[c++] = s->klass && s->klass[i] ? s->klass[i] : "";
    argv[c++] = s->task_json[i];
    argv[c++] = (*joined)[i];
  }
  *argc = c;
  return argv;
}

int jd_queue_taskset_submit(bool *created, jd_queue *q, const jd_taskset_sub *s) {
  *created = false;
  if (sub_check(q, s))
    return -1;
  char now[24], count[24];
  snprintf(now, sizeof now, "%lld", (long long)jd_unix_ms());
  snprintf(count, sizeof count, "%zu", s->n);
  int argc = 0;
  char **joined = NULL;
  const char **argv = submit_argv(&argc, &joined, s, q->prefix, now, count);
  int rc = -1;
  redisReply *rep = NULL;
  if (!argv || argc != 9 + 4 * (int)s->n)
    rc = jd_queue_no_memory(q);
  else if (!jd_redis_command_argv(&rep, q->r, 0, argc, argv, NULL)) {
    const char *a = jd_reply_str(rep);
    rc = a && (!strcmp(a, "created") || !strcmp(a, "exists"))
             ? 0
             : jd_queue_unexpected(q, "EVAL taskset_submit");
    *created = !rc && !strcmp(a, "created");
  }
  freeReplyObject(rep);
  for (size_t i = 0; joined && i < s->n; i++)
    free(joined[i]);
  free(joined);
  free(argv);
  return rc;
}

int jd_queue_taskset_cancel(int64_t *removed, int64_t *signalled, bool *found, jd_queue *q,
                            const char *id, const char *reason) {
  *removed = *signalled = 0;
  *found = false;
  if (jd_taskset_id_check(q, id))
    return -1;
  /* The reason is kept, shown and written into results: valid UTF-8
   * without controls, at most 200 bytes of whole characters. */
  const char *src = reason && *reason ? reason : "cancelled";
  char why[201];
  jd_utf8_clean(why, sizeof why, src, strlen(src), JD_UTF8_ESCAPE_CONTROLS);
  char now[24];
  snprintf(now, sizeof now, "%lld", (long long)jd_unix_ms());
  const char *args[] = {q->prefix, id, why, now, q->group};
  long long v[4] = {0};
  if (jd_queue_eval_ints(v, 4, q, jd_lua_taskset_cancel, 0, NULL, 5, args))
    return -1;
  *found = v[0] == 1;
  *removed = v[1];
  *signalled = v[2];
  return 0;
}

int jd_queue_taskset_put_standings(jd_queue *q, const char *id, const char *json) {
  if (jd_taskset_id_check(q, id))
    return -1;
  char key[KEY_MAX], unranked[KEY_MAX];
  jd_taskset_key(key, q, id, ":standings");
  snprintf(unranked, sizeof unranked, "%s:tasksets:unranked", q->prefix);
  if (jd_redis_command(NULL, q->r, "SET %s %s", key, json))
    return -1;
  return jd_redis_command(NULL, q->r, "SREM %s %s", unranked, id);
}

int jd_queue_taskset_rank_lock(bool *got, jd_queue *q, const char *id, int64_t ttl_ms) {
  *got = false;
  if (jd_taskset_id_check(q, id))
    return -1;
  char key[KEY_MAX];
  jd_taskset_key(key, q, id, ":ranking");
  redisReply *rep = NULL;
  if (jd_redis_command(&rep, q->r, "SET %s %s NX PX %lld", key,
                       q->consumer && *q->consumer ? q->consumer : "-", (long long)ttl_ms))
    return -1;
  *got = rep->type == REDIS_REPLY_STATUS; /* OK; nil when another holds it */
  freeReplyObject(rep);
  return 0;
}

int jd_queue_taskset_get_standings(char **json, jd_queue *q, const char *id) {
  *json = NULL;
  if (jd_taskset_id_check(q, id))
    return -1;
  char key[KEY_MAX];
  jd_taskset_key(key, q, id, ":standings");
  redisReply *rep = NULL;
  if (jd_redis_command(&rep, q->r, "GET %s", key))
    return -1;
  int rc = 0;
  if (rep->type == REDIS_REPLY_STRING && !(*json = strdup(rep->str)))
    rc = jd_queue_no_memory(q);
  freeReplyObject(rep);
  return rc;
}

int jd_queue_taskset_ranked(jd_queue *q, const char *id) {
  char unranked[KEY_MAX];
  snprintf(unranked, sizeof unranked, "%s:tasksets:unranked", q->prefix);
  return jd_redis_command(NULL, q->r, "SREM %s %s", unranked, id);
}

/* taskset_internal.h */
int jd_queue_set_members(char ***ids, size_t *n, size_t *total, jd_queue *q, const char *key,
                         size_t max) {
  *ids = NULL;
  *n = 0;
  redisReply *rep = NULL;
  if (jd_redis_command(&rep, q->r, "SMEMBERS %s", key))
    return -1;
  if (rep->type != REDIS_REPLY_ARRAY) {
    freeReplyObject(rep);
    return jd_queue_unexpected(q, "SMEMBERS");
  }
  size_t m = rep->elements < max ? rep->elements : max;
  if (total)
    *total = rep->elements;
  char **out = calloc(m + 1, sizeof *out);
  int rc = out ? 0 : jd_queue_no_memory(q);
  for (size_t i = 0; !rc && i < m; i++) {
    const char *s = jd_reply_str(rep->element[i]);
    if (s && !(out[(*n)++] = strdup(s)))
      rc = jd_queue_no_memory(q);
  }
  freeReplyObject(rep);
  if (rc) {
    for (size_t i = 0; out && i < *n; i++)
      free(out[i]);
    free(out);
    *n = 0;
    return -1;
  }
  *ids = out;
  return 0;
}

int jd_queue_tasksets_unranked(char ***ids, size_t *n, jd_queue *q, size_t max) {
  char key[KEY_MAX];
  snprintf(key, sizeof key, "%s:tasksets:unranked", q->prefix);
  return jd_queue_set_members(ids, n, NULL, q, key, max);
}
