/* Reading tasksets: the view with its counts and ETA, the JSON `judger
 * status --taskset` shows, the members' results in order, the running
 * sets (taskset.h). Scripts: lua/taskset_view.lua, taskset_tasks.lua. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/clock.h"
#include "queue/eta.h"
#include "queue/taskset_internal.h"

/* Results are read this many members at a time (LRANGE + MGET). */
#define RESULT_CHUNK 100

static int64_t num(const char *s) { return s && *s ? strtoll(s, NULL, 10) : 0; }

/* The record's fields (HGETALL pairs) into the view. */
static void view_record(jd_taskset_view *v, const redisReply *rec) {
  for (size_t i = 0; i + 1 < rec->elements; i += 2) {
    const char *k = jd_reply_str(rec->element[i]), *s = jd_reply_str(rec->element[i + 1]);
    if (!k || !s)
      continue;
    if (!strcmp(k, "state"))
      snprintf(v->state, sizeof v->state, "%s", s);
    else if (!strcmp(k, "priority"))
      jd_priority_parse(&v->prio, s);
    else if (!strcmp(k, "standings"))
      v->standings = !strcmp(s, "1");
    else if (!strcmp(k, "total"))
      v->c.total = num(s);
    else if (!strcmp(k, "finished"))
      v->c.finished = num(s);
    else if (!strcmp(k, "failed"))
      v->c.failed = num(s);
    else if (!strcmp(k, "cancelled"))
      v->c.cancelled = num(s);
    else if (!strcmp(k, "submitted_ms"))
      v->submitted_ms = num(s);
    else if (!strcmp(k, "started_ms"))
      v->started_ms = num(s);
    else if (!strcmp(k, "finished_ms"))
      v->finished_ms = num(s);
    else if (!strcmp(k, "cancel_reason"))
      snprintf(v->cancel_reason, sizeof v->cancel_reason, "%s", s);
  }
}

/* The ETA from the members not done ({mean, elapsed} pairs). */
static int view_eta(jd_taskset_view *v, jd_queue *q, const redisReply *pairs) {
  size_t n = pairs->elements / 2;
  jd_eta_member *m = calloc(n ? n : 1, sizeof *m);
  if (!m)
    return jd_queue_no_memory(q);
  for (size_t i = 0; i < n; i++) {
    long long mean = -1, elapsed = -1;
    jd_reply_int(pairs->element[2 * i], &mean);
    jd_reply_int(pairs->element[2 * i + 1], &elapsed);
    m[i] = (jd_eta_member){mean, elapsed >= 0, elapsed >= 0 ? elapsed : 0};
  }
  int64_t done = v->c.finished + v->c.failed + v->c.cancelled;
  jd_eta_in in = {m, n, v->slots, done, v->c.total, v->started_ms, v->now_ms};
  jd_eta_out out;
  jd_eta_compute(&out, &in);
  v->eta_ms = out.eta_ms;
  free(m);
  return 0;
}

int jd_queue_taskset_view(jd_taskset_view *out, bool *found, jd_queue *q, const char *id) {
  memset(out, 0, sizeof *out);
  *found = false;
  if (jd_taskset_id_check(q, id))
    return -1;
  snprintf(out->id, sizeof out->id, "%s", id);
  out->now_ms = jd_unix_ms();
  char now[24];
  snprintf(now, sizeof now, "%lld", (long long)out->now_ms);
  const char *args[] = {q->prefix, id, now};
  redisReply *rep = NULL;
  if (jd_queue_eval(&rep, q, jd_lua_taskset_view, 0, NULL, 3, args))
    return -1;
  int rc = 0;
  long long slots = 0;
  if (rep->type != REDIS_REPLY_ARRAY ||
      (rep->elements &&
       (rep->elements != 4 || rep->element[0]->type != REDIS_REPLY_ARRAY ||
        rep->element[1]->type != REDIS_REPLY_ARRAY || rep->element[1]->elements != 3 ||
        rep->element[2]->type != REDIS_REPLY_ARRAY || jd_reply_int(rep->element[3], &slots))))
    rc = jd_queue_unexpected(q, "EVAL taskset_view");
  else if (rep->elements) {
    *found = true;
    view_record(out, rep->element[0]);
    long long c[3] = {0};
    for (int i = 0; i < 3; i++)
      jd_reply_int(rep->element[1]->element[i], &c[i]);
    out->c.queued = c[0];
    out->c.running = c[1];
    out->c.held = c[2];
    out->slots = slots;
    rc = view_eta(out, q, rep->element[2]);
  }
  freeReplyObject(rep);
  return rc;
}

static json_object *view_json(const jd_taskset_view *v) {
  json_object *o = json_object_new_object(), *c = json_object_new_object();
  json_object_object_add(o, "id", json_object_new_string(v->id));
  json_object_object_add(o, "state", json_object_new_string(v->state));
  json_object_object_add(o, "priority", json_object_new_string(jd_priority_name(v->prio)));
  json_object_object_add(o, "standings", json_object_new_boolean(v->standings));
  const char *names[] = {"total", "held", "queued", "running", "finished", "failed", "cancelled"};
  const int64_t vals[] = {v->c.total,    v->c.held,   v->c.queued,   v->c.running,
                          v->c.finished, v->c.failed, v->c.cancelled};
  for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
    json_object_object_add(c, names[i], json_object_new_int64(vals[i]));
  json_object_object_add(o, "counts", c);
  const char *tn[] = {"submitted_ms", "started_ms", "finished_ms", "now_ms", "eta_ms", "slots"};
  const int64_t tv[] = {v->submitted_ms, v->started_ms, v->finished_ms,
                        v->now_ms,       v->eta_ms,     v->slots};
  for (size_t i = 0; i < sizeof tv / sizeof tv[0]; i++)
    json_object_object_add(o, tn[i], json_object_new_int64(tv[i]));
  json_object_object_add(o, "cancel_reason", json_object_new_string(v->cancel_reason));
  return o;
}

/* The first max members with their states, as an array. */
static int tasks_json(json_object **out, jd_queue *q, const char *id, size_t max) {
  char count[24];
  snprintf(count, sizeof count, "%zu", max);
  const char *args[] = {q->prefix, id, count};
  redisReply *rep = NULL;
  *out = NULL;
  if (jd_queue_eval(&rep, q, jd_lua_taskset_tasks, 0, NULL, 3, args))
    return -1;
  if (rep->type != REDIS_REPLY_ARRAY || rep->elements % 5) {
    freeReplyObject(rep);
    return jd_queue_unexpected(q, "EVAL taskset_tasks");
  }
  json_object *a = json_object_new_array();
  const char *names[] = {"task_id", "state", "status", "host", "class"};
  for (size_t i = 0; i < rep->elements; i += 5) {
    json_object *t = json_object_new_object();
    for (size_t f = 0; f < 5; f++) {
      const char *s = jd_reply_str(rep->element[i + f]);
      json_object_object_add(t, names[f], json_object_new_string(s ? s : ""));
    }
    json_object_array_add(a, t);
  }
  freeReplyObject(rep);
  *out = a;
  return 0;
}

int jd_queue_taskset_json(char **out, bool *found, jd_queue *q, const char *id, size_t max_tasks) {
  *out = NULL;
  jd_taskset_view v;
  if (jd_queue_taskset_view(&v, found, q, id))
    return -1;
  if (!*found)
    return 0;
  json_object *tasks = NULL;
  char *standings = NULL;
  if (tasks_json(&tasks, q, id, max_tasks) || jd_queue_taskset_get_standings(&standings, q, id)) {
    json_object_put(tasks);
    return -1;
  }
  json_object *o = json_object_new_object();
  json_object_object_add(o, "taskset", view_json(&v));
  json_object_object_add(o, "tasks", tasks);
  json_object_object_add(o, "standings", standings ? json_tokener_parse(standings) : NULL);
  free(standings);
  *out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
  json_object_put(o);
  return *out ? 0 : jd_queue_no_memory(q);
}

/* One chunk: the member ids of [off, off + RESULT_CHUNK) and their results
 * (MGET), each handed to cb. *n: members in the chunk. */
static int result_chunk(size_t *n, jd_queue *q, const char *key, size_t off,
                        int (*cb)(void *, const char *, const char *), void *ud) {
  redisReply *ids = NULL, *res = NULL;
  *n = 0;
  char from[24], to[24];
  snprintf(from, sizeof from, "%zu", off);
  snprintf(to, sizeof to, "%zu", off + RESULT_CHUNK - 1);
  if (jd_redis_command(&ids, q->r, "LRANGE %s %s %s", key, from, to))
    return -1;
  if (ids->type != REDIS_REPLY_ARRAY) {
    freeReplyObject(ids);
    return jd_queue_unexpected(q, "LRANGE");
  }
  char keys[RESULT_CHUNK][KEY_MAX];
  const char *argv[RESULT_CHUNK + 1] = {"MGET"};
  for (size_t i = 0; i < ids->elements; i++) {
    const char *t = jd_reply_str(ids->element[i]);
    snprintf(keys[i], KEY_MAX, "%s:result:%s", q->prefix, t ? t : "");
    argv[1 + i] = keys[i];
  }
  int rc = 0;
  if (ids->elements &&
      !(rc = jd_redis_command_argv(&res, q->r, 0, (int)ids->elements + 1, argv, NULL)) &&
      (res->type != REDIS_REPLY_ARRAY || res->elements != ids->elements))
    rc = jd_queue_unexpected(q, "MGET");
  for (size_t i = 0; !rc && i < ids->elements; i++) {
    const char *t = jd_reply_str(ids->element[i]);
    if (t && cb(ud, t, jd_reply_str(res->element[i])))
      rc = -1;
  }
  *n = ids->elements;
  freeReplyObject(ids);
  freeReplyObject(res);
  return rc;
}

int jd_queue_taskset_each_result(jd_queue *q, const char *id,
                                 int (*cb)(void *ud, const char *task_id, const char *json),
                                 void *ud) {
  char key[KEY_MAX];
  if (jd_taskset_id_check(q, id))
    return -1;
  jd_taskset_key(key, q, id, ":tasks");
  for (size_t off = 0;; off += RESULT_CHUNK) {
    size_t n = 0;
    if (result_chunk(&n, q, key, off, cb, ud))
      return -1;
    if (n < RESULT_CHUNK)
      return 0;
  }
}

int jd_queue_tasksets_running(jd_taskset_view **out, size_t *n, size_t *total, jd_queue *q,
                              size_t max) {
  *out = NULL;
  *n = 0;
  char key[KEY_MAX], **ids = NULL;
  size_t nids = 0;
  snprintf(key, sizeof key, "%s:tasksets:running", q->prefix);
  if (jd_queue_set_members(&ids, &nids, total, q, key, max))
    return -1;
  jd_taskset_view *v = calloc(nids ? nids : 1, sizeof *v);
  int rc = v ? 0 : jd_queue_no_memory(q);
  for (size_t i = 0; !rc && i < nids; i++) {
    bool found = false;
    if (jd_queue_taskset_view(&v[*n], &found, q, ids[i]))
      rc = -1;
    else if (found)
      (*n)++;
  }
  for (size_t i = 0; i < nids; i++)
    free(ids[i]);
  free(ids);
  if (rc) {
    free(v);
    *n = 0;
    return -1;
  }
  *out = v;
  return 0;
}
