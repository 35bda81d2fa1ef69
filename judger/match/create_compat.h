/* What every container the judger creates carries whatever the engine
 * (explicit Ulimits), and the forms Podman's compatible API takes for the
 * rest (common/engine.h's compatibility flags; docs/engines.md):
 *   - the seccomp profile as a file path: Podman reads SecurityOpt
 *     "seccomp=<inline json>" as a path (Podman #27710), so the profile is
 *     written once to <state_dir>/engine/seccomp-<sha256:16>.json and
 *     passed as "seccomp=<that path>" (the engine must see the same path:
 *     a local engine, or a sidecar sharing the state directory);
 *   - tmpfs options Podman knows: no nr_inodes (unknown), and "U" (owned by
 *     the container's user) for uid=/gid= (unknown too);
 *   - with a read-only root, a shut tmpfs over /run and /var/tmp (and /tmp
 *     when the create has none): Podman otherwise mounts writable,
 *     executable ones of its own there (read_only_tmpfs), outside the
 *     judger's sized /tmp;
 *   - Ulimits on every create, on Docker as well (one path): Podman gives a
 *     create without them nofile/nproc 1048576, which runc cannot set where
 *     the engine's own hard limit is lower, and the container fails to
 *     start.
 * Every create (match units, build commands, the build proxy) goes through
 * jd_create_compat() just before dk_container_create. */
#ifndef JD_CREATE_COMPAT_H
#define JD_CREATE_COMPAT_H

#include <limits.h>
#include <stddef.h>

#include "common/context.h"
#include "common/engine.h"
#include "common/volumes.h"
#include "dockerapi/containers.h"

/* The Ulimits of a create: core 0 on every engine (the first entry); on
 * Podman nofile and nproc too, which it would otherwise ask runc to set to
 * 1048576. nofile: under the engine's own hard limit (runc cannot raise a
 * hard limit). nproc counts a uid's processes host-wide (every player of
 * every match is 65534), so it stays high: PidsLimit is the real cap per
 * container; on Docker both stay the engine's. */
#define JD_ULIMIT_NOFILE 8192
#define JD_ULIMIT_NPROC 32768
#define JD_CREATE_NULIMITS 3
extern const dk_ulimit jd_create_ulimits[JD_CREATE_NULIMITS];

/* The tmpfs mounted, on an engine with tmpfs_over_run, at each of /run,
 * /var/tmp and /tmp that a read-only create leaves free, in place of the
 * engine's own writable, executable and unsized one: read-only, nothing
 * runs from it, a page, root's (measured on Podman 4.3.1: docs/engines.md).
 * The root stays as read-only as on Docker, where those paths are part of
 * it. notmpcopyup: Podman would copy the image's files there first, and an
 * image with more than a page of them would not start (a failed start is
 * the engine's fault, so a program could make its runs system faults). */
#define JD_COMPAT_SHUT_TMPFS "ro,noexec,nosuid,nodev,size=4096,mode=0755,notmpcopyup"
#define JD_COMPAT_SHUT_MAX 3

/* Room for a host config's tmpfs entries (the caller's, then the shut
 * ones) and SecurityOpt strings. */
#define JD_COMPAT_TMPFS_MAX (JD_VOLUMES_BASE_MAX + JD_VOLUMES_MAX + JD_COMPAT_SHUT_MAX)
#define JD_COMPAT_SECOPT_MAX 8
#define JD_COMPAT_OPTS_MAX 256

/* Storage for what jd_create_compat rewrites; it must outlive the host
 * config (beside the config's own storage). */
typedef struct jd_compat_store {
  dk_kv tmpfs[JD_COMPAT_TMPFS_MAX];
  char opts[JD_COMPAT_TMPFS_MAX][JD_COMPAT_OPTS_MAX];
  const char *secopt[JD_COMPAT_SECOPT_MAX + 1];
  char seccomp[PATH_MAX + 16];
} jd_compat_store;

/* Rewrites tmpfs options for e (pure): unchanged where e knows
 * nr_inodes; else without nr_inodes=..., and with "U" in place of uid=/gid=.
 * 0, or -1 (errno ENAMETOOLONG) when out is too small. */
int jd_compat_tmpfs_opts(char *out, size_t n, const jd_engine *e, const char *opts);

/* The seccomp profile as the file Podman reads: written (when missing or
 * not the judger's) to <state_dir>/engine/seccomp-<sha256:16>.json, 0644,
 * through a temporary file made with O_EXCL and a rename, no link
 * followed; out gets "seccomp=<path>". state_dir must be absolute. 0, or
 * -1 with err. */
int jd_seccomp_file_opt(char *out, size_t n, const char *state_dir, char *err, size_t errlen);

/* hc (filled by its owner) for e: Ulimits set to jd_create_ulimits; on an
 * engine with seccomp_by_path, the "seccomp=" entry of SecurityOpt
 * replaced by seccomp_path_opt (jd_seccomp_file_opt's); tmpfs options
 * rewritten by jd_compat_tmpfs_opts; on an engine with tmpfs_over_run and
 * a read-only root, a JD_COMPAT_SHUT_TMPFS tmpfs appended at each of /run,
 * /var/tmp, /tmp where hc has no tmpfs or bind (the judger's own /tmp and
 * an image's covered volume stay as they are). Pure. 0, or -1 with err
 * (too many entries, an option too long, no path where one is needed). */
int jd_compat_apply(dk_host_config *hc, jd_compat_store *st, const jd_engine *e,
                    const char *seccomp_path_opt, char *err, size_t errlen);

/* jd_compat_apply for ctx's engine (learnt once, jd_ctx_engine), with the
 * profile's file under ctx->state_dir when the engine needs one. 0, or -1
 * with err. */
int jd_create_compat(dk_host_config *hc, jd_compat_store *st, jd_ctx *ctx, char *err,
                     size_t errlen);

#endif
