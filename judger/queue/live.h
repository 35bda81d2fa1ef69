/* A match's live stream in Redis: <prefix>:live:<task id>, a Redis Stream
 * of entries {"e": <event JSON>} written by the daemon's pusher
 * (daemon/live_push.h) and read by `judger watch`. Capped (XADD MAXLEN ~)
 * and always with a time to live. Key and format: docs/queue.md. */
#ifndef JD_QUEUE_LIVE_H
#define JD_QUEUE_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "queue/queue.h"

/* An entry's "e" longer than this is skipped when read (nothing the
 * daemon writes is that long: frames are at most 1 MiB of data). */
#define JD_LIVE_ENTRY_MAX ((size_t)2 << 20)
/* The most entries one jd_queue_live_read answers (count is capped). */
#define JD_LIVE_READ_MAX 1000

/* <prefix>:live:<task id>, a Redis Stream of entries {"e": <event JSON>} */
typedef struct jd_live_entry {
  char id[48]; /* the stream id */
  char *json;  /* the event's JSON */
  size_t len;
} jd_live_entry;
typedef struct jd_live_entries {
  jd_live_entry *v;
  size_t n;
} jd_live_entries;
void jd_live_entries_free(jd_live_entries *e);

/* The stream's key (<prefix>:live:<task id>) into out; -1 when it does
 * not fit. */
int jd_queue_live_key(char *out, size_t len, const jd_queue *q, const char *task_id);
/* Appends n entries in one round trip (a script: XADD MAXLEN ~ maxlen each, then PEXPIRE
 * ttl_ms); reset first deletes the stream (a new attempt). 0/-1. */
int jd_queue_live_append(jd_queue *q, const char *task_id, bool reset, const char *const *jsons,
                         const size_t *lens, size_t n, size_t maxlen, int64_t ttl_ms);
/* As jd_queue_live_append, fenced by the run's claim token (JD_CLAIM_NONE:
 * not fenced): *refused (nothing written) when another run holds the
 * task's claim; a claim nobody holds (released: the result is out, or
 * between attempts) is no refusal. */
int jd_queue_live_append_fenced(bool *refused, jd_queue *q, const char *task_id, long long claim,
                                bool reset, const char *const *jsons, const size_t *lens, size_t n,
                                size_t maxlen, int64_t ttl_ms);
/* Sets the stream's time to live (the result is out). */
int jd_queue_live_expire(jd_queue *q, const char *task_id, int64_t ttl_ms);
/* Entries after `after` ("0": from the start), at most count: XRANGE when block_ms < 0,
 * else XREAD BLOCK block_ms (0 entries on timeout). Each reply bounded while read.
 * (block_ms 0: XREAD without blocking; count is capped at JD_LIVE_READ_MAX; an entry
 * without a string "e", or one longer than JD_LIVE_ENTRY_MAX, comes with json "" and
 * len 0, so its id still advances a reader. A stream that does not exist: 0 entries.) */
int jd_queue_live_read(jd_live_entries *out, jd_queue *q, const char *task_id, const char *after,
                       size_t count, int64_t block_ms);

#endif
