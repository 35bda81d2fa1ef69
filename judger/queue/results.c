/* Submitting tasks, dead letters and results written exactly once (see
 * queue.h and docs/queue.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue/queue_internal.h"

/* Results and dead letters are capped (approximately) so Redis memory stays
 * bounded; the full result.json lives in its own key. */
#define RESULTS_MAXLEN "100000"
#define DEAD_MAXLEN "10000"

/* ---- dead letters and results ----------------------------------------- */

/* KEYS = dead stream, status key (or ""), source stream, claim key;
 * ARGV = group, entry id, task id, reason, attempts, host, task, now,
 *        priority, maxlen, token ("" for an entry that never ran). */
static const char dead_lua[] = JD_CLAIM_HOLDS_LUA
    "if ARGV[11] ~= '' then\n"
    "  if not holds(KEYS[4], KEYS[2], ARGV[11]) then return 0 end\n"
    "  redis.call('DEL', KEYS[4])\n"
    "  redis.call('HSET', KEYS[2], 'claim', '')\n"
    "end\n"
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

int jd_queue_dead(bool *held, jd_queue *q, const jd_entry *e, const char *task_id, long long claim,
                  const char *reason, int attempts) {
  if (held)
    *held = false;
  char att[16], tok[24];
  jd_task_keys k;
  jd_task_keys_of(&k, q, task_id && *task_id ? task_id : "-");
  snprintf(att, sizeof att, "%d", attempts);
  jd_claim_text(tok, claim);
  const char *keys[] = {q->dead, k.status, q->stream[e->prio], k.claim};
  const char *args[] = {q->group,
                        e->id,
                        task_id ? task_id : "",
                        reason,
                        att,
                        q->consumer,
                        e->task_json ? e->task_json : "",
                        k.now,
                        jd_priority_name(e->prio),
                        DEAD_MAXLEN,
                        tok};
  long long n = 0;
  int rc = jd_queue_eval_int(&n, q, dead_lua, 4, keys, 11, args);
  if (held)
    *held = !rc && n == 1;
  return rc;
}

static const char *const store_names[] = {
#define JD_STORE_NAME(code, name, text) name,
    JD_STORE_MAP(JD_STORE_NAME)
#undef JD_STORE_NAME
};

const char *jd_store_outcome_name(jd_store_outcome o) {
  return (unsigned)o < JD_STORE_COUNT ? store_names[o] : "?";
}

/* KEYS = result key, results stream, status key, source stream, claim key;
 * ARGV = result, task id, attempt, host, status, summary, group, entry id,
 *        now, maxlen, token. Returns a jd_store_outcome. */
static const char store_lua[] = JD_CLAIM_HOLDS_LUA
    "if redis.call('EXISTS', KEYS[1]) == 0 and not holds(KEYS[5], KEYS[3], ARGV[11]) then\n"
    "  return 2\n"
    "end\n"
    "local out = 1\n"
    "if redis.call('SET', KEYS[1], ARGV[1], 'NX') then\n"
    "  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[10], '*', 'task_id', ARGV[2],\n"
    "    'attempt', ARGV[3], 'host', ARGV[4], 'status', ARGV[5], 'summary', ARGV[6])\n"
    "  redis.call('HSET', KEYS[3], 'state', 'finished', 'status', ARGV[5], 'host', ARGV[4],\n"
    "    'attempt', ARGV[3], 'summary', ARGV[6], 'finished_ms', ARGV[9], 'updated_ms', ARGV[9],\n"
    "    'claim', '')\n"
    "  redis.call('DEL', KEYS[5])\n"
    "  out = 0\n"
    "end\n"
    "if ARGV[8] ~= '' then\n"
    "  pcall(redis.call, 'XACK', KEYS[4], ARGV[7], ARGV[8])\n"
    "  redis.call('XDEL', KEYS[4], ARGV[8])\n"
    "end\n"
    "return out\n";

int jd_queue_store_result(jd_store_outcome *out, jd_queue *q, jd_priority p, const char *entry_id,
                          const jd_result_rec *rec) {
  *out = JD_STORE_REFUSED;
  char att[16], tok[24];
  jd_task_keys k;
  jd_task_keys_of(&k, q, rec->task_id);
  snprintf(att, sizeof att, "%d", rec->attempt);
  jd_claim_text(tok, rec->claim);
  const char *keys[] = {k.result, q->results, k.status, q->stream[p], k.claim};
  const char *args[] = {rec->json,
                        rec->task_id,
                        att,
                        q->consumer,
                        jd_task_status_name(rec->status),
                        rec->summary ? rec->summary : "",
                        q->group,
                        entry_id ? entry_id : "",
                        k.now,
                        RESULTS_MAXLEN,
                        tok};
  long long n = 0;
  int rc = jd_queue_eval_int(&n, q, store_lua, 5, keys, 11, args);
  if (!rc && (n < 0 || n >= JD_STORE_COUNT))
    rc = JD_REDIS_EPROTO;
  if (!rc)
    *out = (jd_store_outcome)n;
  return rc;
}

int jd_queue_get_result(char **json, jd_queue *q, const char *task_id) {
  *json = NULL;
  jd_task_keys k;
  jd_task_keys_of(&k, q, task_id);
  redisReply *rep = NULL;
  int rc = jd_redis_command(&rep, q->r, "GET %s", k.result);
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
  jd_task_keys k;
  bool record = task_id && *task_id;
  if (record)
    jd_task_keys_of(&k, q, task_id);
  /* The status record says queued before the entry exists: written after
   * it, it overwrote the `running` of a daemon that had taken the entry in
   * between. The entry id is added once known (that field alone). */
  int rc = record ? jd_redis_command(NULL, q->r, "HSET %s state queued priority %s queued_ms %s",
                                     k.status, jd_priority_name(p), k.now)
                  : 0;
  if (rc)
    return rc;
  redisReply *rep = NULL;
  rc = jd_redis_command(&rep, q->r, "XADD %s * task %s", q->stream[p], task_json);
  if (rc)
    return rc;
  char entry[48];
  snprintf(entry, sizeof entry, "%s", jd_reply_str(rep) ? rep->str : "");
  freeReplyObject(rep);
  if (record) {
    rc = jd_redis_command(NULL, q->r, "HSET %s entry %s", k.status, entry);
    if (rc)
      return rc;
  }
  if (id && !(*id = strdup(entry)))
    return JD_REDIS_ENOMEM;
  return 0;
}
