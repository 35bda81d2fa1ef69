/* What `judger status` reads: queue depths, pending entries per host, live
 * hosts and their running tasks, dead letters, one task's record (see
 * queue.h and docs/queue.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "queue/queue_internal.h"

static json_object *jstr(const redisReply *r) {
  const char *s = jd_reply_str(r);
  return s ? json_object_new_string(s) : NULL;
}

/* A flat [k1, v1, k2, v2...] reply as an object (strings and integers). */
static json_object *flat_to_object(const redisReply *r) {
  json_object *o = json_object_new_object();
  if (r && r->type == REDIS_REPLY_ARRAY)
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
      const char *k = jd_reply_str(r->element[i]);
      const redisReply *v = r->element[i + 1];
      if (!k)
        continue;
      if (v->type == REDIS_REPLY_INTEGER)
        json_object_object_add(o, k, json_object_new_int64(v->integer));
      else if (jd_reply_str(v))
        json_object_object_add(o, k, json_object_new_string(v->str));
    }
  return o;
}

static int status_streams(json_object *root, jd_queue *q) {
  json_object *streams = json_object_new_object();
  json_object *per_host = json_object_new_object();
  json_object_object_add(root, "streams", streams);
  json_object_object_add(root, "pending_per_host", per_host);
  for (int i = 0; i < JD_PRIO_COUNT; i++) {
    long long len = 0, pending = 0;
    redisReply *rep = NULL;
    if (jd_redis_command(&rep, q->r, "XLEN %s", q->stream[i]))
      return -1;
    jd_reply_int(rep, &len);
    freeReplyObject(rep);
    /* An error reply: no group yet, nothing pending. */
    if (jd_redis_command(&rep, q->r, "XPENDING %s %s", q->stream[i], q->group) &&
        jd_queue_last(q) != JD_REDIS_REPLY)
      return -1;
    if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 4) {
      jd_reply_int(rep->element[0], &pending);
      const redisReply *cons = rep->element[3];
      if (cons->type == REDIS_REPLY_ARRAY)
        for (size_t k = 0; k < cons->elements; k++) {
          const redisReply *c = cons->element[k];
          long long cn = 0;
          if (c->type != REDIS_REPLY_ARRAY || c->elements != 2 || !jd_reply_str(c->element[0]) ||
              jd_reply_int(c->element[1], &cn))
            continue;
          json_object *h = NULL;
          if (!json_object_object_get_ex(per_host, c->element[0]->str, &h)) {
            h = json_object_new_object();
            json_object_object_add(per_host, c->element[0]->str, h);
          }
          json_object_object_add(h, jd_priority_name(i), json_object_new_int64(cn));
        }
    }
    if (rep)
      freeReplyObject(rep);
    json_object *s = json_object_new_object();
    /* Acked entries are deleted, so the stream holds waiting + pending. */
    json_object_object_add(s, "waiting", json_object_new_int64(len - pending));
    json_object_object_add(s, "pending", json_object_new_int64(pending));
    json_object_object_add(s, "length", json_object_new_int64(len));
    json_object_object_add(streams, jd_priority_name(i), s);
  }
  return 0;
}

static int status_hosts(json_object *root, jd_queue *q) {
  redisReply *members = NULL, **infos = NULL;
  int rc = jd_queue_hosts_with_info(&members, &infos, q);
  json_object *hosts = json_object_new_array();
  json_object *running = json_object_new_array();
  json_object_object_add(root, "hosts", hosts);
  json_object_object_add(root, "running", running);
  if (rc)
    goto cleanup;
  for (size_t i = 0; i < members->elements; i++) {
    const char *s = jd_reply_str(infos[i]);
    if (!s)
      continue; /* expired: not a live host */
    json_object *info = json_tokener_parse(s);
    if (!info)
      continue;
    json_object *tasks = NULL;
    if (json_object_object_get_ex(info, "tasks", &tasks) &&
        json_object_is_type(tasks, json_type_array))
      for (size_t k = 0; k < json_object_array_length(tasks); k++)
        json_object_array_add(running, json_object_get(json_object_array_get_idx(tasks, k)));
    json_object_array_add(hosts, info);
  }
cleanup:
  jd_queue_hosts_free(members, infos);
  return rc;
}

static int status_dead(json_object *root, jd_queue *q, size_t dead_max) {
  json_object *dead = json_object_new_array();
  json_object_object_add(root, "dead", dead);
  redisReply *rep = NULL;
  long long len = 0;
  if (jd_redis_command(&rep, q->r, "XLEN %s", q->dead))
    return -1;
  jd_reply_int(rep, &len);
  freeReplyObject(rep);
  json_object_object_add(root, "dead_total", json_object_new_int64(len));
  char count[24];
  snprintf(count, sizeof count, "%zu", dead_max ? dead_max : 1);
  if (jd_redis_command(&rep, q->r, "XREVRANGE %s + - COUNT %s", q->dead, count))
    return -1;
  if (rep->type == REDIS_REPLY_ARRAY)
    for (size_t i = 0; i < rep->elements && dead_max; i++) {
      const redisReply *e = rep->element[i];
      if (e->type != REDIS_REPLY_ARRAY || e->elements != 2)
        continue;
      json_object *o = flat_to_object(e->element[1]);
      json_object_object_del(o, "task"); /* the full task is in Redis */
      json_object *id = jstr(e->element[0]);
      if (id)
        json_object_object_add(o, "id", id);
      json_object_array_add(dead, o);
    }
  freeReplyObject(rep);
  return 0;
}

int jd_queue_status_json(char **out, jd_queue *q, size_t dead_max) {
  *out = NULL;
  json_object *root = json_object_new_object();
  int rc = status_streams(root, q);
  if (!rc)
    rc = status_hosts(root, q);
  if (!rc)
    rc = status_dead(root, q, dead_max);
  if (!rc) {
    *out = strdup(
        json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
    if (!*out)
      rc = jd_queue_no_memory(q);
  }
  json_object_put(root);
  return rc;
}

int jd_queue_task_json(char **out, bool *found, jd_queue *q, const char *task_id) {
  *out = NULL;
  *found = false;
  jd_task_keys k;
  jd_task_keys_of(&k, q, task_id);
  redisReply *rep = NULL;
  if (jd_redis_command(&rep, q->r, "HGETALL %s", k.status))
    return -1;
  json_object *o = json_object_new_object();
  json_object *rec = flat_to_object(rep);
  freeReplyObject(rep);
  json_object_object_add(o, "task_id", json_object_new_string(task_id));
  *found = json_object_object_length(rec) > 0;
  json_object_object_add(o, "status", rec);
  char *result = NULL;
  int rc = jd_queue_get_result(&result, q, task_id);
  if (!rc && result) {
    json_object *r = json_tokener_parse(result);
    json_object_object_add(o, "result", r ? r : json_object_new_string(result));
    *found = true;
  }
  free(result);
  if (!rc) {
    *out = strdup(
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
    if (!*out)
      rc = jd_queue_no_memory(q);
  }
  json_object_put(o);
  return rc;
}
