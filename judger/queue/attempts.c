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
    int rc = jd_queue_eval_flags(ours + off, m, q, renew_lua, (int)m, keys, (int)m + 2, args);
    if (rc)
      return rc;
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

static const char *const begin_names[] = {
#define JD_BEGIN_NAME(code, name, text) name,
    JD_BEGIN_MAP(JD_BEGIN_NAME)
#undef JD_BEGIN_NAME
};

const char *jd_begin_outcome_name(jd_begin_outcome o) {
  return (unsigned)o < JD_BEGIN_COUNT ? begin_names[o] : "?";
}

/* KEYS = result key, status key, claim key, claims counter;
 * ARGV = host, now, stream name, entry id, lease ms, max attempts.
 * Returns {outcome, attempt, token}. Atomic: a result that lands between
 * the check and the update, or a second entry of the task taken by another
 * slot or host at the same moment, can never start a second run. */
static const char begin_lua[] =
    "if redis.call('EXISTS', KEYS[1]) == 1 then return {1, 0, 0} end\n"
    "if redis.call('EXISTS', KEYS[3]) == 1 then\n"
    "  if redis.call('HGET', KEYS[2], 'entry') == ARGV[4] then return {3, 0, 0} end\n"
    "  return {2, 0, 0}\n"
    "end\n"
    "local n = tonumber(redis.call('HGET', KEYS[2], 'attempts') or '0')\n"
    "if n >= tonumber(ARGV[6]) then return {4, n, 0} end\n"
    "local tok = redis.call('INCR', KEYS[4])\n"
    "redis.call('SET', KEYS[3], tok, 'PX', ARGV[5])\n"
    "n = redis.call('HINCRBY', KEYS[2], 'attempts', 1)\n"
    "redis.call('HSET', KEYS[2], 'state', 'running', 'host', ARGV[1], 'attempt', n,\n"
    "  'started_ms', ARGV[2], 'updated_ms', ARGV[2], 'stream', ARGV[3], 'entry', ARGV[4],\n"
    "  'progress', '', 'claim', tok)\n"
    "redis.call('HDEL', KEYS[2], 'drained_by')\n"
    "return {0, n, tok}\n";

int jd_queue_begin(jd_begin *out, jd_queue *q, jd_priority p, const char *entry_id,
                   const char *task_id, int max_attempts) {
  memset(out, 0, sizeof *out);
  jd_task_keys k;
  jd_task_keys_of(&k, q, task_id);
  char lease[24], max[16];
  snprintf(lease, sizeof lease, "%lld", (long long)q->lease_ms);
  snprintf(max, sizeof max, "%d", max_attempts > 0 ? max_attempts : 1);
  const char *keys[] = {k.result, k.status, k.claim, q->claims};
  const char *args[] = {q->consumer, k.now, jd_priority_name(p), entry_id, lease, max};
  redisReply *rep = NULL;
  int rc = jd_queue_eval(&rep, q, begin_lua, 4, keys, 6, args);
  if (rc)
    return rc;
  long long v[3] = {0};
  rc = rep->type == REDIS_REPLY_ARRAY && rep->elements == 3 ? 0 : JD_REDIS_EPROTO;
  for (size_t i = 0; !rc && i < 3; i++)
    rc = jd_reply_int(rep->element[i], &v[i]) ? JD_REDIS_EPROTO : 0;
  freeReplyObject(rep);
  if (rc || v[0] < 0 || v[0] >= JD_BEGIN_COUNT)
    return rc ? rc : JD_REDIS_EPROTO;
  out->outcome = (jd_begin_outcome)v[0];
  out->attempt = (int)v[1];
  out->claim = v[2];
  return 0;
}

/* KEYS = claim key i, status key i (pairs); ARGV = lease ms, token i...
 * A claim whose key ran out while nobody took the task is set again: a
 * host cut off for a moment keeps its run. */
static const char renew_claims_lua[] =
    JD_CLAIM_HOLDS_LUA "local out = {}\n"
                       "for i = 1, #KEYS / 2 do\n"
                       "  local ck, sk, tok = KEYS[2 * i - 1], KEYS[2 * i], ARGV[i + 1]\n"
                       "  if holds(ck, sk, tok) then\n"
                       "    redis.call('SET', ck, tok, 'PX', ARGV[1])\n"
                       "    out[i] = 1\n"
                       "  else\n"
                       "    out[i] = 0\n"
                       "  end\n"
                       "end\n"
                       "return out\n";

/* 3 + 2 keys + 1 token per claim + the lease must fit jd_queue_eval's 48
 * arguments: 14 claims use 46. */
#define CLAIM_BATCH 14

int jd_queue_renew_claims(bool *ours, jd_queue *q, const char *const *task_ids,
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
    int rc = jd_queue_eval_flags(ours + off, m, q, renew_claims_lua, (int)(2 * m), keys, (int)m + 1,
                                 args);
    if (rc)
      return rc;
  }
  return 0;
}

/* Lua: gives the claim up (the next run may start at once); the status
 * record's "claim" is cleared too, so the old token holds nothing. */
#define RELEASE_CLAIM_LUA                                                                          \
  "local function release_claim(ck, sk)\n"                                                         \
  "  redis.call('DEL', ck)\n"                                                                      \
  "  redis.call('HSET', sk, 'claim', '')\n"                                                        \
  "end\n"

/* KEYS = result key, status key, stream, claim key;
 * ARGV = host, now, group, id, idle, token. */
static const char drained_lua[] = JD_CLAIM_HOLDS_LUA RELEASE_CLAIM_LUA
    "if not holds(KEYS[4], KEYS[2], ARGV[6]) then return 0 end\n"
    "if redis.call('EXISTS', KEYS[1]) == 0 then\n"
    "  if tonumber(redis.call('HGET', KEYS[2], 'attempts') or '0') > 0 then\n"
    "    redis.call('HINCRBY', KEYS[2], 'attempts', -1)\n"
    "  end\n"
    "  redis.call('HSET', KEYS[2], 'state', 'queued', 'drained_by', ARGV[1], 'updated_ms', "
    "ARGV[2])\n"
    "end\n"
    "release_claim(KEYS[4], KEYS[2])\n"
    "local ok, p = pcall(redis.call, 'XPENDING', KEYS[3], ARGV[3], ARGV[4], ARGV[4], 1)\n"
    "if ok and p[1] and p[1][2] == ARGV[1] then\n"
    "  redis.call('XCLAIM', KEYS[3], ARGV[3], ARGV[1], 0, ARGV[4], 'IDLE', ARGV[5], 'JUSTID')\n"
    "end\n"
    "return 1\n";

int jd_queue_drained(jd_queue *q, jd_priority p, const char *entry_id, const char *task_id,
                     long long claim) {
  jd_task_keys k;
  jd_task_keys_of(&k, q, task_id);
  char tok[24];
  jd_claim_text(tok, claim);
  const char *keys[] = {k.result, k.status, q->stream[p], k.claim};
  const char *args[] = {q->consumer, k.now, q->group, entry_id, RELEASE_IDLE_MS, tok};
  return jd_queue_eval(NULL, q, drained_lua, 4, keys, 6, args);
}

/* KEYS = result key, status key, claim key; ARGV = now, error, token. */
static const char retry_lua[] = JD_CLAIM_HOLDS_LUA RELEASE_CLAIM_LUA
    "if not holds(KEYS[3], KEYS[2], ARGV[3]) then return 0 end\n"
    "if redis.call('EXISTS', KEYS[1]) == 0 then\n"
    "  redis.call('HSET', KEYS[2], 'state', 'queued', 'last_error', ARGV[2], 'updated_ms', "
    "ARGV[1])\n"
    "end\n"
    "release_claim(KEYS[3], KEYS[2])\n"
    "return 1\n";

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
  int rc = jd_queue_eval_int(&n, q, retry_lua, 3, keys, 3, args);
  if (held)
    *held = !rc && n == 1;
  return rc;
}

/* Only while the claim is held and the task runs: a late progress write
 * must neither resurrect the record of a finished task nor overwrite the
 * run that took the task over. KEYS = status key, claim key;
 * ARGV = progress, now, token. */
static const char progress_lua[] = JD_CLAIM_HOLDS_LUA
    "if redis.call('HGET', KEYS[1], 'state') == 'running' and holds(KEYS[2], KEYS[1], ARGV[3]) "
    "then\n"
    "  redis.call('HSET', KEYS[1], 'progress', ARGV[1], 'updated_ms', ARGV[2])\n"
    "  return 1\n"
    "end\n"
    "return 0\n";

int jd_queue_progress(jd_queue *q, const char *task_id, long long claim,
                      const char *progress_json) {
  jd_task_keys k;
  jd_task_keys_of(&k, q, task_id);
  char tok[24];
  jd_claim_text(tok, claim);
  const char *keys[] = {k.status, k.claim};
  const char *args[] = {progress_json, k.now, tok};
  return jd_queue_eval(NULL, q, progress_lua, 2, keys, 3, args);
}
