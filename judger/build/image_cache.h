/* Environment images of programs, content-addressed by their Dockerfile.
 *
 * An environment image is built from its Dockerfile alone (the build context
 * holds only that file: no user code), so the sha256 of the Dockerfile's
 * bytes is a sound cache key. It is tagged "<domain>-<id>-<op>:<sha256>"
 * and "<domain>-<id>-<op>:latest", and labelled judger.domain, judger.id,
 * judger.op, judger.dockerfile-sha256 (what `judger gc` selects on).
 * A cache hit costs one image inspect and one image list (its size).
 *
 * RUN steps run under a parent cgroup with the limits' pids as pids.max
 * where the judger can make it on the engine (build/run_cgroup.h), and an
 * image larger than the limits' image_bytes is CE: removed when its build
 * ends (its tag; :latest is moved only after the check), refused as is
 * when found cached.
 *
 * Files: image_cache.c (the cache hit and the build), image_leftovers.c
 * (the step images failed builds leave), image_gc.c (gc and purge).
 */
#ifndef JD_IMAGE_CACHE_H
#define JD_IMAGE_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "build/build.h"
#include "build/program.h"
#include "common/context.h"
#include "common/verdict.h"

typedef struct jd_env_image {
  char *tag;          /* "<repo>:<sha256>" */
  char *image_id;     /* "sha256:..."; NULL when the build failed */
  bool cached;        /* found by tag: nothing built */
  jd_verdict verdict; /* OK, CE (the Dockerfile failed), TLE (wall time), UE (canceled) */
  char *message;      /* one line when verdict != OK */
  char *log;          /* the engine's build output, capped (NULL on a cache hit) */
} jd_env_image;

/* Makes sure the image of the request's program for op and this
 * Dockerfile exists, building it when its tag is missing. Of the request
 * it takes the program (ref.domain, ref.id), the limits, the labels (added
 * to the image; tests label theirs), progress and cancel. Image builds get
 * the limits' memory (swap equal), cpus and wall time, with the network
 * the limits' image_network names (build_net.h); the wall time really
 * cancels the build on the engine. Returns 0 with *out filled when the
 * outcome is known (verdict OK or the Dockerfile's fault), -1 with the
 * reason in err for a system fault (engine down...). The caller frees *out
 * with jd_env_image_free(). */
int jd_env_image_ensure(jd_env_image **out, jd_ctx *ctx, const jd_build_request *req, jd_op op,
                        const char *dockerfile, size_t len, char *err, size_t errlen);
void jd_env_image_free(jd_env_image *img);

/* Whether a failed build's message says the engine lost an image it made
 * itself during the build: the whole message is `unable to find image
 * "sha256:<id>"`, the failing step (the stream's last "Step N/M : ..." line)
 * names no image (not FROM, COPY --from or ONBUILD), and the Dockerfile
 * never names the id. Removing any image while a classic build runs can
 * delete that build's fresh step image (moby#29011; every removal does it
 * on the containerd image store), so that failure is the engine's, not the
 * Dockerfile's. */
bool jd_build_lost_own_image(const char *message, const char *step, const char *dockerfile,
                             size_t len);

/* Removes the step images failed builds left (their records under
 * <state_dir>/build-leftovers, image_leftovers.c), only while no build of
 * state_dir runs: it waits at most wait_ms for that, and otherwise sets
 * *busy and removes nothing. Each image by its id, newest first, without
 * force or pruning; one with a tag or a child stays. 0 with *removed;
 * *held when a container holds a recorded image (its record is tried
 * again by the next drain, for a day). -1 with the reason in err (the
 * records stay). removed, busy and held may be NULL. */
int jd_build_leftovers_drain(size_t *removed, bool *busy, bool *held, jd_ctx *ctx, int64_t wait_ms,
                             char *err, size_t errlen);

typedef struct jd_image_gc_opts {
  const char *domain; /* NULL = both */
  const char *id;     /* NULL = every program */
  int keep;           /* besides the current (":latest") image, keep the N most recent */
  bool dry_run;
} jd_image_gc_opts;

typedef struct jd_image_gc_result {
  char **removed; /* tags (or ids) removed, NULL-terminated */
  char **in_use;  /* old images kept because a container uses them */
  size_t kept;    /* images kept as current or recent */
} jd_image_gc_result;

/* Removes old environment images (image_gc.c): per (domain, id, op), keeps
 * the one tagged ":latest" and the `keep` most recent others; never
 * removes an image a container (running or stopped) uses. 0, or -1 with
 * the reason in err. */
int jd_image_gc(jd_image_gc_result **out, jd_ctx *ctx, const jd_image_gc_opts *opts, char *err,
                size_t errlen);
void jd_image_gc_result_free(jd_image_gc_result *r);

/* Removes every environment image of a program (both ops, every tag), e.g.
 * when the platform deletes the program (image_gc.c). domain NULL = both.
 * Without force an image a container uses is kept (and counted in
 * *in_use). *removed and *in_use may be NULL. 0, or -1 with the reason in
 * err. */
int jd_image_purge(size_t *removed, size_t *in_use, jd_ctx *ctx, const char *domain, const char *id,
                   bool force, char *err, size_t errlen);

/* What jd_image_purge() without force would do, doing nothing: *would_remove
 * gets the program's images no container uses, *in_use the others. 0, or
 * -1 with the reason in err. */
int jd_image_purge_plan(size_t *would_remove, size_t *in_use, jd_ctx *ctx, const char *domain,
                        const char *id, char *err, size_t errlen);

#endif
