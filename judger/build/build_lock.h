/* Environment image builds that share their first RUN step take turns.
 *
 * The classic builder runs a step two builds have in common twice when both
 * reach it at once: nothing waits for an identical step in flight. The
 * sample's game logic and c-bot share their apt-get line, so building them
 * at once made the cold sample 1.29x slower than one after another, and two
 * slots building the same contest Dockerfile did all of it twice. A build
 * whose Dockerfile has a RUN takes an flock on
 * <state_dir>/locks/build-<key>, key = the sha256 of its instructions up to
 * and including the first RUN: a second build with that key waits for the
 * first and then finds the shared steps in the engine's cache. Builds with
 * other keys run at once. flock: held by threads and processes alike (every
 * judger of the host shares the state dir), dropped by the kernel when a
 * process dies. The holder lets go as soon as its build passes the shared
 * steps (the stream's next "Step"), and a waiter waits at most its own
 * wall time: a Dockerfile that copies a popular first RUN and then sleeps
 * holds nobody back. The lock is an optimisation: when it cannot be taken
 * the build goes on without it.
 */
#ifndef JD_BUILD_LOCK_H
#define JD_BUILD_LOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dockerapi/cancel.h"

/* The key of a Dockerfile's shared prefix: its instructions up to and
 * including the first RUN (comments and blank lines dropped, continuation
 * lines joined, trailing blanks cut) hashed into out, and how many
 * instructions that is (the build stream numbers its steps so). false when
 * the Dockerfile has no RUN (nothing worth waiting for). */
bool jd_build_prefix_key(char out[65], int *steps, const char *dockerfile, size_t len);

/* Takes the lock of key under state_dir, waiting while another build holds
 * it: until cancel fires (-1, errno ECANCELED) or max_wait_ms pass (-1,
 * ETIMEDOUT). *waited says whether it had to wait. 0 with *fd to give to
 * jd_build_lock_release(), or -1 with errno. Neither the locks directory
 * nor the file may be a link. */
int jd_build_lock_take(int *fd, bool *waited, const char *state_dir, const char *key,
                       int64_t max_wait_ms, const dk_cancel *cancel);
/* Releases and closes; -1 is fine. */
void jd_build_lock_release(int fd);

#endif
