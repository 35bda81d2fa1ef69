/* Published outputs (see outputs.h, docs/match-spec.md "Inputs"): one
 * HSET to store, a script to read back (lua/output_get.lua) that sends the
 * data only when it is within the reader's bound. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "queue/outputs.h"
#include "queue/queue_internal.h"

/* judger/queue/lua/output_get.lua, embedded by the build (scripts.h). */
extern const char jd_lua_output_get[];

/* <prefix>:output:<task>:<file>, or NULL when out of memory. */
static char *output_key(const jd_queue *q, const char *task_id, const char *file) {
  char *key = NULL;
  return asprintf(&key, "%s:output:%s:%s", q->prefix, task_id, file) < 0 ? NULL : key;
}

int jd_queue_publish_output(jd_queue *q, const char *task_id, const char *file, const void *data,
                            size_t len, const char *sha256) {
  char *key = output_key(q, task_id, file);
  if (!key)
    return jd_queue_no_memory(q);
  char bytes[24];
  snprintf(bytes, sizeof bytes, "%zu", len);
  const char *argv[] = {"HSET", key, "sha256", sha256, "bytes", bytes, "data", data ? data : ""};
  const size_t lens[] = {4, strlen(key), 6, strlen(sha256), 5, strlen(bytes), 4, data ? len : 0};
  int rc = jd_redis_command_argv(NULL, jd_queue_redis(q), 0, 8, argv, lens);
  free(key);
  return rc;
}

void jd_output_clear(jd_output *o) {
  if (!o)
    return;
  free(o->data);
  memset(o, 0, sizeof *o);
}

/* A count as stored: digits only, at most 2^53. */
static int parse_count(size_t *out, const redisReply *r) {
  if (!r || r->type != REDIS_REPLY_STRING || r->len == 0 || r->len > 16)
    return -1;
  size_t n = 0;
  for (size_t i = 0; i < r->len; i++) {
    if (r->str[i] < '0' || r->str[i] > '9')
      return -1;
    n = n * 10 + (size_t)(r->str[i] - '0');
  }
  *out = n;
  return 0;
}

/* The script's answer {sha256, bytes, data} into out. */
static int take_output(jd_output *out, jd_queue *q, const redisReply *rep, size_t max_bytes) {
  if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 3 ||
      rep->element[0]->type != REDIS_REPLY_STRING || rep->element[0]->len != 64 ||
      parse_count(&out->bytes, rep->element[1]))
    return jd_redis_fail(jd_queue_redis(q), JD_REDIS_PROTO,
                         "published output: a hash of another shape (sha256, bytes, data)");
  memcpy(out->sha256, rep->element[0]->str, 64);
  out->sha256[64] = '\0';
  const redisReply *d = rep->element[2];
  if (d->type == REDIS_REPLY_NIL && rep->elements == 4 &&
      rep->element[3]->type == REDIS_REPLY_INTEGER && rep->element[3]->integer >= 0) {
    out->too_big = true;
    out->len = (size_t)rep->element[3]->integer;
    return 0;
  }
  if (d->type != REDIS_REPLY_STRING || d->len > max_bytes)
    return jd_redis_fail(jd_queue_redis(q), JD_REDIS_PROTO,
                         "published output: a hash without its data");
  out->data = malloc(d->len + 1);
  if (!out->data)
    return jd_queue_no_memory(q);
  memcpy(out->data, d->str, d->len);
  out->data[d->len] = '\0';
  out->len = d->len;
  return 0;
}

int jd_queue_get_output(jd_output *out, bool *found, jd_queue *q, const char *task_id,
                        const char *file, size_t max_bytes) {
  memset(out, 0, sizeof *out);
  *found = false;
  char *key = output_key(q, task_id, file);
  if (!key)
    return jd_queue_no_memory(q);
  char max[24];
  snprintf(max, sizeof max, "%zu", max_bytes);
  const char *keys[] = {key};
  const char *args[] = {max};
  redisReply *rep = NULL;
  int rc = jd_queue_eval(&rep, q, jd_lua_output_get, 1, keys, 1, args);
  free(key);
  if (rc)
    return -1;
  if (rep->type != REDIS_REPLY_NIL) {
    *found = true;
    rc = take_output(out, q, rep, max_bytes);
  }
  freeReplyObject(rep);
  if (rc)
    jd_output_clear(out);
  return rc;
}
