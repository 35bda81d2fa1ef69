/* `judger build` as a function: ensures a program's environment images and
 * build artifacts, with caches, and tells what happened. Used by the
 * `judger build` command and by the daemon's build tasks.
 *
 *   ops: JD_BUILD_OP_RUN  the run image (run.Dockerfile)
 *        JD_BUILD_OP_BUILD the build image (build.Dockerfile, if any) and the
 *                          artifacts (the build image's CMD over a copy of the
 *                          source with /app writable)
 * See docs/build.md for the outcome vocabulary and the caches.
 */
#ifndef JD_BUILD_H
#define JD_BUILD_H

#include <stdbool.h>
#include <stdint.h>

#include "build/program.h"
#include "common/context.h"
#include "common/error.h"
#include "common/verdict.h"

enum { JD_BUILD_OP_BUILD = 1, JD_BUILD_OP_RUN = 2, JD_BUILD_OP_ALL = 3 };

typedef struct jd_build_request {
  jd_program_ref ref;
  int ops;                /* JD_BUILD_OP_* bits; 0 = all */
  jd_build_limits limits; /* zero fields = defaults (program.h) */
  /* Called with each line of progress (image build steps, compiler output);
   * may be NULL. Called on the calling thread. */
  void (*progress)(void *ud, const char *line);
  void *ud;
  dk_cancel *cancel; /* may be NULL; firing it stops the build (verdict UE) */
  /* Extra labels put on built images and build containers (e.g. a task id);
   * may be NULL. */
  const dk_kv *labels;
  size_t nlabels;
} jd_build_request;

/* One environment image (run or build). */
typedef struct jd_build_image {
  char *tag;      /* "<domain>-<id>-<op>:<sha256 of the Dockerfile>" */
  char *image_id; /* "sha256:..." once it exists */
  bool cached;    /* the tag was already there: nothing was built */
} jd_build_image;

/* How a build ended: its name in results and the exit code of `judger build`. */
#define JD_BUILD_STATUS_MAP(XX)                                                                    \
  XX(OK, "ok", JD_EXIT_OK)              /* built or cached */                                      \
  XX(FAILED, "failed", JD_EXIT_PROGRAM) /* the program's fault */                                  \
  XX(INVALID, "invalid", JD_EXIT_USAGE) /* the request is unusable */                              \
  XX(ERROR, "error", JD_EXIT_SYSTEM)    /* engine, disk, judger */

typedef enum jd_build_status {
#define JD_BUILD_STATUS_ENUM(code, name, exit) JD_BUILD_STATUS_##code,
  JD_BUILD_STATUS_MAP(JD_BUILD_STATUS_ENUM)
#undef JD_BUILD_STATUS_ENUM
      JD_BUILD_STATUS_COUNT
} jd_build_status;

/* "ok", "failed", ...; "?" outside the enum. Static storage. */
const char *jd_build_status_name(jd_build_status s);

typedef struct jd_build_result {
  /* Process-style outcome, as `judger build` exits with it:
   * 0 ok (built or cached), 1 the program's fault, 2 usage, 3 system fault
   * (the exit code of status in JD_BUILD_STATUS_MAP). */
  int exit_code;
  jd_build_status status;
  jd_verdict verdict; /* OK, CE, TLE, MLE, UE; JD_VERDICT_COUNT (none) when INVALID */
  const char *stage;  /* where it stopped or finished (static storage): "source",
                         "run_image", "build_image", "artifacts", "done" */
  char *message;      /* one line; NULL when all is well */
  char *log;          /* the failing step's output (image build or compiler), capped; may be NULL */
  char *domain, *id;
  char *source_identity;     /* "git:<tree id>", "tree:<sha256>" (see docs/build.md) */
  char *commit;              /* git commit id for git sources, else NULL */
  jd_build_image run, build; /* tag NULL when that op was not asked / no build.Dockerfile */
  char *artifacts_key;       /* sha256 hex; NULL when the build op was not asked */
  char *artifacts_dir;       /* host dir to bind at /app (read-only) for the run op */
  bool artifacts_cached;
  int64_t duration_ms;
  /* For exit code 3: -1 (a system fault stopped the build: the engine, the
   * host's disk; message says which); 0 otherwise. */
  int error_code;
} jd_build_result;

/* Runs the request. Returns 0 with *out filled for every outcome that can be
 * described (ok, the program's fault, invalid request, engine failure): look
 * at (*out)->exit_code. Returns <0 (and *out NULL) only when memory runs out.
 * The caller frees *out with jd_build_result_free(). */
int jd_build_run(jd_build_result **out, jd_ctx *ctx, const jd_build_request *req);
void jd_build_result_free(jd_build_result *r);
/* The verdict's name ("OK", "CE"...), or NULL when the request was invalid. */
const char *jd_build_result_verdict(const jd_build_result *r);
/* The result as one JSON object (docs/build.md), and as its text: the
 * caller frees either (json_object_put / free). NULL when memory runs out. */
struct json_object;
struct json_object *jd_build_result_object(const jd_build_result *r);
char *jd_build_result_json(const jd_build_result *r);

#endif
