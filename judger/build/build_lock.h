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
 * process dies.
 */
#ifndef JD_BUILD_LOCK_H
#define JD_BUILD_LOCK_H

#include <stdbool.h>
#include <stddef.h>

#include "dockerapi/cancel.h"

/* The key of a Dockerfile's shared prefix: its instructions up to and
 * including the first RUN (comments and blank lines dropped, continuation
 * lines joined, trailing blanks cut) hashed into out. false when the
 * Dockerfile has no RUN (nothing worth waiting for). */
bool jd_build_prefix_key(char out[65], const char *dockerfile, size_t len);

/* Takes the lock of key under state_dir, waiting while another build holds
 * it (until cancel fires: then -1 with errno ECANCELED). *waited says
 * whether it had to wait. 0 with *fd to give to jd_build_lock_release(), or
 * -1 with errno. */
int jd_build_lock_take(int *fd, bool *waited, const char *state_dir, const char *key,
                       const dk_cancel *cancel);
/* Releases and closes; -1 is fine. */
void jd_build_lock_release(int fd);

#endif
