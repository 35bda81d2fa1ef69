/* Image metadata cannot add writable places.
 *
 * An image's Config.Volumes (VOLUME in its Dockerfile) makes the engine
 * create an anonymous volume for each path at container create: an ext4
 * directory under /var/lib/docker, outside the read-only root, the tmpfs
 * caps and the memory limit. A contestant's image could write gigabytes
 * there. The engine creates no volume for a path where a mount already is
 * (its HasMountFor looks at HostConfig.Tmpfs too), so every container the
 * judger creates from a program's image (game logic, players, warm players,
 * program builds) covers each declared path with a size-capped tmpfs:
 * tmpfs pages are charged to the writer's memory cgroup, so whatever is
 * written there counts in the container's memory limit too.
 *
 * A path that cannot be covered safely is refused, the image's fault:
 * not absolute, empty, with a "." or ".." component or a control byte,
 * not UTF-8, longer than JD_VOLUME_PATH_MAX, the root itself, under /proc,
 * /sys or /dev (the runtime's own filesystems), strictly inside a mount of
 * the judger's (a tmpfs or a bind it sets: /tmp/x, /app/x, /judger/out/x),
 * or more than JD_VOLUMES_MAX distinct paths. A path equal to one of the
 * judger's mounts (/tmp, /app) is already covered by it. A path is cleaned
 * as the engine cleans it (repeated and trailing slashes), so the tmpfs
 * lands where the engine looks.
 *
 * A covered path starts empty: the image's files there are hidden (an
 * anonymous volume would have had a copy of them); its directory keeps
 * the image's mode and owner when the image has one (runc), else 1777. */
#ifndef JD_VOLUMES_H
#define JD_VOLUMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dockerapi/types.h"

/* Distinct declared paths an image may have. */
#define JD_VOLUMES_MAX 16
/* Bytes of one declared path (cleaned). */
#define JD_VOLUME_PATH_MAX 255
/* The caller's own tmpfs entries (kept first in the list). */
#define JD_VOLUMES_BASE_MAX 4

typedef struct jd_volumes {
  /* What goes into HostConfig.Tmpfs: the caller's entries, then one per
   * covered path. Points into this struct and the caller's entries. */
  dk_kv tmpfs[JD_VOLUMES_BASE_MAX + JD_VOLUMES_MAX];
  size_t ntmpfs;
  size_t ncovered; /* the declared paths given a tmpfs of their own */
  char paths[JD_VOLUMES_MAX][JD_VOLUME_PATH_MAX + 1];
  char opts[96];
  bool refused;  /* a declared path cannot be covered: the image's fault */
  char why[400]; /* then: one line naming the path */
} jd_volumes;

/* Checks one declared path and writes its cleaned form (at most
 * JD_VOLUME_PATH_MAX bytes) into clean (cleanlen bytes). Returns 0, or -1
 * with why the image cannot have it in err (the rules above that need no
 * other mount: absolute, components, bytes, length, /, /proc, /sys, /dev). */
int jd_volume_path_clean(char *clean, size_t cleanlen, const char *path, char *err, size_t errlen);

/* Fills v (zeroed first) for an image's declared paths: volumes
 * (NULL-terminated, NULL = none; truncated: the library kept only the
 * first ones, refused), beside the caller's tmpfs entries (base, nbase:
 * path -> options, copied first into v->tmpfs) and binds ("host:ctr[:opts]",
 * NULL-terminated, may be NULL). Each path to cover gets
 * "rw,nosuid,nodev,size=<size>,mode=1777". Returns 0 with v->tmpfs /
 * v->ntmpfs to put in the host config, or with v->refused and v->why (the
 * tmpfs list then holds only the caller's entries); -1 only when nbase is
 * past JD_VOLUMES_BASE_MAX or size is not positive (the judger's bug, with
 * err). */
int jd_volumes_cover(jd_volumes *v, const char *const *volumes, bool truncated, const dk_kv *base,
                     size_t nbase, const char *const *binds, int64_t size, char *err,
                     size_t errlen);

#endif
