/* Programs: a game logic or an AI, its environment images and its build.
 *
 * A program is a domain (game_logic | ai), an id and a source tree holding
 * run.Dockerfile (required) and build.Dockerfile (optional). Environment
 * images are built from the Dockerfile alone and tagged
 * "<domain>-<id>-<op>:<sha256 hex of the Dockerfile bytes>" (e.g.
 * "game_logic-tron-run:3f…"), so an unchanged Dockerfile is never rebuilt.
 * Code reaches containers at /app: for the build op a tmpfs the judger's
 * shim fills with a copy of the source and empties into the artifacts
 * (artifacts.h); for the run op the artifacts directory bound read-only.
 * See docs/programs.md.
 */
#ifndef JD_PROGRAM_H
#define JD_PROGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/context.h"
#include "dockerapi/cancel.h"
#include "dockerapi/stream.h"

typedef enum { JD_DOMAIN_GAME_LOGIC, JD_DOMAIN_AI } jd_domain;

typedef struct jd_program_ref {
  jd_domain domain;
  const char *id;
  const char *dir;     /* local source directory, or */
  const char *git_url; /* git repository (URL or path) */
  const char *git_ref; /* branch, tag or commit; NULL = HEAD */
  const char *tar_url; /* http(s) tarball */
  /* The build's deadline and cancel token while the source is opened (a
   * git fetch, the wait for its mirror's lock); NULL = none. */
  const dk_call *call;
  /* Fetches (git, tarballs) connect to public addresses only
   * (common/netaddr.h); the host's policy (fetch_private) decides. */
  bool public_only;
} jd_program_ref;

typedef struct jd_build_limits {
  double cpus;
  int64_t memory;
  int64_t pids;
  int64_t wall_ms;
  size_t log_max;
  bool network; /* build op network; default off */
  /* Network of the RUN steps of environment image builds (build_net.h):
   * NULL or "proxy" = the build network, whose only way out is the
   * allow-listing proxy; "none" = offline; "bridge" = the engine's default
   * bridge (unfiltered: the host is reachable); another name = that
   * network. */
  const char *image_network;
  /* Caps on what a build leaves in /app (build/sanitise.h): a build past
   * one is CE. */
  int64_t artifacts_bytes; /* sum of the regular files' sizes */
  int64_t artifacts_files; /* entries of any kind */
  int64_t artifacts_depth; /* directory levels below /app */
  /* Cap on an environment image's size as the engine reports it when its
   * build ends (base layers included): a larger image is removed with its
   * tag and the build is CE. */
  int64_t image_bytes;
} jd_build_limits; /* zero fields = documented defaults (docs/build.md) */

/* Defaults used for zero fields of jd_build_limits. */
#define JD_BUILD_DEFAULT_CPUS 1.0
#define JD_BUILD_DEFAULT_MEMORY ((int64_t)1024 * 1024 * 1024)
#define JD_BUILD_DEFAULT_PIDS 256
#define JD_BUILD_DEFAULT_WALL_MS ((int64_t)300 * 1000)
#define JD_BUILD_DEFAULT_LOG_MAX ((size_t)256 * 1024)
#define JD_BUILD_DEFAULT_ARTIFACTS_BYTES ((int64_t)1024 * 1024 * 1024)
#define JD_BUILD_DEFAULT_ARTIFACTS_FILES ((int64_t)200 * 1000)
#define JD_BUILD_DEFAULT_ARTIFACTS_DEPTH 64
/* 4 GiB: the samples' images are at most 512 MB (gcc on the Debian base;
 * the base alone is 171 MB, python3 on it about 200 MB), which leaves
 * eight times that for heavier toolchains, while one program cannot keep
 * more of the engine's disk. */
#define JD_BUILD_DEFAULT_IMAGE_BYTES ((int64_t)4 * 1024 * 1024 * 1024)
/* The user build containers run as (nobody:nogroup, like players). */
#define JD_BUILD_UID 65534

/* *out = *limits (NULL = all defaults) with every zero field set to its
 * default. */
void jd_build_limits_defaults(jd_build_limits *out, const jd_build_limits *limits);

int jd_domain_parse(jd_domain *out, const char *s);
const char *jd_domain_name(jd_domain d);

/* ---- helpers shared by the build modules -------------------------------- */

typedef enum { JD_OP_BUILD, JD_OP_RUN } jd_op;
const char *jd_op_name(jd_op op);

/* Progress as lines: the text of an image build or of a build container,
 * cut at newlines for a line callback, each folded (common/crfold.h: a
 * CR-rewritten line arrives once, in its last state). Lines past 64 KiB are left out of
 * the progress (the build log keeps them). */
typedef void (*jd_progress_fn)(void *ud, const char *line);
typedef struct jd_progress {
  jd_progress_fn fn; /* NULL: the text is dropped */
  void *ud;
  dk_lines lines;
} jd_progress;
void jd_progress_init(jd_progress *p, jd_progress_fn fn, void *ud);
void jd_progress_feed(jd_progress *p, const char *text, size_t len);
/* Delivers a last line without a newline and frees the splitter. */
void jd_progress_finish(jd_progress *p);

/* Checks a program id: lowercase [a-z0-9][a-z0-9_.-]*, at most 64 chars, and
 * "<domain>-<id>-<op>" must be a valid Docker repository name (no "..",
 * no "._", no trailing '.' or '_'...). On failure returns -1 and writes a
 * one-line reason into err. */
int jd_program_id_check(const char *id, char *err, size_t errlen);

/* The engine's last message for a failed call rc (static storage). */
const char *jd_engine_message(int rc);

/* Repository of an environment image: "<domain>-<id>-<op>". */
int jd_image_repo(char *out, size_t outlen, jd_domain d, const char *id, jd_op op);
/* Full tag "<repo>:<sha256 hex of dockerfile>" of an environment image. */
int jd_image_tag_for(char *out, size_t outlen, jd_domain d, const char *id, jd_op op,
                     const void *dockerfile, size_t len);

#endif
