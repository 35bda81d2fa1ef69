/* How a container ended, from the engine's event stream.
 *
 * The engine logs a container's "die" event (with its exit code) as soon as
 * its process is gone; a wait returns only once the engine has also
 * released the container's network endpoints and mounts (300-500 ms for a
 * game logic on three networks on the 2-core test machine: the largest part
 * of a match's end). A unit whose container ended on its own takes the exit
 * code from the "die" event when that settles its verdict: exit code 0 and
 * no "oom" event before it. Anything else (a kill, a non-zero code, no
 * event in time) goes through the wait and the inspect as before. */
#ifndef JD_MATCH_EXIT_EVENT_H
#define JD_MATCH_EXIT_EVENT_H

#include <stdint.h>

#include "dockerapi/dockerapi.h"

/* Reads container events labelled run_label ("judger.run=<run key>") from
 * since_ms (unix ms) until id's "die" or timeout_ms. Returns 0 with *code
 * when the die came with no "oom" of id before it, else -1. */
int jd_exit_event(int64_t *code, dk_client *dk, const char *id, const char *run_label,
                  int64_t since_ms, int64_t timeout_ms);

#endif
