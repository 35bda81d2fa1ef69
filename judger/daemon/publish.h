/* A task's links to other tasks' files, on the daemon's side (docs/match-spec.md
 * "Inputs"): before a match runs,
 * its {"task", "file"} inputs are read from Redis, checked and put in the
 * host's input cache; after a task finished, the files it publishes are
 * read from its output directory and stored in Redis, before its result. */
#ifndef JD_DAEMON_PUBLISH_H
#define JD_DAEMON_PUBLISH_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "match/match_spec.h"
#include "queue/queue.h"
#include "queue/task.h"

/* Fills the sha256 of every {"task","file"} input of spec from the
 * published output in Redis (its bytes checked against the sha256 stored
 * with them, then put in <state_dir>/inputs). A missing output, or one
 * over max_bytes, is the task's fault: kind JD_FAIL_PROGRAM, "inputs[i]:
 * task X has no published output Y", also kept in that input's
 * `unresolved` (the match, run anyway, fails with it); Redis or the disk:
 * JD_FAIL_SYSTEM. kind must not be NULL. */
int jd_inputs_resolve(jd_match_spec *spec, jd_queue *q, const char *state_dir, int64_t max_bytes,
                      jd_fail_kind *kind, char *err, size_t errlen);

/* Stores each file of t->publish from out_dir in Redis: opened relative
 * to out_dir, never through a link (every component O_NOFOLLOW), a
 * regular file of at most max_bytes, read with that bound. A file that is
 * missing or too big is the task's fault (kind PROGRAM: its result is
 * then "failed" with that reason); Redis: kind SYSTEM (retried). claim: the
 * run's token; when the run no longer holds its task's claim (or the task
 * has a result) nothing is written and 0 returned (JD_CLAIM_NONE: no check). */
int jd_outputs_publish(jd_queue *q, const jd_task *t, long long claim, const char *out_dir,
                       int64_t max_bytes, jd_fail_kind *kind, char *err, size_t errlen);

#endif
