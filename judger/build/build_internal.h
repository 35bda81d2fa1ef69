/* The build part's own seams, shared by its files: not for other parts
 * (they use build.h, image_cache.h, artifacts.h).
 *
 *   image_cache.c      environment images: the cache hit, the build
 *   image_leftovers.c  the step images failed builds leave, and their drain
 *   image_gc.c         old environment images (gc) and a program's (purge)
 *   artifacts.c        the artifacts cache and the program build
 *   artifacts_gc.c     old artifacts cache entries
 */
#ifndef JD_BUILD_INTERNAL_H
#define JD_BUILD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "build/program.h"
#include "common/context.h"

/* An engine code at the part's edge (common/error.h, rule 5): -1, with
 * the reason in err: the engine's message when it sent one, else the
 * code's; strerror(errno) for -1 (a host failure). */
int jd_build_engine_fail(int rc, char *err, size_t errlen);

/* ---- a failed build's step images (image_leftovers.c) ---- */

/* A build's record of the step images it makes, and its hold on the
 * builds lock (image_leftovers.c says why). */
typedef struct jd_leftovers {
  int dirfd, fd, lock;
  char name[64];
} jd_leftovers;

/* Before a build: the builds lock shared (waiting for a drain at most a
 * minute, or until cancel fires), a fresh record whose descriptor is
 * lo->fd (-1 when none could be made: nothing is recorded). Without a
 * state dir nothing is recorded (nothing could drain it safely). */
void jd_leftovers_begin(jd_leftovers *lo, jd_ctx *ctx, dk_cancel *cancel, jd_progress_fn progress,
                        void *ud);
/* After a build: its record dropped when the image was kept, the builds
 * lock let go, then whatever records are waiting drained if no build
 * runs. */
void jd_leftovers_end(jd_leftovers *lo, jd_ctx *ctx, bool kept);

/* ---- the artifacts cache's entries (artifacts.c, artifacts_gc.c) ---- */

#define JD_ARTIFACTS_TMP_PREFIX ".tmp-"
#define JD_ARTIFACTS_DEL_PREFIX ".del-" /* an entry being removed: never a hit, always gc'd */
#define JD_ARTIFACTS_MARKER "result.json"

#endif
