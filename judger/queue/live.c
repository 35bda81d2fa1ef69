/* A match's live stream in Redis (live.h, docs/queue.md "Live streams"):
 * appends in one script (lua/live_append.lua), reads with XRANGE or XREAD
 * BLOCK, every answer bounded (COUNT, and each entry's length). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue/live.h"
#include "queue/queue_internal.h"

/* judger/queue/lua/live_append.lua, embedded by the build (scripts.h). */
extern const char jd_lua_live_append[];

void jd_live_entries_free(jd_live_entries *e) {
  if (!e)
    return;
  for (size_t i = 0; i < e->n; i++)
    free(e->v[i].json);
  free(e->v);
  e->v = NULL;
  e->n = 0;
}

int jd_queue_live_key(char *out, size_t len, const jd_queue *q, const char *task_id) {
  if (!task_id || !jd_task_id_valid(task_id))
    return -1;
  int n = snprintf(out, len, "%s:live:%s", q->prefix, task_id);
  return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int bad_task(jd_queue *q, const char *task_id) {
  return jd_redis_fail(q->r, JD_REDIS_INVAL, "live stream: not a task id: \"%.*s\"", JD_TASK_ID_MAX,
                       task_id ? task_id : "");
}

/* The batch as the script takes it: the texts back to back (*blob) and
 * their lengths ("12,7,..."; *lens_text). Texts with a NUL byte (not JSON)
 * are left out. */
static int pack(char **blob, char **lens_text, const char *const *jsons, const size_t *lens,
                size_t n) {
  size_t total = 1;
  for (size_t i = 0; i < n; i++)
    total += lens[i];
  *blob = malloc(total);
  *lens_text = malloc(n * 21 + 1);
  if (!*blob || !*lens_text)
    return -1;
  size_t at = 0, lat = 0;
  for (size_t i = 0; i < n; i++) {
    if (!jsons[i] || memchr(jsons[i], '\0', lens[i]))
      continue;
    memcpy(*blob + at, jsons[i], lens[i]);
    at += lens[i];
    lat += (size_t)sprintf(*lens_text + lat, "%s%zu", lat ? "," : "", lens[i]);
  }
  (*blob)[at] = '\0';
  (*lens_text)[lat] = '\0';
  return 0;
}

int jd_queue_live_append_fenced(bool *refused, jd_queue *q, const char *task_id, long long claim,
                                bool reset, const char *const *jsons, const size_t *lens, size_t n,
                                size_t maxlen, int64_t ttl_ms) {
  *refused = false;
  char key[KEY_MAX];
  if (jd_queue_live_key(key, sizeof key, q, task_id))
    return bad_task(q, task_id);
  jd_task_keys k;
  jd_task_keys_of(&k, q, task_id);
  char *blob = NULL, *lens_text = NULL;
  if (pack(&blob, &lens_text, jsons, lens, n)) {
    free(blob);
    free(lens_text);
    return jd_queue_no_memory(q);
  }
  char max[24], ttl[24], token[24];
  snprintf(max, sizeof max, "%zu", maxlen ? maxlen : 1);
  snprintf(ttl, sizeof ttl, "%lld", (long long)(ttl_ms > 0 ? ttl_ms : 1));
  jd_claim_text(token, claim);
  const char *keys[] = {key, k.claim};
  const char *args[] = {reset ? "1" : "0", max, ttl, lens_text, blob, token};
  long long added = 0;
  int rc = jd_queue_eval_int(&added, q, jd_lua_live_append, 2, keys, 6, args);
  free(blob);
  free(lens_text);
  *refused = !rc && added < 0;
  return rc;
}

int jd_queue_live_append(jd_queue *q, const char *task_id, bool reset, const char *const *jsons,
                         const size_t *lens, size_t n, size_t maxlen, int64_t ttl_ms) {
  bool refused;
  return jd_queue_live_append_fenced(&refused, q, task_id, JD_CLAIM_NONE, reset, jsons, lens, n,
                                     maxlen, ttl_ms);
}

int jd_queue_live_expire(jd_queue *q, const char *task_id, int64_t ttl_ms) {
  char key[KEY_MAX], ttl[24];
  if (jd_queue_live_key(key, sizeof key, q, task_id))
    return bad_task(q, task_id);
  snprintf(ttl, sizeof ttl, "%lld", (long long)(ttl_ms > 0 ? ttl_ms : 1));
  const char *argv[] = {"PEXPIRE", key, ttl};
  return jd_redis_command_argv(NULL, q->r, 0, 3, argv, NULL);
}

/* Whether r is an entry: [id, fields]. */
static bool entry_shaped(const redisReply *r) {
  return r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
         r->element[0]->type == REDIS_REPLY_STRING &&
         r->element[0]->len < sizeof(jd_live_entry){0}.id;
}

/* One entry (entry_shaped) into e: its "e" field, "" when it has none or it
 * is longer than JD_LIVE_ENTRY_MAX (the id still advances a reader). -1:
 * out of memory. */
static int take_entry(jd_live_entry *e, const redisReply *r) {
  memcpy(e->id, r->element[0]->str, r->element[0]->len + 1);
  const redisReply *f = r->element[1];
  const redisReply *v = NULL;
  for (size_t i = 0; f->type == REDIS_REPLY_ARRAY && i + 1 < f->elements; i += 2) {
    const char *k = jd_reply_str(f->element[i]);
    if (k && !strcmp(k, "e") && f->element[i + 1]->type == REDIS_REPLY_STRING)
      v = f->element[i + 1];
  }
  size_t len = v && v->len <= JD_LIVE_ENTRY_MAX ? v->len : 0;
  e->json = malloc(len + 1);
  if (!e->json)
    return -1;
  if (len)
    memcpy(e->json, v->str, len);
  e->json[len] = '\0';
  e->len = len;
  return 0;
}

/* The entries of one stream ([[id, fields], ...]) into out. */
static int take_entries(jd_live_entries *out, jd_queue *q, const redisReply *arr,
                        const char *command) {
  if (arr->type != REDIS_REPLY_ARRAY)
    return jd_queue_unexpected(q, command);
  if (arr->elements == 0)
    return 0;
  out->v = calloc(arr->elements, sizeof *out->v);
  if (!out->v)
    return jd_queue_no_memory(q);
  for (size_t i = 0; i < arr->elements; i++) {
    if (!entry_shaped(arr->element[i]))
      return jd_queue_unexpected(q, command);
    if (take_entry(&out->v[out->n], arr->element[i]))
      return jd_queue_no_memory(q);
    out->n++;
  }
  return 0;
}

/* XREAD's answer: nil (timeout), or [[key, entries]]. */
static int take_xread(jd_live_entries *out, jd_queue *q, const redisReply *rep) {
  if (rep->type == REDIS_REPLY_NIL)
    return 0;
  if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 1 ||
      rep->element[0]->type != REDIS_REPLY_ARRAY || rep->element[0]->elements != 2)
    return jd_queue_unexpected(q, "XREAD");
  return take_entries(out, q, rep->element[0]->element[1], "XREAD");
}

int jd_queue_live_read(jd_live_entries *out, jd_queue *q, const char *task_id, const char *after,
                       size_t count, int64_t block_ms) {
  out->v = NULL;
  out->n = 0;
  char key[KEY_MAX], n[24], from[64], block[24];
  if (jd_queue_live_key(key, sizeof key, q, task_id))
    return bad_task(q, task_id);
  if (!after || !*after || strlen(after) >= 48)
    after = "0";
  snprintf(n, sizeof n, "%zu", count < 1 ? 1 : count > JD_LIVE_READ_MAX ? JD_LIVE_READ_MAX : count);
  snprintf(block, sizeof block, "%lld", (long long)(block_ms > 0 ? block_ms : 0));
  redisReply *rep = NULL;
  int rc;
  if (block_ms < 0) {
    snprintf(from, sizeof from, "%s%s", strcmp(after, "0") ? "(" : "",
             strcmp(after, "0") ? after : "-");
    const char *argv[] = {"XRANGE", key, from, "+", "COUNT", n};
    rc = jd_redis_command_argv(&rep, q->r, 0, 6, argv, NULL);
  } else if (block_ms > 0) {
    const char *argv[] = {"XREAD", "COUNT", n, "BLOCK", block, "STREAMS", key, after};
    rc = jd_redis_command_argv(&rep, q->r, (long)block_ms, 8, argv, NULL);
  } else {
    const char *argv[] = {"XREAD", "COUNT", n, "STREAMS", key, after};
    rc = jd_redis_command_argv(&rep, q->r, 0, 6, argv, NULL);
  }
  if (rc)
    return -1;
  rc = block_ms < 0 ? take_entries(out, q, rep, "XRANGE") : take_xread(out, q, rep);
  freeReplyObject(rep);
  if (rc)
    jd_live_entries_free(out);
  return rc;
}
