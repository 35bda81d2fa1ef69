/* The live pusher: one thread with its own queue connection that writes
 * the matches' live events into their Redis streams (queue/live.h). The
 * match thread only copies a line into a bounded in-memory backlog (a
 * mutex and a signal, never a Redis call); the thread batches whatever is
 * pending into one append per task. An entry over its stream's entry cap
 * (jd_live_entry_cap) is dropped and counted. Past the backlog's bound (4 x
 * the setting live_entries entries, 2 x live_max_bytes bytes, for all the
 * host's matches) the oldest entries of the task holding the most pending
 * bytes (the flooder) are dropped and counted, never the few events every
 * match has (starts, exits, the end, the result) short of twice the bound;
 * when Redis fails the thread reconnects with backoff. See docs/queue.md
 * "Live streams". */
#ifndef JD_LIVE_PUSH_H
#define JD_LIVE_PUSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/config.h"

typedef struct jd_live_push jd_live_push;

/* Starts the thread (its connection is made lazily: Redis being down is
 * not a failure here). -1 with err. */
int jd_live_push_start(jd_live_push **out, const jd_config *cfg, char *err, size_t errlen);
/* The same with Redis counters shared with other queues (the daemon's;
 * NULL: none; queue/redis.h). */
struct jd_redis_stats;
int jd_live_push_start_stats(jd_live_push **out, const jd_config *cfg, struct jd_redis_stats *stats,
                             char *err, size_t errlen);
/* An attempt of task_id begins: its stream is reset and starts with
 * {"event":"live.begin","task_id":..,"attempt":N}; every append sets the
 * stream's time to live to ttl_ms (the match's deadline + live_ttl_ms).
 * Entries of an earlier attempt still pending are dropped. */
void jd_live_push_begin(jd_live_push *p, const char *task_id, int attempt, int64_t ttl_ms);
/* As jd_live_push_begin, with the stream's cap in entries (maxlen: see
 * jd_live_maxlen; 0 = jd_live_maxlen of the settings and the default frame
 * size) and the run's claim token: its writes are refused (dropped,
 * counted) once another run holds the task (JD_CLAIM_NONE: not fenced). */
void jd_live_push_begin_max(jd_live_push *p, const char *task_id, int attempt, int64_t ttl_ms,
                            size_t maxlen, long long claim);
/* As jd_live_push_begin_max, with the stream's entry cap in bytes
 * (jd_live_entry_cap of the spec's frame_max_bytes; 0 = of the default). */
void jd_live_push_begin_cap(jd_live_push *p, const char *task_id, int attempt, int64_t ttl_ms,
                            size_t maxlen, long long claim, size_t entry_cap);
/* One event's JSON line (copied). Ignored for a task with no begin. */
void jd_live_push_entry(jd_live_push *p, const char *task_id, const char *json, size_t len);
/* As jd_live_push_entry. bounded: an event a match has few of (a start, an
 * exit, the end, the result): never dropped for the backlog's bound nor
 * the entry cap. Any other entry over the task's entry cap is dropped and
 * counted. False when the entry is over the cap or the task has no begin:
 * it is not to be handed to the HTTP watchers (the hub) either. */
bool jd_live_push_event(jd_live_push *p, const char *task_id, const char *json, size_t len,
                        bool bounded);
/* The match is over: once its entries are written the stream's time to
 * live becomes live_ttl_ms. */
void jd_live_push_end(jd_live_push *p, const char *task_id);
void jd_live_push_stop(jd_live_push *p); /* flushes for at most 2 s, joins; NULL-safe */

/* Entries written to Redis, and entries dropped (backlog full, Redis
 * failing at stop), since the start. NULL-safe (0). */
int64_t jd_live_push_written(const jd_live_push *p);
int64_t jd_live_push_dropped(const jd_live_push *p);

/* A stream's cap in entries: min(live_entries, live_max_bytes / an
 * entry's cost in Redis, 5/4 of (max(frame_max_bytes, 1024) + 512)), at
 * least 16. */
size_t jd_live_maxlen(const jd_config *cfg, int64_t frame_max_bytes);
/* A live entry's cap in bytes: max(frame_max_bytes, 1024) + 512 (a frame
 * and the event's fields around it; a progress line is held to it too). */
size_t jd_live_entry_cap(int64_t frame_max_bytes);

#endif
