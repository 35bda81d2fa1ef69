/* Private to the queue (queue.c: the connection, keys and scripts runner;
 * entries.c, attempts.c, results.c, hosts.c, status.c). Key names and
 * formats: docs/queue.md. */
#ifndef JD_QUEUE_INTERNAL_H
#define JD_QUEUE_INTERNAL_H

#include "queue/queue.h"

#define KEY_MAX 256

struct jd_queue {
  jd_redis *r;
  char *prefix, *group, *consumer;
  int64_t lease_ms;
  char stream[JD_PRIO_COUNT][KEY_MAX];
  char dead[KEY_MAX], results[KEY_MAX], hosts[KEY_MAX];
  char claims[KEY_MAX]; /* <prefix>:claims, the counter the claim tokens come from */
  char fence[KEY_MAX];  /* <prefix>:fence, INCR before every WAIT (jd_queue_confirm) */
  size_t entry_max_bytes;
  /* jd_queue_confirm: the setting, WAIT's timeout, the replicas the primary
   * reported last (auto), when (monotonic ms; 0 = never asked) and which, whether
   * the last confirm sent a WAIT. */
  int min_replicas_acked;
  int64_t replica_wait_ms;
  int replicas_seen;
  int64_t replicas_seen_ms;
  char replicas_peer[300]; /* the primary that reported them */
  bool waited;
  /* Whether auto ever saw a replica: in sentinel mode it then keeps
   * requiring one (docs/queue.md "Failover"). */
  bool replica_seen_ever;
  /* The connection generations (jd_redis_generation) of the first write
   * since the last confirm (0: none) and of the last write. */
  uint64_t wgen_first, wgen_last;
  /* The SHA1 of each script sent (EVALSHA sends it instead of the text). */
  struct {
    const char *script;
    char sha[41];
  } sha[32];
  size_t nsha;
};

/* Records a write that succeeded on the current connection (its
 * generation), for jd_queue_confirm. */
void jd_queue_wrote(jd_queue *q);

/* Failures of the queue's own, kept by its connection (jd_queue_last()):
 * an answer of another shape than the command's (JD_REDIS_PROTO, "<command>:
 * an answer of an unexpected shape"), out of memory (JD_REDIS_NOMEM).
 * Both return -1. */
int jd_queue_unexpected(jd_queue *q, const char *command);
int jd_queue_no_memory(jd_queue *q);
/* Whether the last failure was an error reply starting with code
 * ("NOGROUP", "BUSYGROUP"). */
bool jd_queue_replied(const jd_queue *q, const char *code);

/* <prefix>:host:<host id>, the host's heartbeat. */
void jd_queue_host_key(char out[KEY_MAX], const jd_queue *q, const char *host);

/* What every script about one task needs: its result key
 * (<prefix>:result:<id>), its status record (<prefix>:task:<id>), its claim
 * (<prefix>:claim:<id>) and the time now (unix ms, as text). */
typedef struct jd_task_keys {
  char result[KEY_MAX];
  char status[KEY_MAX];
  char claim[KEY_MAX];
  char now[24];
} jd_task_keys;
void jd_task_keys_of(jd_task_keys *k, const jd_queue *q, const char *task_id);

/* A claim token as script text ("" for JD_CLAIM_NONE). */
void jd_claim_text(char out[24], long long claim);

/* Runs a Lua script with the given keys and arguments (C strings; a NULL
 * argument is sent as ""): EVALSHA of its SHA1, and EVAL when Redis does
 * not have it (NOSCRIPT: a first run, a restart). *out as
 * jd_redis_command_argv. */
int jd_queue_eval(redisReply **out, jd_queue *q, const char *script, int nkeys,
                  const char *const *keys, int nargs, const char *const *args);

/* jd_queue_eval of a script that answers one integer: *n. */
int jd_queue_eval_int(long long *n, jd_queue *q, const char *script, int nkeys,
                      const char *const *keys, int nargs, const char *const *args);
/* jd_queue_eval of a script that answers an array of m integers: out[i] is
 * true where the i-th is non-zero. */
/* jd_queue_eval of a script that answers an array of m integers: out[i]. */
int jd_queue_eval_ints(long long *out, size_t m, jd_queue *q, const char *script, int nkeys,
                       const char *const *keys, int nargs, const char *const *args);
int jd_queue_eval_flags(bool *out, size_t m, jd_queue *q, const char *script, int nkeys,
                        const char *const *keys, int nargs, const char *const *args);

/* hosts.c, for status.c: the members of the hosts set and, for each, its
 * heartbeat reply (nil when expired). Freed with jd_queue_hosts_free(),
 * also after a failure. */
int jd_queue_hosts_with_info(redisReply **members, redisReply ***infos, jd_queue *q);
void jd_queue_hosts_free(redisReply *members, redisReply **infos);

#endif
