/* Stream entries handed to this consumer: new ones, its own pending ones,
 * blocking reads and claims of expired leases (see queue.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue/queue_internal.h"

/* ---- entries ---------------------------------------------------------- */

void jd_entry_list_clear(jd_entry_list *l) {
  for (size_t i = 0; i < l->count; i++)
    free(l->items[i].task_json);
  free(l->items);
  l->items = NULL;
  l->count = l->cap = 0;
}

void jd_entry_list_take(jd_entry_list *l, size_t i, jd_entry *out) {
  *out = l->items[i];
  memmove(&l->items[i], &l->items[i + 1], (l->count - i - 1) * sizeof *l->items);
  l->count--;
}

/* Appends entry id with its fields; 0, or -1 out of memory. */
static int list_push(jd_entry_list *l, jd_priority p, const char *id, const redisReply *fields,
                     size_t max_bytes) {
  if (l->count == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 8;
    jd_entry *items = realloc(l->items, cap * sizeof *items);
    if (!items)
      return -1;
    l->items = items;
    l->cap = cap;
  }
  jd_entry *e = &l->items[l->count];
  memset(e, 0, sizeof *e);
  e->prio = p;
  snprintf(e->id, sizeof e->id, "%s", id);
  if (!fields || fields->type != REDIS_REPLY_ARRAY) {
    e->deleted = true;
  } else {
    bool have = false;
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
      const char *k = jd_reply_str(fields->element[i]);
      const redisReply *v = fields->element[i + 1];
      if (k && !strcmp(k, "task_id") && v->type == REDIS_REPLY_STRING && jd_task_id_valid(v->str)) {
        snprintf(e->task_id, sizeof e->task_id, "%s", v->str);
        continue;
      }
      /* "task": one task; "taskset": a whole set (docs/tasksets.md). */
      bool set = k && !strcmp(k, "taskset");
      if (have || !k || (!set && strcmp(k, "task")) || v->type != REDIS_REPLY_STRING)
        continue;
      have = true;
      e->taskset = set;
      e->task_len = v->len;
      /* Past the cap the text is not kept: the reply is freed at once,
       * so a huge entry costs memory only while it is read. */
      e->too_big = v->len > max_bytes;
      if (e->too_big)
        continue;
      e->task_json = malloc(v->len + 1);
      if (!e->task_json)
        return -1;
      memcpy(e->task_json, v->str, v->len);
      e->task_json[v->len] = '\0';
    }
  }
  l->count++;
  return 0;
}

/* [[id, [f, v, ...]], ...] of one stream. */
static int push_entries(jd_entry_list *out, jd_queue *q, jd_priority p, const char *command,
                        const redisReply *arr) {
  if (!arr || arr->type != REDIS_REPLY_ARRAY)
    return jd_queue_unexpected(q, command);
  for (size_t i = 0; i < arr->elements; i++) {
    const redisReply *e = arr->element[i];
    if (e->type == REDIS_REPLY_NIL)
      continue;
    if (e->type != REDIS_REPLY_ARRAY || e->elements < 1 || !jd_reply_str(e->element[0]))
      return jd_queue_unexpected(q, command);
    if (list_push(out, p, e->element[0]->str, e->elements > 1 ? e->element[1] : NULL,
                  q->entry_max_bytes))
      return jd_queue_no_memory(q);
  }
  return 0;
}

/* XREAD(GROUP) answer: nil, or [[stream, entries], ...]. */
static int push_read_reply(jd_entry_list *out, jd_queue *q, const redisReply *rep) {
  if (rep->type == REDIS_REPLY_NIL)
    return 0;
  if (rep->type != REDIS_REPLY_ARRAY)
    return jd_queue_unexpected(q, "XREADGROUP");
  for (size_t i = 0; i < rep->elements; i++) {
    const redisReply *s = rep->element[i];
    if (s->type != REDIS_REPLY_ARRAY || s->elements != 2 || !jd_reply_str(s->element[0]))
      return jd_queue_unexpected(q, "XREADGROUP");
    int p = -1;
    for (int k = 0; k < JD_PRIO_COUNT; k++)
      if (!strcmp(s->element[0]->str, q->stream[k]))
        p = k;
    if (p < 0)
      return jd_queue_unexpected(q, "XREADGROUP");
    if (push_entries(out, q, (jd_priority)p, "XREADGROUP", s->element[1]))
      return -1;
  }
  return 0;
}

/* Reads missing groups back into existence: Redis may have restarted
 * without its data, and the daemon must not stop on that. */
static int read_cmd(jd_entry_list *out, jd_queue *q, long block_ms, int argc, const char **argv) {
  redisReply *rep = NULL;
  int rc = jd_redis_command_argv(&rep, q->r, block_ms, argc, argv, NULL);
  /* NOGROUP: the consumer group is gone (Redis restarted without its data). */
  if (rc && jd_queue_replied(q, "NOGROUP")) {
    rc = jd_queue_setup(q);
    if (!rc)
      rc = jd_redis_command_argv(&rep, q->r, block_ms, argc, argv, NULL);
  }
  if (rc)
    return -1;
  rc = push_read_reply(out, q, rep);
  freeReplyObject(rep);
  return rc;
}

/* XREADGROUP of one stream without blocking: from ">" (new entries) or
 * after an id (this consumer's pending ones). */
static int read_one(jd_entry_list *out, jd_queue *q, jd_priority p, const char *from,
                    size_t count) {
  char n[24];
  snprintf(n, sizeof n, "%zu", count ? count : 1);
  const char *argv[] = {"XREADGROUP", "GROUP",      q->group, q->consumer, "COUNT", n,
                        "STREAMS",    q->stream[p], from};
  return read_cmd(out, q, 0, 9, argv);
}

int jd_queue_read_new(jd_entry_list *out, jd_queue *q, jd_priority p, size_t count) {
  return read_one(out, q, p, ">", count);
}

int jd_queue_read_own(jd_entry_list *out, jd_queue *q, jd_priority p, char after[48],
                      size_t count) {
  size_t before = out->count;
  int rc = read_one(out, q, p, after, count);
  if (!rc && out->count > before)
    snprintf(after, 48, "%s", out->items[out->count - 1].id);
  return rc;
}

int jd_queue_read_block(jd_entry_list *out, jd_queue *q, size_t count, long block_ms) {
  char n[24], b[24];
  snprintf(n, sizeof n, "%zu", count ? count : 1);
  snprintf(b, sizeof b, "%ld", block_ms > 0 ? block_ms : 1);
  const char *argv[] = {"XREADGROUP", "GROUP", q->group,  q->consumer,  "COUNT",      n,
                        "BLOCK",      b,       "STREAMS", q->stream[0], q->stream[1], q->stream[2],
                        ">",          ">",     ">"};
  return read_cmd(out, q, block_ms, 15, argv);
}

int jd_queue_autoclaim(jd_entry_list *out, jd_queue *q, jd_priority p, size_t count) {
  char idle[24], n[24], cursor[48] = "0-0";
  snprintf(idle, sizeof idle, "%lld", (long long)q->lease_ms);
  size_t want = count ? count : 1;
  /* XAUTOCLAIM scans a bounded part of the pending list per call: follow
   * the cursor until enough entries were claimed or the list ends. */
  for (int round = 0; round < 16; round++) {
    snprintf(n, sizeof n, "%zu", want);
    const char *argv[] = {"XAUTOCLAIM", q->stream[p], q->group, q->consumer,
                          idle,         cursor,       "COUNT",  n};
    redisReply *rep = NULL;
    if (jd_redis_command_argv(&rep, q->r, 0, 8, argv, NULL))
      return jd_queue_replied(q, "NOGROUP") ? jd_queue_setup(q) : -1;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 2 || !jd_reply_str(rep->element[0])) {
      freeReplyObject(rep);
      return jd_queue_unexpected(q, "XAUTOCLAIM");
    }
    size_t before = out->count;
    int rc = push_entries(out, q, p, "XAUTOCLAIM", rep->element[1]);
    snprintf(cursor, sizeof cursor, "%s", rep->element[0]->str);
    freeReplyObject(rep);
    if (rc)
      return -1;
    size_t got = out->count - before;
    if (got >= want || !strcmp(cursor, "0-0"))
      break;
    want -= got;
  }
  return 0;
}

/* The group's last-delivered-id on stream p into last ("" without a
 * group or stream: nothing to peek there). */
static int last_delivered(char last[48], jd_queue *q, jd_priority p) {
  last[0] = '\0';
  const char *argv[] = {"XINFO", "GROUPS", q->stream[p]};
  redisReply *rep = NULL;
  if (jd_redis_command_argv(&rep, q->r, 0, 3, argv, NULL))
    return jd_queue_replied(q, "ERR") ? 0 : -1; /* no such key: an empty stream */
  int rc = rep->type == REDIS_REPLY_ARRAY ? 0 : jd_queue_unexpected(q, "XINFO");
  for (size_t g = 0; !rc && g < rep->elements; g++) {
    const redisReply *f = rep->element[g];
    const char *name = NULL, *id = NULL;
    for (size_t i = 0; f->type == REDIS_REPLY_ARRAY && i + 1 < f->elements; i += 2) {
      const char *k = jd_reply_str(f->element[i]);
      if (k && !strcmp(k, "name"))
        name = jd_reply_str(f->element[i + 1]);
      else if (k && !strcmp(k, "last-delivered-id"))
        id = jd_reply_str(f->element[i + 1]);
    }
    if (name && id && !strcmp(name, q->group))
      snprintf(last, 48, "%s", id);
  }
  freeReplyObject(rep);
  return rc;
}

/* The first entry of stream p after id `last` (exclusive), if any. */
static int first_after(jd_entry_list *out, jd_queue *q, jd_priority p, const char *last) {
  char start[52];
  snprintf(start, sizeof start, "(%s", last);
  const char *argv[] = {"XRANGE", q->stream[p], start, "+", "COUNT", "1"};
  redisReply *rep = NULL;
  if (jd_redis_command_argv(&rep, q->r, 0, 6, argv, NULL))
    return -1;
  int rc = push_entries(out, q, p, "XRANGE", rep);
  freeReplyObject(rep);
  return rc;
}

int jd_queue_peek_next(jd_entry *out, bool *found, jd_queue *q) {
  memset(out, 0, sizeof *out);
  *found = false;
  for (int p = 0; p < JD_PRIO_COUNT; p++) {
    char last[48];
    jd_entry_list l = {0};
    if (last_delivered(last, q, (jd_priority)p))
      return -1;
    if (!*last)
      continue;
    if (first_after(&l, q, (jd_priority)p, last)) {
      jd_entry_list_clear(&l);
      return -1;
    }
    if (l.count) {
      jd_entry_list_take(&l, 0, out);
      *found = true;
    }
    jd_entry_list_clear(&l);
    if (*found)
      return 0;
  }
  return 0;
}

int jd_queue_delivered_here(bool *here, jd_queue *q, jd_priority p, const char *id) {
  *here = false;
  const char *argv[] = {"XPENDING", q->stream[p], q->group, id, id, "1"};
  redisReply *rep = NULL;
  if (jd_redis_command_argv(&rep, q->r, 0, 6, argv, NULL))
    return jd_queue_replied(q, "NOGROUP") ? 0 : -1;
  int rc = rep->type == REDIS_REPLY_ARRAY ? 0 : jd_queue_unexpected(q, "XPENDING");
  if (!rc && rep->elements == 1) {
    const redisReply *e = rep->element[0];
    const char *who =
        e->type == REDIS_REPLY_ARRAY && e->elements >= 2 ? jd_reply_str(e->element[1]) : NULL;
    *here = who && !strcmp(who, q->consumer);
  }
  freeReplyObject(rep);
  return rc;
}
