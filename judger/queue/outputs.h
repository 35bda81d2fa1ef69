/* Published outputs: files a finished task keeps in Redis for the tasks
 * that depend on it (the task envelope's "publish", docs/match-spec.md
 * "Inputs"). One hash per file,
 * <prefix>:output:<task>:<file> = {sha256, bytes, data}, written before the
 * task's result and kept as long as it (no TTL). A dependent's match names
 * it as an input {"task", "file"} (match_spec.h); the daemon reads it back,
 * checks it and puts it in the host's input cache (match/input_cache.h). */
#ifndef JD_QUEUE_OUTPUTS_H
#define JD_QUEUE_OUTPUTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "queue/queue.h"

/* One published output as read back. */
typedef struct jd_output {
  char sha256[65]; /* as stored (the reader checks the bytes against it) */
  size_t bytes;    /* as stored */
  char *data;      /* len bytes (+ a NUL not counted), owned */
  size_t len;
  bool too_big; /* its data is over the reader's max_bytes: not sent, data NULL */
} jd_output;

/* Stores task_id's file: len bytes of data, their sha256 (64 hex) and
 * their count, in one HSET (a re-run overwrites it). */
int jd_queue_publish_output(jd_queue *q, const char *task_id, const char *file, const void *data,
                            size_t len, const char *sha256);

/* Reads task_id's file: *found false when there is none (out zeroed). Data
 * longer than max_bytes is not sent (Redis checks it): out->too_big. A
 * hash of another shape (a field missing, a count that is not a number) is
 * refused as JD_REDIS_PROTO. The caller frees with jd_output_clear(). */
int jd_queue_get_output(jd_output *out, bool *found, jd_queue *q, const char *task_id,
                        const char *file, size_t max_bytes);
void jd_output_clear(jd_output *o);

#endif
