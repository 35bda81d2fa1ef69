/* The task queue on Redis Streams: three priority streams read by one
 * consumer group, leases on pending entries, attempts, dead letters and
 * results written exactly once. Keys and formats: docs/queue.md.
 *
 * A jd_queue owns one Redis connection and is used by one thread at a time.
 * Every int function returns 0 or -1 (common/error.h); after a -1 the
 * queue tells what kind of failure it was (jd_queue_last(); jd_queue_lost():
 * Redis is unreachable, retry after jd_queue_backoff_ms()) and its message
 * (jd_queue_error()).
 */
#ifndef JD_QUEUE_H
#define JD_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "queue/redis.h"
#include "queue/task.h"

/* Defaults of the entry limits (settings entry_max_bytes, entry_max_depth). */
#define JD_ENTRY_MAX_BYTES_DEFAULT ((size_t)1 << 20)

typedef enum { JD_PRIO_BUILD = 0, JD_PRIO_MATCH = 1, JD_PRIO_AUTO = 2 } jd_priority;
#define JD_PRIO_COUNT 3

/* "build", "match", "auto". */
const char *jd_priority_name(jd_priority p);
/* 0, or -1 when name is none of them (*out untouched). */
int jd_priority_parse(jd_priority *out, const char *name);

typedef struct jd_queue_opts {
  const char *redis_url;
  const char *prefix;   /* key prefix; NULL = "judger" */
  const char *group;    /* consumer group; NULL = "judgers" */
  const char *consumer; /* this judger's host id (required for consumers) */
  int64_t lease_ms;     /* an entry idle longer than this is claimable; 0 = 30000 */
  /* An entry's "task" field longer than this is not copied (the entry
   * comes with too_big set); 0 = JD_ENTRY_MAX_BYTES_DEFAULT. */
  size_t entry_max_bytes;
  /* Replicas that must confirm a write that has to survive a failover
   * (jd_queue_confirm): -1 auto (1 when the primary reports replicas, else
   * 0; in sentinel mode 1 for good once one was seen), 0 never WAIT, n. */
  int min_replicas_acked;
  int64_t replica_wait_ms; /* WAIT's timeout; 0 = 1000 */
  jd_redis_opts redis;
} jd_queue_opts;

typedef struct jd_queue jd_queue;

/* No I/O happens here; -1 when out of memory or the URL is not one
 * jd_redis_url_parse() takes. The caller frees *out with jd_queue_free(). */
int jd_queue_new(jd_queue **out, const jd_queue_opts *opts);
void jd_queue_free(jd_queue *q);
jd_redis *jd_queue_redis(jd_queue *q);
int64_t jd_queue_backoff_ms(const jd_queue *q);
/* The last failure: its kind (the connection's, redis.h), its message,
 * and whether it was the connection (Redis unreachable: retry later). */
jd_redis_failure jd_queue_last(const jd_queue *q);
const char *jd_queue_error(const jd_queue *q);
bool jd_queue_lost(const jd_queue *q);

/* The writes made so far on this queue's connection, confirmed by the
 * replicas the queue requires: INCR <prefix>:fence then WAIT n
 * replica_wait_ms on the same connection (the fence's offset is past every
 * write the primary took, also one a store answered 'already there' to);
 * auto asks the primary how many replicas it has, at most once a second,
 * and in sentinel mode keeps requiring one once it saw one. *confirmed is
 * false when fewer acked in time: the writes are on the primary but a
 * failover could lose them. -1 only when Redis could not be asked
 * (jd_queue_lost...): also when the connection broke or changed since the
 * writes (the queue's scripts and submits since the last confirm went over
 * more than one connection, or not over the current one), since a WAIT
 * on another connection says nothing about them. */
int jd_queue_confirm(bool *confirmed, jd_queue *q);
/* jd_queue_confirm of the writes made on connection generation gen
 * (jd_redis_generation(jd_queue_redis(q)) read right after them): -1
 * (JD_REDIS_CONN) when the connection is another one now. */
int jd_queue_confirm_since(bool *confirmed, jd_queue *q, uint64_t gen);
/* Whether the last failure was the primary refusing a write for want of
 * replicas (its min-replicas-to-write: a NOREPLICAS error reply): nothing
 * was written; a later try may be taken. */
bool jd_queue_noreplicas(const jd_queue *q);
/* Whether the last jd_queue_confirm sent a WAIT (false: no replica was
 * required, or it failed before): what judger_replica_waits_total counts. */
bool jd_queue_waited(const jd_queue *q);

/* Creates the consumer group on every stream (from the start, so entries
 * added before any judger ran are served); an existing group is fine. */
int jd_queue_setup(jd_queue *q);

/* One stream entry handed to this consumer. */
typedef struct jd_entry {
  jd_priority prio;
  char id[48];
  char *task_json; /* the entry's "task" (or "taskset") field; NULL when missing or too big */
  bool taskset;    /* the field was "taskset": a whole taskset to submit (docs/tasksets.md) */
  size_t task_len; /* its length in bytes (also when too big) */
  bool too_big;    /* longer than the queue's entry_max_bytes: not copied */
  bool deleted;    /* still pending but deleted from the stream */
  /* The entry's "task_id" field (a taskset member's; "" when none or not a
   * task id): its dead letter names it even when the task is unreadable. */
  char task_id[JD_TASK_ID_MAX + 1];
} jd_entry;

typedef struct jd_entry_list {
  jd_entry *items;
  size_t count, cap;
} jd_entry_list;

void jd_entry_list_clear(jd_entry_list *l); /* frees the items, keeps l usable */
/* Moves item i out of l into *out (the caller frees out->task_json). */
void jd_entry_list_take(jd_entry_list *l, size_t i, jd_entry *out);

/* XADD of a task; also marks the task "queued" in its status record. *id
 * (may be NULL) gets the entry id; the caller frees it. */
int jd_queue_submit(char **id, jd_queue *q, jd_priority p, const char *task_id,
                    const char *task_json);

/* New entries of one stream, without blocking (XREADGROUP ... >), at most
 * count, appended to out. */
int jd_queue_read_new(jd_entry_list *out, jd_queue *q, jd_priority p, size_t count);
/* This consumer's own pending entries of one stream with ids after
 * *after (start with "0"), at most count; *after advances. */
int jd_queue_read_own(jd_entry_list *out, jd_queue *q, jd_priority p, char after[48], size_t count);
/* Blocks up to block_ms for a new entry on any stream (at most count per
 * stream); appends what came (nothing on timeout). */
int jd_queue_read_block(jd_entry_list *out, jd_queue *q, size_t count, long block_ms);
/* XAUTOCLAIM: takes over entries of one stream idle longer than the lease,
 * at most count. Entries deleted meanwhile are dropped by Redis. */
int jd_queue_autoclaim(jd_entry_list *out, jd_queue *q, jd_priority p, size_t count);
/* The entry the group will deliver next, without reading it (nothing is
 * delivered, no lease taken: it stays free for every judger): per priority
 * in order, the first entry after the group's last-delivered-id. *found is
 * false when no stream has one; out->task_json is the caller's to free. */
int jd_queue_peek_next(jd_entry *out, bool *found, jd_queue *q);
/* Whether entry id of stream p is pending on this consumer (delivered to
 * this judger and not acked). */
int jd_queue_delivered_here(bool *here, jd_queue *q, jd_priority p, const char *id);

/* Renews the lease of this consumer's entries (XCLAIM ... JUSTID resets the
 * idle time). ours[i] is false when entry i is no longer pending on this
 * consumer (another judger claimed it, or it was acked). */
int jd_queue_renew(bool *ours, jd_queue *q, const jd_priority *prios, const char *const *ids,
                   size_t n);
/* Gives an entry back without counting an attempt: it becomes claimable by
 * any judger at once (its idle time is set past the lease). */
int jd_queue_release(jd_queue *q, jd_priority p, const char *entry_id);
int jd_queue_ack(jd_queue *q, jd_priority p, const char *entry_id);

/* ---- one run per task id: the claim ------------------------------------
 * A run holds its task's claim, <prefix>:claim:<task id> = a token from
 * the <prefix>:claims counter, set with PX lease and renewed with the
 * entry's lease. The token fences every write the run makes (status,
 * progress, result, dead letter): once another run took the claim, the old
 * one's writes are refused. See docs/queue.md "One run per task". */

#define JD_CLAIM_NONE 0LL /* no claim held (dead letters of malformed entries) */

/* What jd_queue_begin found; begin.lua answers the name. */
#define JD_BEGIN_MAP(XX)                                                                           \
  XX(RUN, "run", "the claim is ours: run it (attempt counted)")                                    \
  XX(DONE, "done", "a result is already stored: ack the entry without running")                    \
  XX(DUPLICATE, "duplicate", "another entry of the task is running: ack this one without running") \
  XX(BUSY, "busy", "this entry is still run elsewhere: leave it pending, it is retaken later")     \
  XX(EXHAUSTED, "exhausted", "max_attempts runs were made: dead-letter it")                        \
  XX(CANCELLED, "cancelled", "the task or its taskset was cancelled: store a cancelled result")

typedef enum jd_begin_outcome {
#define JD_BEGIN_ENUM(code, name, text) JD_BEGIN_##code,
  JD_BEGIN_MAP(JD_BEGIN_ENUM)
#undef JD_BEGIN_ENUM
      JD_BEGIN_COUNT
} jd_begin_outcome;

const char *jd_begin_outcome_name(jd_begin_outcome o);

typedef struct jd_begin {
  jd_begin_outcome outcome;
  int attempt;     /* RUN: this run's number (1, 2...); EXHAUSTED: runs made */
  long long claim; /* RUN: the claim token (fencing token) of this run */
} jd_begin;

/* Starts an attempt in one script: takes the task's claim (only when no
 * other run holds it), counts the run and marks the status "running" on
 * this host. max_attempts: runs allowed (>= 1). */
int jd_queue_begin(jd_begin *out, jd_queue *q, jd_priority p, const char *entry_id,
                   const char *task_id, int max_attempts);
/* Renews the claims of this host's runs: ours[i] false when run i lost its
 * claim (another run took the task over); cancel[i] (cancel may be NULL)
 * true when run i holds it but its cancel was asked (the status record's
 * "cancel": `judger taskset cancel`). */
int jd_queue_renew_claims(bool *ours, bool *cancel, jd_queue *q, const char *const *task_ids,
                          const long long *claims, size_t n);
/* Whether the run of token claim still holds its task's claim and no
 * result is stored yet: checked before a write that is not a script of its
 * own (a published output). */
int jd_queue_holds_claim(bool *held, jd_queue *q, const char *task_id, long long claim);
/* The cancel reason asked for a task (its status record's "cancel"), or ""
 * when none; reason has len bytes. */
int jd_queue_cancel_reason(char *reason, size_t len, jd_queue *q, const char *task_id);
/* An attempt given back by a draining judger: the attempt count goes down
 * again, the status is "queued", the claim is released and the entry is
 * released. Only while the claim is held (else nothing is written). */
int jd_queue_drained(jd_queue *q, jd_priority p, const char *entry_id, const char *task_id,
                     long long claim);
/* An attempt that failed for a system reason: status "queued" with the
 * error and the claim released; the entry stays pending and is claimed
 * again after the lease. *held false when the claim was lost (nothing
 * written); held may be NULL. */
int jd_queue_retry_later(bool *held, jd_queue *q, const char *task_id, long long claim,
                         const char *error);
/* Writes the task's progress (a JSON text) into its status record, only
 * while the claim is held. */
int jd_queue_progress(jd_queue *q, const char *task_id, long long claim, const char *progress_json);

/* Dead letter: XADD to the dead stream with the reason, status "dead"
 * (when task_id is known), XACK and XDEL of the entry, in one script.
 * claim: JD_CLAIM_NONE for an entry that never ran; else the run's token,
 * and nothing is written when it lost the claim (*held false; held may be
 * NULL). */
int jd_queue_dead(bool *held, jd_queue *q, const jd_entry *e, const char *task_id, long long claim,
                  const char *reason, int attempts);

typedef struct jd_result_rec {
  const char *task_id;
  int attempt;
  long long claim; /* the run's claim token */
  jd_task_status status;
  const char *summary; /* one line (scores, verdict) */
  const char *json;    /* the full result.json */
} jd_result_rec;

/* What jd_queue_store_result did; store.lua answers the name. */
#define JD_STORE_MAP(XX)                                                                           \
  XX(WRITTEN, "written", "the result is stored, the entry acked")                                  \
  XX(ALREADY, "already there", "a result was already stored; the entry is acked all the same")     \
  XX(REFUSED, "refused", "the run lost its claim: nothing written, the entry left alone")

typedef enum jd_store_outcome {
#define JD_STORE_ENUM(code, name, text) JD_STORE_##code,
  JD_STORE_MAP(JD_STORE_ENUM)
#undef JD_STORE_ENUM
      JD_STORE_COUNT
} jd_store_outcome;

const char *jd_store_outcome_name(jd_store_outcome o);

/* Stores the result once per task id (SET NX), appends to the results
 * stream, sets the status "finished", releases the claim and acks +
 * deletes the entry; all in one script, and only while rec->claim is held.
 * entry_id may be NULL (nothing to ack). */
int jd_queue_store_result(jd_store_outcome *out, jd_queue *q, jd_priority p, const char *entry_id,
                          const jd_result_rec *rec);
/* The stored result.json of a task; *json NULL when none. Caller frees. */
int jd_queue_get_result(char **json, jd_queue *q, const char *task_id);

/* Host registry: SET <prefix>:host:<id> info_json PX ttl_ms, and the id in
 * the <prefix>:hosts set. */
int jd_queue_heartbeat(jd_queue *q, const char *info_json, int64_t ttl_ms);
int jd_queue_host_gone(jd_queue *q);
/* Ids of registered hosts whose heartbeat key expired; the caller frees
 * each and the array (NULL-terminated). */
int jd_queue_dead_hosts(char ***out, jd_queue *q);

/* One task: {"task_id", "status": <its status record>, "result": <result.json
 * or absent>}; *found false when neither exists. Caller frees *out. */
int jd_queue_task_json(char **out, bool *found, jd_queue *q, const char *task_id);

/* Everything `judger status` shows, as one JSON object (docs/queue.md):
 * streams (length, pending, waiting), pending per host, live hosts, running
 * tasks with progress, the last dead_max dead letters. Caller frees. */
int jd_queue_status_json(char **out, jd_queue *q, size_t dead_max);

#endif
