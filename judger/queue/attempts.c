/* Leases and attempts: renewal, release, ack, the start of an attempt and
 * its ends short of a result, progress (see queue.h and docs/queue.md).
 * The scripts are judger/queue/lua/<name>.lua (scripts.h); the keys and
 * arguments here go in the order each script names them at its top. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue/queue_internal.h"
#include "queue/scripts.h"

/* XCLAIM IDLE for a released entry: far past any lease. */
#define RELEASE_IDLE_MS "100000000000"

/* ---- leases, attempts ------------------------------------------------- */

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
    int rc = jd_queue_eval_flags(ours + off, m, q, jd_lua_renew, (int)m, keys, (int)m + 2, args);
    if (rc)
      return rc;
  }
  return 0;
}

int jd_queue_release(jd_queue *q, jd_priority p, const char *entry_id) {
  const char *keys[] = {q->stream[p]};
  const char *args[] = {q->group, q->consumer, entry_id, RELEASE_IDLE_MS};
  return jd_queue_eval(NULL, q, jd_lua_release, 1, keys, 4, args);
}

int jd_queue_ack(jd_queue *q, jd_priority p, const char *entry_id) {
  int rc = jd_redis_command(NULL, q->r, "XACK %s %s %s", q->stream[p], q->group, entry_id);
  if (!rc)
    rc = jd_redis_command(NULL, q->r, "XDEL %s %s", q->stream[p], entry_id);
  return rc;
}

static const char *const begin_names[] = {
#define JD_BEGIN_NAME(code, name, text) name,
    JD_BEGIN_MAP(JD_BEGIN_NAME)
#undef JD_BEGIN_NAME
};

const char *jd_begin_outcome_name(jd_begin_outcome o) {
  return (unsigned)o < JD_BEGIN_COUNT ? begin_names[o] : "?";
}

/* The outcome begin.lua names; -1 for a name not in JD_BEGIN_MAP. */
static int begin_outcome_of(const char *name) {
  for (int i = 0; i < JD_BEGIN_COUNT; i++)
    if (!strcmp(name, begin_names[i]))
      return i;
  return -1;
}

int jd_queue_begin(jd_begin *out, jd_queue *q, jd_priority p, const char *entry_id,
                   const char *task_id, int max_attempts) {
  memset(out, 0, sizeof *out);
  jd_task_keys k;
  jd_task_keys_of(&k, q, task_id);
  char lease[24], max[16];
  snprintf(lease, sizeof lease, "%lld", (long long)q->lease_ms);
  snprintf(max, sizeof max, "%d", max_attempts > 0 ? max_attempts : 1);
  const char *keys[] = {k.result, k.status, k.claim, q->claims, q->stream[p]};
  const char *args[] = {q->consumer, k.now,    jd_priority_name(p), entry_id, lease,
                        max,         q->group, q->prefix,           task_id};
  redisReply *rep = NULL;
  if (jd_queue_eval(&rep, q, jd_lua_begin, 5, keys, 9, args))
    return -1;
  /* {outcome name, attempt, token} */
  long long v[2] = {0};
  int o = -1;
  if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 3 && jd_reply_str(rep->element[0]) &&
      !jd_reply_int(rep->element[1], &v[0]) && !jd_reply_int(rep->element[2], &v[1]))
    o = begin_outcome_of(rep->element[0]->str);
  freeReplyObject(rep);
  if (o < 0)
    return jd_queue_unexpected(q, "EVAL begin");
  out->outcome = (jd_begin_outcome)o;
  out->attempt = (int)v[0];
  out->claim = v[1];
  return 0;
}

/* 3 + 2 keys + 1 token per claim + the lease must fit jd_queue_eval's 48
 * arguments: 14 claims use 46. */
#define CLAIM_BATCH 14

int jd_queue_renew_claims(bool *ours, bool *cancel, jd_queue *q, const char *const *task_ids,
                          const long long *claims, size_t n) {
  for (size_t off = 0; off < n; off += CLAIM_BATCH) {
    size_t m = n - off < CLAIM_BATCH ? n - off : CLAIM_BATCH;
    jd_task_keys k[CLAIM_BATCH];
    char lease[24], tok[CLAIM_BATCH][24];
    const char *keys[2 * CLAIM_BATCH], *args[CLAIM_BATCH + 1];
    snprintf(lease, sizeof lease, "%lld", (long long)q->lease_ms);
    args[0] = lease;
    for (size_t i = 0; i < m; i++) {
      jd_task_keys_of(&k[i], q, task_ids[off + i]);
      jd_claim_text(tok[i], claims[off + i]);
      keys[2 * i] = k[i].claim;
      keys[2 * i + 1] = k[i].status;
      args[1 + i] = tok[i];
    }
    long long held[CLAIM_BATCH];
    if (jd_queue_eval_ints(held, m, q, jd_lua_renew_claims, (int)(2 * m), keys, (int)m + 1, args))
      return -1;
    /* 1 held, 2 held with a cancel asked, 0 lost (renew_claims.lua). */
    for (size_t i = 0; i < m; i++) {
      ours[off + i] = held[i] != 0;
      if (cancel)
        cancel[off + i] = held[i] == 2;
    }
  }
  return 0;
}

int jd_queue_drained(jd_queue *q, jd_priority p, const char *entry_id, const char *task_id,
                     long long claim) {
  jd_task_keys k;
  jd_task_keys_of(&k, q, task_id);
  char tok[24];
  jd_claim_text(tok, claim);
  const char *keys[] = {k.result, k.status, q->stream[p], k.claim};
  const char *args[] = {q->consumer, k.now, q->group, entry_id, RELEASE_IDLE_MS, tok};
  return jd_queue_eval(NULL, q, jd_lua_drained, 4, keys, 6, args);
}

int jd_queue_retry_later(bool *held, jd_queue *q, const char *task_id, long long claim,
                         const char *error) {
  if (held)
    *held = false;
  jd_task_keys k;
  jd_task_keys_of(&k, q, task_id);
  char tok[24];
  jd_claim_text(tok, claim);
  const char *keys[] = {k.result, k.status, k.claim};
  const char *args[] = {k.now, error ? error : "", tok};
  long long n = 0;
  int rc = jd_queue_eval_int(&n, q, jd_lua_retry, 3, keys, 3, args);
  if (held)
    *held = !rc && n == 1;
  return rc;
}

int jd_queue_progress(jd_queue *q, const char *task_id, long long claim,
                      const char *progress_json) {
  jd_task_keys k;
  jd_task_keys_of(&k, q, task_id);
  char tok[24];
  jd_claim_text(tok, claim);
  const char *keys[] = {k.status, k.claim};
  const char *args[] = {progress_json, k.now, tok};
  return jd_queue_eval(NULL, q, jd_lua_progress, 2, keys, 3, args);
}

int jd_queue_holds_claim(bool *held, jd_queue *q, const char *task_id, long long claim) {
  *held = false;
  jd_task_keys k;
  jd_task_keys_of(&k, q, task_id);
  char tok[24];
  jd_claim_text(tok, claim);
  const char *keys[] = {k.claim, k.status, k.result};
  const char *args[] = {tok};
  long long n = 0;
  if (jd_queue_eval_int(&n, q, jd_lua_holds, 3, keys, 1, args))
    return -1;
  *held = n == 1;
  return 0;
}

int jd_queue_cancel_reason(char *reason, size_t len, jd_queue *q, const char *task_id) {
  if (len)
    reason[0] = '\0';
  jd_task_keys k;
  jd_task_keys_of(&k, q, task_id);
  redisReply *rep = NULL;
  if (jd_redis_command(&rep, q->r, "HGET %s cancel", k.status))
    return -1;
  if (rep->type == REDIS_REPLY_STRING && len)
    snprintf(reason, len, "%s", rep->str);
  freeReplyObject(rep);
  return 0;
}
