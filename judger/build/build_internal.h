/* The build part's own seams, shared by its files: not for other parts
 * (they use build.h, image_cache.h, artifacts.h).
 *
 *   image_cache.c      environment images: the cache hit, the build
 *   image_leftovers.c  the step images failed builds leave, and their drain
 *   image_gc.c         old environment images (gc) and a program's (purge)
 *   artifacts.c        the artifacts cache: lookup, ensure, the build into it
 *   artifacts_build.c  the program build: its container and the copy out of /app
 *   artifacts_gc.c     old artifacts cache entries
 */
#ifndef JD_BUILD_INTERNAL_H
#define JD_BUILD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "build/program.h"
#include "common/context.h"
#include "common/verdict.h"

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

/* ---- the program build (artifacts_build.c, for artifacts.c) ---- */

struct jd_build_io;  /* artifacts_build.c's: the shim, the FIFO, the argv */
struct jd_build_net; /* build_net.h */

/* One program build: who, with what limits (defaults filled in), where
 * its progress goes, and where the reason of a system fault goes. */
typedef struct jd_artifacts_job {
  jd_ctx *ctx;
  jd_domain domain;
  const char *id;
  jd_build_limits lim;
  const dk_kv *extra_labels;
  size_t nextra;
  jd_progress_fn progress;
  void *ud;
  dk_cancel *cancel;
  const struct jd_build_io *io;   /* artifacts_build.c sets it */
  const struct jd_build_net *net; /* the build's own network when lim.network */
  char *err;                      /* the reason of a system fault */
  size_t errlen;
} jd_artifacts_job;

/* How a program build ended, when the system did not fail. */
typedef struct jd_artifacts_outcome {
  jd_verdict verdict; /* OK, CE, TLE, MLE, UE */
  char message[512];  /* one line when verdict != OK */
  int64_t exit_code;
} jd_artifacts_outcome;

/* An engine code (or -1, errno) of this build: the reason into the job's
 * err; -1. */
static inline int jd_artifacts_job_fail(const jd_artifacts_job *job, int rc) {
  return jd_build_engine_fail(rc, job->err, job->errlen);
}

/* Runs the build image image_id over the source in src (tmp/src, bound
 * read-only) and extracts what it leaves in its /app into app (tmp/app),
 * with the caps and the sanitiser's rules as the stream comes
 * (sanitise.h); its output goes into log. 0 with o filled, or -1 with the
 * reason in the job's err. */
int jd_artifacts_run_contained(jd_artifacts_outcome *o, const jd_artifacts_job *job,
                               const char *tmp, const char *src, const char *app,
                               const char *image_id, dk_buf *log);

/* ---- the artifacts cache's entries (artifacts.c, artifacts_gc.c) ---- */

#define JD_ARTIFACTS_TMP_PREFIX ".tmp-"
#define JD_ARTIFACTS_DEL_PREFIX ".del-" /* an entry being removed: never a hit, always gc'd */
#define JD_ARTIFACTS_MARKER "result.json"

#endif
