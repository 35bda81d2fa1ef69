/* libdockerapi — images. */
#ifndef DOCKERAPI_IMAGES_H
#define DOCKERAPI_IMAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "client.h"
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dk_build_opts {
  const char *const *tags; /* NULL-terminated "repo:tag" */
  const char *dockerfile;  /* path inside the context; NULL = "Dockerfile" */
  const dk_kv *buildargs;
  size_t nbuildargs;
  const dk_kv *labels;
  size_t nlabels;
  int64_t memory; /* per build step, bytes; 0 = unset */
  int64_t memswap;
  int64_t cpu_quota, cpu_period;
  const char *cpuset_cpus;
  bool nocache;
  bool pull;              /* false: never try a registry */
  bool keep_intermediate; /* false: rm=1 forcerm=1 */
  /* For RUN steps: "none", "bridge", "host" or a network's name; NULL =
   * the engine's default (Docker's bridge). On Podman (dk_client_engine,
   * or `libpod` below) it goes as Podman's own build parameters: its
   * builds ignore Docker's networkmode and run RUN steps in the engine
   * host's network namespace (measured on 4.3.1); there NULL, "bridge" and
   * "default" mean Podman's default network. */
  const char *network_mode;
  const char *target;
  size_t log_max; /* cap of the kept log; 0 = 1 MiB */
  /* The cgroup the RUN steps' containers are made under ("cgroupparent",
   * e.g. "/name" with the cgroupfs driver); NULL = the engine's. */
  const char *cgroup_parent;
  /* Send network_mode the Podman way even when the engine did not say it
   * is Podman (dk_client_engine() is not DK_ENGINE_PODMAN): its namespace
   * options (nsoptions) and network policy (networkmode 1 = disabled,
   * 2 = enabled), which Podman's /build and /libpod/build both take. */
  bool libpod;
} dk_build_opts;

/* Called with each progress text the engine streams ("Step 2/5 : RUN ...").
 * Return non-zero to stop the build (that value is returned). */
typedef int (*dk_build_cb)(void *ud, const char *text, size_t len);

/* POST /build with a tar context. On success *image_id (may be NULL) gets the
 * new image's id (malloc'd). A failure reported inside the stream (error /
 * errorDetail) returns DK_EBUILD with the engine's message as the last
 * error. log (may be NULL) receives the whole progress text, capped. When the
 * call's deadline passes or it is canceled, the connection is closed, which
 * makes the engine cancel the build. */
int dk_image_build(char **image_id, dk_client *c, const void *context, size_t context_len,
                   const dk_build_opts *opts, dk_build_cb cb, void *ud, dk_buf *log,
                   const dk_call *call);

typedef struct dk_image_info {
  char *id;
  /* NULL-terminated, in Docker's short form on every engine: Podman's
   * "docker.io/library/x:1" is "x:1" here, as Docker shows it. */
  char **repo_tags;
  char *created; /* RFC 3339; NULL when the image config has none (omitted from API 1.44) */
  int64_t size;
  char *raw_json;
  /* Config.Volumes: the paths the image declares (VOLUME), as the engine
   * stores them (not cleaned: "/var//x/" stays so), in its order;
   * NULL-terminated, empty when none. At most DK_IMAGE_VOLUMES_MAX are
   * kept, with volumes_truncated set past that. */
  char **volumes;
  bool volumes_truncated;
} dk_image_info;

/* A cap on the volumes kept from one image's metadata (a program's image
 * is the program's input). */
#define DK_IMAGE_VOLUMES_MAX 256

int dk_image_inspect(dk_image_info **out, dk_client *c, const char *name);
/* A deep copy of i (NULL for NULL, or without memory); the caller frees it
 * with dk_image_info_free(). */
dk_image_info *dk_image_info_dup(const dk_image_info *i);
void dk_image_info_free(dk_image_info *i);
int dk_image_tag(dk_client *c, const char *image, const char *repo, const char *tag);
int dk_image_remove(dk_client *c, const char *name, bool force, bool noprune);

typedef struct dk_image_summary {
  char *id;
  char **repo_tags; /* NULL-terminated, short form (as dk_image_info's) */
  int64_t created;  /* unix seconds */
  int64_t size;
  int containers; /* -1 when the engine did not count */
} dk_image_summary;

typedef struct dk_image_list {
  dk_image_summary *items;
  size_t count;
} dk_image_list;

/* GET /images/json filtered by labels (NULL-terminated "k=v"), or reference
 * ("repo" or "repo:tag" pattern), either may be NULL. */
int dk_image_list_filtered(dk_image_list **out, dk_client *c, const char *const *labels,
                           const char *reference);
void dk_image_list_free(dk_image_list *l);
/* POST /images/prune?filters={"dangling":["false"],"label":[...]}. */
int dk_image_prune(size_t *deleted, dk_client *c, const char *const *labels, bool dangling_only);

/* POST /images/create?fromSrc=- with a tar of a root filesystem, read from
 * `read` until it returns 0. repo/tag name the result. */
int dk_image_import(dk_client *c, size_t (*read)(char *buf, size_t n, void *ud), void *ud,
                    const char *repo, const char *tag, const dk_call *call);
/* The same from a tar held in memory. */
int dk_image_import_mem(dk_client *c, const void *tar, size_t len, const char *repo,
                        const char *tag);

#ifdef __cplusplus
}
#endif
#endif
