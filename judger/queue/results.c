/* Submitting tasks, dead letters and results written exactly once (see
 * queue.h and docs/queue.md). The scripts are judger/queue/lua/dead.lua
 * and store.lua (scripts.h): keys and arguments in the order they name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue/queue_internal.h"
#include "queue/scripts.h"

/* Results and dead letters are capped (approximately) so Redis memory stays
 * bounded; the full result.json lives in its own key. */
#define RESULTS_MAXLEN "100000"
#define DEAD_MAXLEN "10000"

/* ---- dead letters and results ----------------------------------------- */

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
                        tok,
                        q->prefix};
  long long n = 0;
  int rc = jd_queue_eval_int(&n, q, jd_lua_dead, 4, keys, 12, args);
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
                        tok,
                        q->prefix};
  redisReply *rep = NULL;
  if (jd_queue_eval(&rep, q, jd_lua_store, 5, keys, 12, args))
    return -1;
  int o = -1;
  for (int i = 0; i < JD_STORE_COUNT && jd_reply_str(rep); i++)
    if (!strcmp(rep->str, store_names[i]))
      o = i;
  freeReplyObject(rep);
  if (o < 0)
    return jd_queue_unexpected(q, "EVAL store");
  *out = (jd_store_outcome)o;
  return 0;
}

int jd_queue_get_result(char **json, jd_queue *q, const char *task_id) {
  *json = NULL;
  jd_task_keys k;
  jd_task_keys_of(&k, q, task_id);
  redisReply *rep = NULL;
  if (jd_redis_command(&rep, q->r, "GET %s", k.result))
    return -1;
  int rc = 0;
  if (rep->type == REDIS_REPLY_STRING) {
    *json = strdup(rep->str);
    if (!*json)
      rc = jd_queue_no_memory(q);
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
  if (record && jd_redis_command(NULL, q->r, "HSET %s state queued priority %s queued_ms %s",
                                 k.status, jd_priority_name(p), k.now))
    return -1;
  if (record)
    jd_queue_wrote(q);
  redisReply *rep = NULL;
  if (jd_redis_command(&rep, q->r, "XADD %s * task %s", q->stream[p], task_json))
    return -1;
  jd_queue_wrote(q);
  char entry[48];
  snprintf(entry, sizeof entry, "%s", jd_reply_str(rep) ? rep->str : "");
  freeReplyObject(rep);
  if (record && jd_redis_command(NULL, q->r, "HSET %s entry %s", k.status, entry))
    return -1;
  if (id && !(*id = strdup(entry)))
    return jd_queue_no_memory(q);
  return 0;
}
