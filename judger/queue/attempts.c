/* Leases and attempts: renewal, release, ack, the start of an attempt and
 * its ends short of a result, progress (see queue.h and docs/queue.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue/queue_internal.h"

/* XCLAIM IDLE for a released entry: far past any lease. */
#define RELEASE_IDLE_MS "100000000000"

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
    int rc = jd_queue_eval(&rep, q, renew_lua, (int)m, keys, (int)m + 2, args);
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
  return jd_queue_eval(NULL, q, release_lua, 1, keys, 4, args);
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

int jd_queue_begin(int *attempt, jd_queue *q, jd_priority p, const char *entry_id,
                   const char *task_id) {
  *attempt = 0;
  jd_task_keys k;
  jd_task_keys_of(&k, q, task_id);
  const char *keys[] = {k.result, k.status};
  const char *args[] = {q->consumer, k.now, jd_priority_name(p), entry_id};
  redisReply *rep = NULL;
  int rc = jd_queue_eval(&rep, q, begin_lua, 2, keys, 4, args);
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
  jd_task_keys k;
  jd_task_keys_of(&k, q, task_id);
  const char *keys[] = {k.result, k.status, q->stream[p]};
  const char *args[] = {q->consumer, k.now, q->group, entry_id, RELEASE_IDLE_MS};
  return jd_queue_eval(NULL, q, drained_lua, 3, keys, 5, args);
}

/* KEYS = result key, status key; ARGV = now, error. */
static const char retry_lua[] = "if redis.call('EXISTS', KEYS[1]) == 0 then\n"
                                "  redis.call('HSET', KEYS[2], 'state', 'queued', 'last_error', "
                                "ARGV[2], 'updated_ms', ARGV[1])\n"
                                "end\n"
                                "return 1\n";

int jd_queue_retry_later(jd_queue *q, const char *task_id, const char *error) {
  jd_task_keys k;
  jd_task_keys_of(&k, q, task_id);
  const char *keys[] = {k.result, k.status};
  const char *args[] = {k.now, error ? error : ""};
  return jd_queue_eval(NULL, q, retry_lua, 2, keys, 2, args);
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
  jd_task_keys k;
  jd_task_keys_of(&k, q, task_id);
  const char *keys[] = {k.status};
  const char *args[] = {q->consumer, progress_json, k.now};
  return jd_queue_eval(NULL, q, progress_lua, 1, keys, 3, args);
}
