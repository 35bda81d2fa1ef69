/* Who ended a container: its program (or the kernel) or someone calling
 * the engine's API.
 *
 * The engine logs a container "kill" event (with the signal in its
 * attributes) only for a kill through its API (`docker kill`, `docker
 * stop`, `docker rm -f`, another judger's sweep), after the signal was
 * delivered and under the container's lock, so it always comes before the
 * container's "die". A program that kills itself (raise(SIGKILL), exit
 * 137), a crash, and the kernel's OOM kill log a "die" with no "kill"
 * before it. So once the judger knows its own kill did not reach the
 * container, a "kill" event before the die is someone else's: measured on
 * Docker 20.10 (docker kill: kill signal 9, die 137; rm -f: kill, die,
 * destroy; a shell's `kill -9 $$`: die 137 alone). */
#ifndef JD_MATCH_KILL_EVENT_H
#define JD_MATCH_KILL_EVENT_H

#include <stdbool.h>
#include <stdint.h>

#include "dockerapi/dockerapi.h"

typedef struct jd_kill_event {
  bool died;   /* its "die" was read */
  bool killed; /* a "kill" came before the die */
  int signal;  /* that kill's signal (the last one), 0 when not given */
  bool oom;    /* an "oom" came before the die */
} jd_kill_event;

/* Reads the container events labelled run_label ("judger.run=<run key>")
 * from since_ms (unix ms) up to id's "die", or timeout_ms. Returns 0 with
 * *out filled once the die was read, else -1 (events unreadable, or no die
 * in time: the caller cannot tell, and says so). */
int jd_kill_event_read(jd_kill_event *out, dk_client *dk, const char *id, const char *run_label,
                       int64_t since_ms, int64_t timeout_ms);

#endif
