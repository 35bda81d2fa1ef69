/* Program builds (the *build* op) and the per-host artifacts cache.
 *
 * A build runs a container of the build image with its entrypoint and CMD
 * over a copy of the source in /app: what it leaves in /app are the
 * artifacts. /app is a tmpfs of the container sized to the artifacts caps
 * (bytes, inodes) and counted in its memory, so a build that writes more
 * stops at its own cap and the host's disk never sees it; judger-hold
 * (match/hold/hold_build.h), its PID 1, copies the source in and streams
 * /app out through a FIFO, which the judger extracts under the caps and
 * the sanitiser's rules as it comes (sanitise.h). Limits: cpus, memory
 * (swap equal: no swap; /tmp and /app count in it), pids, wall time (the
 * container is killed and removed when it passes; the copy out counts),
 * network off unless asked (the build's own network behind the proxy),
 * log cap. Verdicts: OK, CE (non-zero exit, a cap passed, a source past
 * the caps), TLE, MLE (OOM-killed), UE (engine or judger failure).
 *
 * Cache: <state_dir>/artifacts/<key>/{app/,result.json} with
 *   key = sha256("judger-artifacts-v1\n" <source identity> "\n" <build image id or "none"> "\n")
 * where the source identity is "git:<tree id>" or "tree:<sha256 of the
 * directory>" (source.h). Only OK builds are cached; entries appear by an
 * atomic rename, so a reader never sees half an entry.
 */
#ifndef JD_ARTIFACTS_H
#define JD_ARTIFACTS_H

#include <stdbool.h>
#include <stdint.h>

#include "build/build.h"
#include "build/program.h"
#include "common/context.h"
#include "common/verdict.h"

typedef struct jd_artifacts {
  char *key;          /* sha256 hex */
  char *dir;          /* host directory to bind at /app read-only (NULL unless OK) */
  bool cached;        /* found in the cache: nothing ran */
  jd_verdict verdict; /* OK, CE, TLE, MLE, UE */
  char *message;      /* one line when verdict != OK */
  char *log;          /* the build's stdout+stderr, capped; NULL on a cache hit */
  int64_t exit_code;
  int64_t duration_ms;
} jd_artifacts;

/* Returns the cached artifacts for (identity, build image) or builds them
 * from src_dir for the request's program (ref.domain, ref.id) with its
 * limits, labels (put on the build container), progress and cancel. 0
 * with *out filled for every verdict; -1 with the reason in err when the
 * system failed (the engine, the host's disk). Free with
 * jd_artifacts_free(). */
int jd_artifacts_ensure(jd_artifacts **out, jd_ctx *ctx, const jd_build_request *req,
                        const char *src_dir, const char *source_identity,
                        const char *build_image_id, char *err, size_t errlen);
void jd_artifacts_free(jd_artifacts *a);

/* The cache hit path alone: *out is the cached entry, or NULL on a miss
 * (then the source is needed: jd_artifacts_ensure()). 0, or -1 with the
 * reason in err when memory runs out. */
int jd_artifacts_lookup(jd_artifacts **out, jd_ctx *ctx, const char *source_identity,
                        const char *build_image_id, char *err, size_t errlen);

/* Removes cache entries not used for max_age_s seconds (and stale partial
 * ones): artifacts_gc.c. *removed (may be NULL) gets the count. 0 or -1
 * with errno. */
int jd_artifacts_gc(size_t *removed, const char *state_dir, int64_t max_age_s, bool dry_run);

#endif
