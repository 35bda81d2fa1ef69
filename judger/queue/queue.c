/* The task queue on Redis Streams (see queue.h and docs/queue.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/clock.h"
#include "common/util.h"
#include "queue/queue.h"

#define KEY_MAX 256

struct jd_queue {
  jd_redis *r;
  char *prefix, *group, *consumer;
  int64_t lease_ms;
  char stream[JD_PRIO_COUNT][KEY_MAX];
  char dead[KEY_MAX], results[KEY_MAX], hosts[KEY_MAX];
};

static const char *const prio_names[JD_PRIO_COUNT] = {"build", "match", "auto"};

/* Results and dead letters are capped (approximately) so Redis memory stays
 * bounded; the full result.json lives in its own key. */
#define RESULTS_MAXLEN "100000"
#define DEAD_MAXLEN "10000"
/* XCLAIM IDLE for a released entry: far past any lease. */
#define RELEASE_IDLE_MS "100000000000"

const char *jd_priority_name(jd_priority p) {
  return (unsigned)p < JD_PRIO_COUNT ? prio_names[p] : "?";
}

int jd_priority_parse(jd_priority *out, const char *name) {
  for (int i = 0; i < JD_PRIO_COUNT; i++)
    if (name && !strcmp(name, prio_names[i])) {
      *out = (jd_priority)i;
      return 0;
    }
  return JD_REDIS_EINVAL;
}

int jd_queue_new(jd_queue **out, const jd_queue_opts *opts) {
  *out = NULL;
  jd_queue *q = calloc(1, sizeof *q);
  if (!q)
    return JD_REDIS_ENOMEM;
  int rc = jd_redis_new(&q->r, opts->redis_url, &opts->redis);
  if (rc) {
    free(q);
    return rc;
  }
  q->prefix = strdup(opts->prefix ? opts->prefix : "judger");
  q->group = strdup(opts->group ? opts->group : "judgers");
  q->consumer = strdup(opts->consumer ? opts->consumer : "");
  q->lease_ms = opts->lease_ms > 0 ? opts->lease_ms : 30000;
  if (!q->prefix || !q->group || !q->consumer) {
    jd_queue_free(q);
    return JD_REDIS_ENOMEM;
  }
  for (int i = 0; i < JD_PRIO_COUNT; i++)
    snprintf(q->stream[i], KEY_MAX, "%s:q:%s", q->prefix, prio_names[i]);
  snprintf(q->dead, KEY_MAX, "%s:dead", q->prefix);
  snprintf(q->results, KEY_MAX, "%s:results", q->prefix);
  snprintf(q->hosts, KEY_MAX, "%s:hosts", q->prefix);
  *out = q;
  return 0;
}

void jd_queue_free(jd_queue *q) {
  if (!q)
    return;
  jd_redis_free(q->r);
  free(q->prefix);
  free(q->group);
  free(q->consumer);
  free(q);
}

jd_redis *jd_queue_redis(jd_queue *q) { return q->r; }
int64_t jd_queue_backoff_ms(const jd_queue *q) { return jd_redis_backoff_ms(q->r); }
const char *jd_queue_error(const jd_queue *q) { return jd_redis_error(q->r); }
const char *jd_queue_stream_key(const jd_queue *q, jd_priority p) { return q->stream[p]; }
const char *jd_queue_dead_key(const jd_queue *q) { return q->dead; }
const char *jd_queue_results_key(const jd_queue *q) { return q->results; }

static void task_key(char out[KEY_MAX], const jd_queue *q, const char *task_id) {
  snprintf(out, KEY_MAX, "%s:task:%s", q->prefix, task_id);
}
static void result_key(char out[KEY_MAX], const jd_queue *q, const char *task_id) {
  snprintf(out, KEY_MAX, "%s:result:%s", q->prefix, task_id);
}
static void host_key(char out[KEY_MAX], const jd_queue *q, const char *host) {
  snprintf(out, KEY_MAX, "%s:host:%s", q->prefix, host);
}

/* Runs EVAL with the given keys and arguments (C strings). */
static int eval(redisReply **out, jd_queue *q, const char *script, int nkeys,
                const char *const *keys, int nargs, const char *const *args) {
  const char *argv[48];
  int argc = 0;
  char nk[16];
  if (3 + nkeys + nargs > (int)(sizeof argv / sizeof argv[0]))
    return JD_REDIS_EINVAL;
  snprintf(nk, sizeof nk, "%d", nkeys);
  argv[argc++] = "EVAL";
  argv[argc++] = script;
  argv[argc++] = nk;
  for (int i = 0; i < nkeys; i++)
    argv[argc++] = keys[i];
  for (int i = 0; i < nargs; i++)
    argv[argc++] = args[i] ? args[i] : "";
  return jd_redis_command_argv(out, q->r, 0, argc, argv, NULL);
}

int jd_queue_setup(jd_queue *q) {
  for (int i = 0; i < JD_PRIO_COUNT; i++) {
    int rc = jd_redis_command(NULL, q->r, "XGROUP CREATE %s %s 0 MKSTREAM", q->stream[i], q->group);
    if (rc == JD_REDIS_EREPLY && !strncmp(jd_redis_error(q->r), "BUSYGROUP", 9))
      rc = 0;
    if (rc)
      return rc;
  }
  return 0;
}

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

static int list_push(jd_entry_list *l, jd_priority p, const char *id, const redisReply *fields) {
  if (l->count == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 8;
    jd_entry *items = realloc(l->items, cap * sizeof *items);
    if (!items)
      return JD_REDIS_ENOMEM;
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
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
      const char *k = jd_reply_str(fields->element[i]);
      const redisReply *v = fields->element[i + 1];
      if (k && !strcmp(k, "task") && v->type == REDIS_REPLY_STRING) {
        e->task_json = malloc(v->len + 1);
        if (!e->task_json)
          return JD_REDIS_ENOMEM;
        memcpy(e->task_json, v->str, v->len);
        e->task_json[v->len] = '\0';
        break;
      }
    }
  }
  l->count++;
  return 0;
}

/* [[id, [f, v, ...]], ...] of one stream. */
static int push_entries(jd_entry_list *out, jd_priority p, const redisReply *arr) {
  if (!arr || arr->type != REDIS_REPLY_ARRAY)
    return JD_REDIS_EPROTO;
  for (size_t i = 0; i < arr->elements; i++) {
    const redisReply *e = arr->element[i];
    if (e->type == REDIS_REPLY_NIL)
      continue;
    if (e->type != REDIS_REPLY_ARRAY || e->elements < 1 || !jd_reply_str(e->element[0]))
      return JD_REDIS_EPROTO;
    int rc = list_push(out, p, e->element[0]->str, e->elements > 1 ? e->element[1] : NULL);
    if (rc)
      return rc;
  }
  return 0;
}

/* XREAD(GROUP) answer: nil, or [[stream, entries], ...]. */
static int push_read_reply(jd_entry_list *out, jd_queue *q, const redisReply *rep) {
  if (rep->type == REDIS_REPLY_NIL)
    return 0;
  if (rep->type != REDIS_REPLY_ARRAY)
    return JD_REDIS_EPROTO;
  for (size_t i = 0; i < rep->elements; i++) {
    const redisReply *s = rep->element[i];
    if (s->type != REDIS_REPLY_ARRAY || s->elements != 2 || !jd_reply_str(s->element[0]))
      return JD_REDIS_EPROTO;
    int p = -1;
    for (int k = 0; k < JD_PRIO_COUNT; k++)
      if (!strcmp(s->element[0]->str, q->stream[k]))
        p = k;
    if (p < 0)
      return JD_REDIS_EPROTO;
    int rc = push_entries(out, (jd_priority)p, s->element[1]);
    if (rc)
      return rc;
  }
  return 0;
}

/* Reads missing groups back into existence: Redis may have restarted
 * without its data, and the daemon must not stop on that. */
static int read_cmd(jd_entry_list *out, jd_queue *q, long block_ms, int argc, const char **argv) {
  redisReply *rep = NULL;
  int rc = jd_redis_command_argv(&rep, q->r, block_ms, argc, argv, NULL);
  if (rc == JD_REDIS_EREPLY && !strncmp(jd_redis_error(q->r), "NOGROUP", 7)) {
    rc = jd_queue_setup(q);
    if (!rc)
      rc = jd_redis_command_argv(&rep, q->r, block_ms, argc, argv, NULL);
  }
  if (rc)
    return rc;
  rc = push_read_reply(out, q, rep);
  freeReplyObject(rep);
  return rc;
}

int jd_queue_read_new(jd_entry_list *out, jd_queue *q, jd_priority p, size_t count) {
  char n[24];
  snprintf(n, sizeof n, "%zu", count ? count : 1);
  const char *argv[] = {"XREADGROUP", "GROUP",      q->group, q->consumer, "COUNT", n,
                        "STREAMS",    q->stream[p], ">"};
  return read_cmd(out, q, 0, 9, argv);
}

int jd_queue_read_own(jd_entry_list *out, jd_queue *q, jd_priority p, char after[48],
                      size_t count) {
  char n[24];
  snprintf(n, sizeof n, "%zu", count ? count : 1);
  size_t before = out->count;
  const char *argv[] = {"XREADGROUP", "GROUP",      q->group, q->consumer, "COUNT", n,
                        "STREAMS",    q->stream[p], after};
  int rc = read_cmd(out, q, 0, 9, argv);
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
    int rc = jd_redis_command_argv(&rep, q->r, 0, 8, argv, NULL);
    if (rc == JD_REDIS_EREPLY && !strncmp(jd_redis_error(q->r), "NOGROUP", 7))
      return jd_queue_setup(q);
    if (rc)
      return rc;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 2 || !jd_reply_str(rep->element[0])) {
      freeReplyObject(rep);
      return JD_REDIS_EPROTO;
    }
    size_t before = out->count;
    rc = push_entries(out, p, rep->element[1]);
    snprintf(cursor, sizeof cursor, "%s", rep->element[0]->str);
    freeReplyObject(rep);
    if (rc)
      return rc;
    size_t got = out->count - before;
    if (got >= want || !strcmp(cursor, "0-0"))
      break;
    want -= got;
  }
  return 0;
}

/* ---- leases, attempts ------------------------------------------------- */

/* KEYS[i] = stream of entry i; ARGV = group, consumer, id1, id2...
 * Renews (idle time back to 0) only the entries still pending on this
 * consumer: XCLAIM with min-idle 0 would otherwise steal an entry another
 * judger has taken over. */
static const char renew_lua[] =
    "local out = {}\n"
    "for i, key in ipairs(KEYS) do\n"
    "  local id = ARGV[i + 2]\n"
    "  local ok, p = pcall(redis.call, 'XPENDING', key, ARGV[1], id, id, 1)\n"
    "  if ok and p[1] and p[1][2] == ARGV[2] then\n"
    "    redis.call('XCLAIM', key, ARGV[1], ARGV[2], 0, id, 'JUSTID')\n"
    "    out[i] = 1\n"
    "  else\n"
    "    out[i] = 0\n"
    "  end\n"
    "end\n"
    "return out\n";

int jd_queue_renew(bool *ours, jd_queue *q, const jd_priority *prios, const char *const *ids,
                   size_t n) {
  const size_t batch = 20;
  for (size_t off = 0; off < n; off += batch) {
    size_t m = n - off < batch ? n - off : batch;
    const char *keys[20], *args[22];
    args[0] = q->group;
    args[1] = q->consumer;
    for (size_t i = 0; i < m; i++) {
      keys[i] = q->stream[prios[off + i]];
      args[2 + i] = ids[off + i];
    }
    redisReply *rep = NULL;
    int rc = eval(&rep, q, renew_lua, (int)m, keys, (int)m + 2, args);
    if (rc)
      return rc;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != m) {
      freeReplyObject(rep);
      return JD_REDIS_EPROTO;
    }
    for (size_t i = 0; i < m; i++)
      ours[off + i] = rep->element[i]->type == REDIS_REPLY_INTEGER && rep->element[i]->integer;
    freeReplyObject(rep);
  }
  return 0;
}

/* KEYS = stream; ARGV = group, consumer, id, idle. */
static const char release_lua[] =
    "local ok, p = pcall(redis.call, 'XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)\n"
    "if ok and p[1] and p[1][2] == ARGV[2] then\n"
    "  redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'IDLE', ARGV[4], 'JUSTID')\n"
    "  return 1\n"
    "end\n"
    "return 0\n";

int jd_queue_release(jd_queue *q, jd_priority p, const char *entry_id) {
  const char *keys[] = {q->stream[p]};
  const char *args[] = {q->group, q->consumer, entry_id, RELEASE_IDLE_MS};
  return eval(NULL, q, release_lua, 1, keys, 4, args);
}

int jd_queue_ack(jd_queue *q, jd_priority p, const char *entry_id) {
  int rc = jd_redis_command(NULL, q->r, "XACK %s %s %s", q->stream[p], q->group, entry_id);
  if (!rc)
    rc = jd_redis_command(NULL, q->r, "XDEL %s %s", q->stream[p], entry_id);
  return rc;
}

/* KEYS = result key, status key; ARGV = host, now, stream name, entry id.
 * Atomic, so a task whose result lands between the check and the update
 * is never shown as running again. */
static const char begin_lua[] =
    "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end\n"
    "local n = redis.call('HINCRBY', KEYS[2], 'attempts', 1)\n"
    "redis.call('HSET', KEYS[2], 'state', 'running', 'host', ARGV[1], 'attempt', n,\n"
    "  'started_ms', ARGV[2], 'updated_ms', ARGV[2], 'stream', ARGV[3], 'entry', ARGV[4],\n"
    "  'progress', '')\n"
    "redis.call('HDEL', KEYS[2], 'drained_by')\n"
    "return n\n";

static void now_str(char out[24]) { snprintf(out, 24, "%lld", (long long)jd_unix_ms()); }

int jd_queue_begin(int *attempt, jd_queue *q, jd_priority p, const char *entry_id,
                   const char *task_id) {
  *attempt = 0;
  char rk[KEY_MAX], tk[KEY_MAX], now[24];
  result_key(rk, q, task_id);
  task_key(tk, q, task_id);
  now_str(now);
  const char *keys[] = {rk, tk};
  const char *args[] = {q->consumer, now, prio_names[p], entry_id};
  redisReply *rep = NULL;
  int rc = eval(&rep, q, begin_lua, 2, keys, 4, args);
  if (rc)
    return rc;
  long long n = 0;
  rc = jd_reply_int(rep, &n) ? JD_REDIS_EPROTO : 0;
  freeReplyObject(rep);
  *attempt = (int)n;
  return rc;
}

/* KEYS = result key, status key, stream; ARGV = host, now, group, id, idle. */
static const char drained_lua[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then\n"
    "  if tonumber(redis.call('HGET', KEYS[2], 'attempts') or '0') > 0 then\n"
    "    redis.call('HINCRBY', KEYS[2], 'attempts', -1)\n"
    "  end\n"
    "  redis.call('HSET', KEYS[2], 'state', 'queued', 'drained_by', ARGV[1], 'updated_ms', "
    "ARGV[2])\n"
    "end\n"
    "local ok, p = pcall(redis.call, 'XPENDING', KEYS[3], ARGV[3], ARGV[4], ARGV[4], 1)\n"
    "if ok and p[1] and p[1][2] == ARGV[1] then\n"
    "  redis.call('XCLAIM', KEYS[3], ARGV[3], ARGV[1], 0, ARGV[4], 'IDLE', ARGV[5], 'JUSTID')\n"
    "end\n"
    "return 1\n";

int jd_queue_drained(jd_queue *q, jd_priority p, const char *entry_id, const char *task_id) {
  char rk[KEY_MAX], tk[KEY_MAX], now[24];
  result_key(rk, q, task_id);
  task_key(tk, q, task_id);
  now_str(now);
  const char *keys[] = {rk, tk, q->stream[p]};
  const char *args[] = {q->consumer, now, q->group, entry_id, RELEASE_IDLE_MS};
  return eval(NULL, q, drained_lua, 3, keys, 5, args);
}

/* KEYS = result key, status key; ARGV = now, error. */
static const char retry_lua[] = "if redis.call('EXISTS', KEYS[1]) == 0 then\n"
                                "  redis.call('HSET', KEYS[2], 'state', 'queued', 'last_error', "
                                "ARGV[2], 'updated_ms', ARGV[1])\n"
                                "end\n"
                                "return 1\n";

int jd_queue_retry_later(jd_queue *q, const char *task_id, const char *error) {
  char rk[KEY_MAX], tk[KEY_MAX], now[24];
  result_key(rk, q, task_id);
  task_key(tk, q, task_id);
  now_str(now);
  const char *keys[] = {rk, tk};
  const char *args[] = {now, error ? error : ""};
  return eval(NULL, q, retry_lua, 2, keys, 2, args);
}

/* Only while running: a late progress write must not resurrect the record
 * of a finished task. KEYS = status key; ARGV = host, progress, now. */
static const char progress_lua[] =
    "if redis.call('HGET', KEYS[1], 'state') == 'running' and\n"
    "   redis.call('HGET', KEYS[1], 'host') == ARGV[1] then\n"
    "  redis.call('HSET', KEYS[1], 'progress', ARGV[2], 'updated_ms', ARGV[3])\n"
    "  return 1\n"
    "end\n"
    "return 0\n";

int jd_queue_progress(jd_queue *q, const char *task_id, const char *progress_json) {
  char tk[KEY_MAX], now[24];
  task_key(tk, q, task_id);
  now_str(now);
  const char *keys[] = {tk};
  const char *args[] = {q->consumer, progress_json, now};
  return eval(NULL, q, progress_lua, 1, keys, 3, args);
}

/* ---- dead letters and results ----------------------------------------- */

/* KEYS = dead stream, status key (or ""), source stream;
 * ARGV = group, entry id, task id, reason, attempts, host, task, now,
 *        priority, maxlen. */
static const char dead_lua[] =
    "redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[10], '*', 'task_id', ARGV[3],\n"
    "  'priority', ARGV[9], 'entry_id', ARGV[2], 'reason', ARGV[4], 'attempts', ARGV[5],\n"
    "  'host', ARGV[6], 'time_ms', ARGV[8], 'task', ARGV[7])\n"
    "if ARGV[3] ~= '' then\n"
    "  redis.call('HSET', KEYS[2], 'state', 'dead', 'reason', ARGV[4], 'host', ARGV[6],\n"
    "    'updated_ms', ARGV[8])\n"
    "end\n"
    "pcall(redis.call, 'XACK', KEYS[3], ARGV[1], ARGV[2])\n"
    "redis.call('XDEL', KEYS[3], ARGV[2])\n"
    "return 1\n";

int jd_queue_dead(jd_queue *q, const jd_entry *e, const char *task_id, const char *reason,
                  int attempts) {
  char tk[KEY_MAX], now[24], att[16];
  task_key(tk, q, task_id && *task_id ? task_id : "-");
  now_str(now);
  snprintf(att, sizeof att, "%d", attempts);
  const char *keys[] = {q->dead, tk, q->stream[e->prio]};
  const char *args[] = {q->group,
                        e->id,
                        task_id ? task_id : "",
                        reason,
                        att,
                        q->consumer,
                        e->task_json ? e->task_json : "",
                        now,
                        prio_names[e->prio],
                        DEAD_MAXLEN};
  return eval(NULL, q, dead_lua, 3, keys, 10, args);
}

/* KEYS = result key, results stream, status key, source stream;
 * ARGV = result, task id, attempt, host, status, summary, group, entry id,
 *        now, maxlen. */
static const char store_lua[] =
    "local written = 0\n"
    "if redis.call('SET', KEYS[1], ARGV[1], 'NX') then\n"
    "  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[10], '*', 'task_id', ARGV[2],\n"
    "    'attempt', ARGV[3], 'host', ARGV[4], 'status', ARGV[5], 'summary', ARGV[6])\n"
    "  redis.call('HSET', KEYS[3], 'state', 'finished', 'status', ARGV[5], 'host', ARGV[4],\n"
    "    'attempt', ARGV[3], 'summary', ARGV[6], 'finished_ms', ARGV[9], 'updated_ms', ARGV[9])\n"
    "  written = 1\n"
    "end\n"
    "if ARGV[8] ~= '' then\n"
    "  pcall(redis.call, 'XACK', KEYS[4], ARGV[7], ARGV[8])\n"
    "  redis.call('XDEL', KEYS[4], ARGV[8])\n"
    "end\n"
    "return written\n";

int jd_queue_store_result(bool *written, jd_queue *q, jd_priority p, const char *entry_id,
                          const jd_result_rec *rec) {
  *written = false;
  char rk[KEY_MAX], tk[KEY_MAX], now[24], att[16];
  result_key(rk, q, rec->task_id);
  task_key(tk, q, rec->task_id);
  now_str(now);
  snprintf(att, sizeof att, "%d", rec->attempt);
  const char *keys[] = {rk, q->results, tk, q->stream[p]};
  const char *args[] = {rec->json,
                        rec->task_id,
                        att,
                        q->consumer,
                        jd_task_status_name(rec->status),
                        rec->summary ? rec->summary : "",
                        q->group,
                        entry_id ? entry_id : "",
                        now,
                        RESULTS_MAXLEN};
  redisReply *rep = NULL;
  int rc = eval(&rep, q, store_lua, 4, keys, 10, args);
  if (rc)
    return rc;
  long long n = 0;
  rc = jd_reply_int(rep, &n) ? JD_REDIS_EPROTO : 0;
  freeReplyObject(rep);
  *written = n == 1;
  return rc;
}

int jd_queue_get_result(char **json, jd_queue *q, const char *task_id) {
  *json = NULL;
  char rk[KEY_MAX];
  result_key(rk, q, task_id);
  redisReply *rep = NULL;
  int rc = jd_redis_command(&rep, q->r, "GET %s", rk);
  if (rc)
    return rc;
  if (rep->type == REDIS_REPLY_STRING) {
    *json = strdup(rep->str);
    if (!*json)
      rc = JD_REDIS_ENOMEM;
  }
  freeReplyObject(rep);
  return rc;
}

int jd_queue_submit(char **id, jd_queue *q, jd_priority p, const char *task_id,
                    const char *task_json) {
  if (id)
    *id = NULL;
  redisReply *rep = NULL;
  int rc = jd_redis_command(&rep, q->r, "XADD %s * task %s", q->stream[p], task_json);
  if (rc)
    return rc;
  char entry[48];
  snprintf(entry, sizeof entry, "%s", jd_reply_str(rep) ? rep->str : "");
  freeReplyObject(rep);
  if (task_id && *task_id) {
    char tk[KEY_MAX], now[24];
    task_key(tk, q, task_id);
    now_str(now);
    rc = jd_redis_command(NULL, q->r, "HSET %s state queued priority %s entry %s queued_ms %s", tk,
                          prio_names[p], entry, now);
    if (rc)
      return rc;
  }
  if (id && !(*id = strdup(entry)))
    return JD_REDIS_ENOMEM;
  return 0;
}

/* ---- hosts -------------------------------------------------------------- */

int jd_queue_heartbeat(jd_queue *q, const char *info_json, int64_t ttl_ms) {
  char hk[KEY_MAX];
  host_key(hk, q, q->consumer);
  int rc = jd_redis_command(NULL, q->r, "SET %s %s PX %lld", hk, info_json, (long long)ttl_ms);
  if (!rc)
    rc = jd_redis_command(NULL, q->r, "SADD %s %s", q->hosts, q->consumer);
  return rc;
}

int jd_queue_host_gone(jd_queue *q) {
  char hk[KEY_MAX];
  host_key(hk, q, q->consumer);
  int rc = jd_redis_command(NULL, q->r, "DEL %s", hk);
  if (!rc)
    rc = jd_redis_command(NULL, q->r, "SREM %s %s", q->hosts, q->consumer);
  return rc;
}

static void strv_free(char **v) {
  if (!v)
    return;
  for (char **p = v; *p; p++)
    free(*p);
  free(v);
}

/* Members of the hosts set and, for each, its heartbeat (or nil). */
static int hosts_with_info(redisReply **members, redisReply ***infos, jd_queue *q) {
  *members = NULL;
  *infos = NULL;
  int rc = jd_redis_command(members, q->r, "SMEMBERS %s", q->hosts);
  if (rc)
    return rc;
  if ((*members)->type != REDIS_REPLY_ARRAY) {
    freeReplyObject(*members);
    *members = NULL;
    return JD_REDIS_EPROTO;
  }
  size_t n = (*members)->elements;
  *infos = calloc(n + 1, sizeof **infos);
  if (!*infos)
    return JD_REDIS_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    char hk[KEY_MAX];
    const char *h = jd_reply_str((*members)->element[i]);
    host_key(hk, q, h ? h : "");
    rc = jd_redis_command(&(*infos)[i], q->r, "GET %s", hk);
    if (rc)
      return rc;
  }
  return 0;
}

static void free_infos(redisReply *members, redisReply **infos) {
  if (infos && members)
    for (size_t i = 0; i < members->elements; i++)
      if (infos[i])
        freeReplyObject(infos[i]);
  free(infos);
  if (members)
    freeReplyObject(members);
}

int jd_queue_dead_hosts(char ***out, jd_queue *q) {
  *out = NULL;
  redisReply *members = NULL, **infos = NULL;
  int rc = hosts_with_info(&members, &infos, q);
  char **v = NULL;
  if (rc)
    goto cleanup;
  v = calloc(members->elements + 1, sizeof *v);
  if (!v) {
    rc = JD_REDIS_ENOMEM;
    goto cleanup;
  }
  size_t k = 0;
  for (size_t i = 0; i < members->elements; i++) {
    const char *h = jd_reply_str(members->element[i]);
    if (h && infos[i]->type == REDIS_REPLY_NIL && strcmp(h, q->consumer)) {
      if (!(v[k++] = strdup(h))) {
        rc = JD_REDIS_ENOMEM;
        goto cleanup;
      }
    }
  }
  *out = v;
  v = NULL;
cleanup:
  strv_free(v);
  free_infos(members, infos);
  return rc;
}

/* ---- status ------------------------------------------------------------- */

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
    int rc = jd_redis_command(&rep, q->r, "XLEN %s", q->stream[i]);
    if (rc)
      return rc;
    jd_reply_int(rep, &len);
    freeReplyObject(rep);
    rc = jd_redis_command(&rep, q->r, "XPENDING %s %s", q->stream[i], q->group);
    if (rc == JD_REDIS_EREPLY) /* no group yet: nothing pending */
      rc = 0;
    else if (rc)
      return rc;
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
          json_object_object_add(h, prio_names[i], json_object_new_int64(cn));
        }
    }
    if (rep)
      freeReplyObject(rep);
    json_object *s = json_object_new_object();
    /* Acked entries are deleted, so the stream holds waiting + pending. */
    json_object_object_add(s, "waiting", json_object_new_int64(len - pending));
    json_object_object_add(s, "pending", json_object_new_int64(pending));
    json_object_object_add(s, "length", json_object_new_int64(len));
    json_object_object_add(streams, prio_names[i], s);
  }
  return 0;
}

static int status_hosts(json_object *root, jd_queue *q) {
  redisReply *members = NULL, **infos = NULL;
  int rc = hosts_with_info(&members, &infos, q);
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
  free_infos(members, infos);
  return rc;
}

static int status_dead(json_object *root, jd_queue *q, size_t dead_max) {
  json_object *dead = json_object_new_array();
  json_object_object_add(root, "dead", dead);
  redisReply *rep = NULL;
  long long len = 0;
  int rc = jd_redis_command(&rep, q->r, "XLEN %s", q->dead);
  if (rc)
    return rc;
  jd_reply_int(rep, &len);
  freeReplyObject(rep);
  json_object_object_add(root, "dead_total", json_object_new_int64(len));
  char count[24];
  snprintf(count, sizeof count, "%zu", dead_max ? dead_max : 1);
  rc = jd_redis_command(&rep, q->r, "XREVRANGE %s + - COUNT %s", q->dead, count);
  if (rc)
    return rc;
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
      rc = JD_REDIS_ENOMEM;
  }
  json_object_put(root);
  return rc;
}

int jd_queue_task_json(char **out, bool *found, jd_queue *q, const char *task_id) {
  *out = NULL;
  *found = false;
  char tk[KEY_MAX];
  task_key(tk, q, task_id);
  redisReply *rep = NULL;
  int rc = jd_redis_command(&rep, q->r, "HGETALL %s", tk);
  if (rc)
    return rc;
  json_object *o = json_object_new_object();
  json_object *rec = flat_to_object(rep);
  freeReplyObject(rep);
  json_object_object_add(o, "task_id", json_object_new_string(task_id));
  *found = json_object_object_length(rec) > 0;
  json_object_object_add(o, "status", rec);
  char *result = NULL;
  rc = jd_queue_get_result(&result, q, task_id);
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
      rc = JD_REDIS_ENOMEM;
  }
  json_object_put(o);
  return rc;
}
