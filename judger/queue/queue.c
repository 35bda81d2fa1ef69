/* The task queue on Redis Streams: the connection, the stream keys, the
 * consumer group and the script runner (see queue.h and docs/queue.md).
 * The rest of the queue is in entries.c, attempts.c, results.c, hosts.c
 * and status.c (queue_internal.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/clock.h"
#include "queue/queue_internal.h"

static const char *const prio_names[JD_PRIO_COUNT] = {"build", "match", "auto"};

const char *jd_priority_name(jd_priority p) {
  return (unsigned)p < JD_PRIO_COUNT ? prio_names[p] : "?";
}

int jd_priority_parse(jd_priority *out, const char *name) {
  for (int i = 0; i < JD_PRIO_COUNT; i++)
    if (name && !strcmp(name, prio_names[i])) {
      *out = (jd_priority)i;
      return 0;
    }
  return -1;
}

int jd_queue_new(jd_queue **out, const jd_queue_opts *opts) {
  *out = NULL;
  jd_queue *q = calloc(1, sizeof *q);
  if (!q)
    return -1;
  if (jd_redis_new(&q->r, opts->redis_url, &opts->redis)) {
    free(q);
    return -1;
  }
  q->prefix = strdup(opts->prefix ? opts->prefix : "judger");
  q->group = strdup(opts->group ? opts->group : "judgers");
  q->consumer = strdup(opts->consumer ? opts->consumer : "");
  q->lease_ms = opts->lease_ms > 0 ? opts->lease_ms : 30000;
  q->entry_max_bytes = opts->entry_max_bytes ? opts->entry_max_bytes : JD_ENTRY_MAX_BYTES_DEFAULT;
  q->min_replicas_acked = opts->min_replicas_acked;
  q->replica_wait_ms = opts->replica_wait_ms > 0 ? opts->replica_wait_ms : 1000;
  if (!q->prefix || !q->group || !q->consumer) {
    jd_queue_free(q);
    return -1;
  }
  for (int i = 0; i < JD_PRIO_COUNT; i++)
    snprintf(q->stream[i], KEY_MAX, "%s:q:%s", q->prefix, prio_names[i]);
  snprintf(q->dead, KEY_MAX, "%s:dead", q->prefix);
  snprintf(q->results, KEY_MAX, "%s:results", q->prefix);
  snprintf(q->hosts, KEY_MAX, "%s:hosts", q->prefix);
  snprintf(q->claims, KEY_MAX, "%s:claims", q->prefix);
  snprintf(q->fence, KEY_MAX, "%s:fence", q->prefix);
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
jd_redis_failure jd_queue_last(const jd_queue *q) { return jd_redis_last(q->r); }
const char *jd_queue_error(const jd_queue *q) { return jd_redis_error(q->r); }
bool jd_queue_lost(const jd_queue *q) { return jd_redis_last(q->r) == JD_REDIS_CONN; }

int jd_queue_unexpected(jd_queue *q, const char *command) {
  return jd_redis_fail(q->r, JD_REDIS_PROTO, "%s: an answer of an unexpected shape", command);
}

int jd_queue_no_memory(jd_queue *q) { return jd_redis_fail(q->r, JD_REDIS_NOMEM, "out of memory"); }

bool jd_queue_replied(const jd_queue *q, const char *code) {
  return jd_redis_last(q->r) == JD_REDIS_REPLY &&
         !strncmp(jd_redis_error(q->r), code, strlen(code));
}

bool jd_queue_noreplicas(const jd_queue *q) { return jd_queue_replied(q, "NOREPLICAS "); }

void jd_queue_host_key(char out[KEY_MAX], const jd_queue *q, const char *host) {
  snprintf(out, KEY_MAX, "%s:host:%s", q->prefix, host);
}

void jd_task_keys_of(jd_task_keys *k, const jd_queue *q, const char *task_id) {
  snprintf(k->result, sizeof k->result, "%s:result:%s", q->prefix, task_id);
  snprintf(k->status, sizeof k->status, "%s:task:%s", q->prefix, task_id);
  snprintf(k->claim, sizeof k->claim, "%s:claim:%s", q->prefix, task_id);
  snprintf(k->now, sizeof k->now, "%lld", (long long)jd_unix_ms());
}

void jd_claim_text(char out[24], long long claim) {
  if (claim == JD_CLAIM_NONE)
    out[0] = '\0';
  else
    snprintf(out, 24, "%lld", claim);
}

/* The script's SHA1 (hex), computed once per queue and script; NULL when
 * the table is full or the digest failed (then EVAL sends the text). */
static const char *script_sha(jd_queue *q, const char *script) {
  for (size_t i = 0; i < q->nsha; i++)
    if (q->sha[i].script == script)
      return q->sha[i].sha;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (q->nsha == sizeof q->sha / sizeof q->sha[0] ||
      !EVP_Digest(script, strlen(script), md, &len, EVP_sha1(), NULL) || len != 20)
    return NULL;
  for (unsigned int i = 0; i < len; i++)
    snprintf(q->sha[q->nsha].sha + 2 * i, 3, "%02x", md[i]);
  q->sha[q->nsha].script = script;
  return q->sha[q->nsha++].sha;
}

int jd_queue_eval(redisReply **out, jd_queue *q, const char *script, int nkeys,
                  const char *const *keys, int nargs, const char *const *args) {
  const char *argv[48];
  int argc = 0;
  char nk[16];
  if (3 + nkeys + nargs > (int)(sizeof argv / sizeof argv[0]))
    return jd_redis_fail(q->r, JD_REDIS_INVAL, "EVAL: %d keys and %d arguments, too many", nkeys,
                         nargs);
  snprintf(nk, sizeof nk, "%d", nkeys);
  const char *sha = script_sha(q, script);
  argv[argc++] = sha ? "EVALSHA" : "EVAL";
  argv[argc++] = sha ? sha : script;
  argv[argc++] = nk;
  for (int i = 0; i < nkeys; i++)
    argv[argc++] = keys[i];
  for (int i = 0; i < nargs; i++)
    argv[argc++] = args[i] ? args[i] : "";
  int rc = jd_redis_command_argv(out, q->r, 0, argc, argv, NULL);
  if (rc && sha && jd_queue_replied(q, "NOSCRIPT")) {
    /* Not in Redis' script cache yet (or no more): EVAL caches it. */
    argv[0] = "EVAL";
    argv[1] = script;
    rc = jd_redis_command_argv(out, q->r, 0, argc, argv, NULL);
  }
  if (!rc)
    jd_queue_wrote(q);
  return rc;
}

void jd_queue_wrote(jd_queue *q) {
  q->wgen_last = jd_redis_generation(q->r);
  if (!q->wgen_first)
    q->wgen_first = q->wgen_last;
}

int jd_queue_eval_int(long long *n, jd_queue *q, const char *script, int nkeys,
                      const char *const *keys, int nargs, const char *const *args) {
  *n = 0;
  redisReply *rep = NULL;
  if (jd_queue_eval(&rep, q, script, nkeys, keys, nargs, args))
    return -1;
  int rc = jd_reply_int(rep, n) ? jd_queue_unexpected(q, "EVAL") : 0;
  freeReplyObject(rep);
  return rc;
}

int jd_queue_eval_ints(long long *out, size_t m, jd_queue *q, const char *script, int nkeys,
                       const char *const *keys, int nargs, const char *const *args) {
  redisReply *rep = NULL;
  if (jd_queue_eval(&rep, q, script, nkeys, keys, nargs, args))
    return -1;
  if (rep->type != REDIS_REPLY_ARRAY || rep->elements != m) {
    freeReplyObject(rep);
    return jd_queue_unexpected(q, "EVAL");
  }
  for (size_t i = 0; i < m; i++)
    out[i] = rep->element[i]->type == REDIS_REPLY_INTEGER ? rep->element[i]->integer : 0;
  freeReplyObject(rep);
  return 0;
}

int jd_queue_eval_flags(bool *out, size_t m, jd_queue *q, const char *script, int nkeys,
                        const char *const *keys, int nargs, const char *const *args) {
  redisReply *rep = NULL;
  if (jd_queue_eval(&rep, q, script, nkeys, keys, nargs, args))
    return -1;
  if (rep->type != REDIS_REPLY_ARRAY || rep->elements != m) {
    freeReplyObject(rep);
    return jd_queue_unexpected(q, "EVAL");
  }
  for (size_t i = 0; i < m; i++)
    out[i] = rep->element[i]->type == REDIS_REPLY_INTEGER && rep->element[i]->integer;
  freeReplyObject(rep);
  return 0;
}

int jd_queue_setup(jd_queue *q) {
  for (int i = 0; i < JD_PRIO_COUNT; i++) {
    if (jd_redis_command(NULL, q->r, "XGROUP CREATE %s %s 0 MKSTREAM", q->stream[i], q->group) &&
        !jd_queue_replied(q, "BUSYGROUP"))
      return -1;
  }
  return 0;
}

/* ---- confirmation by the replicas ------------------------------------------ */

/* How often auto asks the primary how many replicas it has. */
#define REPLICAS_ASK_MS 1000

/* The replicas the primary reports (ROLE), asked at most once a second
 * and whenever the connection went to another primary (a failover). */
static int replicas_now(int *n, jd_queue *q) {
  int64_t now = jd_mono_ms();
  const char *peer = jd_redis_peer(q->r);
  if (q->replicas_seen_ms && now - q->replicas_seen_ms < REPLICAS_ASK_MS &&
      !strcmp(peer, q->replicas_peer)) {
    *n = q->replicas_seen;
    return 0;
  }
  if (jd_redis_replica_count(n, q->r))
    return -1;
  q->replicas_seen = *n;
  q->replicas_seen_ms = now;
  snprintf(q->replicas_peer, sizeof q->replicas_peer, "%s", jd_redis_peer(q->r));
  return 0;
}

/* The replicas this queue requires now (0: no WAIT). Auto in sentinel
 * mode keeps requiring one once it saw one: a primary left without its
 * replicas is the one a failover (or a healed partition) throws away. */
static int replicas_required(int *n, jd_queue *q) {
  *n = q->min_replicas_acked;
  if (*n >= 0)
    return 0;
  int have = 0;
  if (replicas_now(&have, q))
    return -1;
  if (have > 0)
    q->replica_seen_ever = true;
  *n = have > 0 || (jd_redis_sentinel_mode(q->r) && q->replica_seen_ever) ? 1 : 0;
  return 0;
}

/* The connection is the one of generation gen (0: any). */
static int same_connection(jd_queue *q, uint64_t gen) {
  if (!jd_redis_connected(q->r) || (gen && jd_redis_generation(q->r) != gen))
    return jd_redis_fail(q->r, JD_REDIS_CONN,
                         "WAIT: the connection broke or changed since the writes");
  return 0;
}

int jd_queue_confirm_since(bool *confirmed, jd_queue *q, uint64_t gen) {
  *confirmed = false;
  q->waited = false;
  q->wgen_first = 0;
  if (q->min_replicas_acked == 0) {
    *confirmed = true;
    return 0;
  }
  /* WAIT counts the writes of this connection: on another one it would
   * confirm nothing that was written before. */
  if (same_connection(q, gen))
    return -1;
  int n = 0;
  if (replicas_required(&n, q) || same_connection(q, gen))
    return -1;
  if (n == 0) {
    *confirmed = true;
    return 0;
  }
  /* WAIT n after INCR of the fence, pipelined (one round trip), on the
   * connection just checked. A fence refused as READONLY drops the
   * connection: lost. */
  long long acked = 0;
  if (jd_redis_fence_wait(&acked, q->r, q->fence, n, (long)q->replica_wait_ms))
    return -1;
  q->waited = true;
  *confirmed = acked >= n;
  if (!*confirmed)
    q->replicas_seen_ms = 0; /* auto: a replica may have gone; ask again next time */
  return 0;
}

int jd_queue_confirm(bool *confirmed, jd_queue *q) {
  if (q->wgen_first && q->wgen_first != q->wgen_last) {
    *confirmed = false;
    q->waited = false;
    q->wgen_first = 0;
    return jd_redis_fail(q->r, JD_REDIS_CONN,
                         "WAIT: the writes went over more than one connection");
  }
  return jd_queue_confirm_since(confirmed, q, q->wgen_last);
}

bool jd_queue_waited(const jd_queue *q) { return q->waited; }
