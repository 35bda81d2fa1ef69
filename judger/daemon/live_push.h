/* The live pusher: one thread with its own queue connection that writes
 * the matches' live events into their Redis streams (queue/live.h). The
 * match thread only copies a line into a bounded in-memory backlog (a
 * mutex and a signal, never a Redis call); the thread batches whatever is
 * pending into one append per task. Past the backlog's bound (4 x the
 * setting live_entries entries, 2 x live_max_bytes bytes, for all the
 * host's matches) the oldest entries are dropped and counted; when Redis fails the thread
 * reconnects with backoff. See docs/queue.md "Live streams". */
#ifndef JD_LIVE_PUSH_H
#define JD_LIVE_PUSH_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/config.h"

typedef struct jd_live_push jd_live_push;

/* Starts the thread (its connection is made lazily: Redis being down is
 * not a failure here). -1 with err. */
int jd_live_push_start(jd_live_push **out, const jd_config *cfg, char *err, size_t errlen);
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
/* One event's JSON line (copied). Ignored for a task with no begin. */
void jd_live_push_entry(jd_live_push *p, const char *task_id, const char *json, size_t len);
/* The match is over: once its entries are written the stream's time to
 * live becomes live_ttl_ms. */
void jd_live_push_end(jd_live_push *p, const char *task_id);
void jd_live_push_stop(jd_live_push *p); /* flushes for at most 2 s, joins; NULL-safe */

/* Entries written to Redis, and entries dropped (backlog full, Redis
 * failing at stop), since the start. NULL-safe (0). */
int64_t jd_live_push_written(const jd_live_push *p);
int64_t jd_live_push_dropped(const jd_live_push *p);

/* A stream's cap in entries: min(live_entries, live_max_bytes / an
 * entry's cost in Redis, 5/4 of (max(frame_max_bytes, 1024) + 256)), at
 * least 16. */
size_t jd_live_maxlen(const jd_config *cfg, int64_t frame_max_bytes);

#endif
