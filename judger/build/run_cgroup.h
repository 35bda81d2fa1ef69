/* A process limit for the RUN steps of one environment image build.
 *
 * The classic builder (POST /build) has no pids limit, and RLIMIT_NPROC
 * (the build's `ulimits`) never binds uid 0 of the initial user namespace
 * (the kernel exempts it: a step running as root forked 2000 processes
 * under `nproc=300`). What the build API does carry is `cgroupparent`: the
 * step containers' cgroups are made under it, so a parent the judger
 * creates with pids.max bounds every process of every step, root or not,
 * hierarchically.
 *
 * The parent has to be made where the engine (its runc) looks: the
 * engine's own /sys/fs/cgroup, reached as /proc/<engine pid>/root/sys/fs/
 * cgroup. The engine's pid is the peer of its unix socket (SO_PEERCRED),
 * so this works for the host's engine and for a Docker-in-Docker sidecar on
 * the same host, with the cgroupfs driver (cgroup v1, or v2 with pids in
 * the root's subtree_control). It cannot work for an engine reached over
 * TCP, an engine whose process is outside the judger's pid namespace (the
 * judger in a container beside the engine: the peer pid is 0), the
 * systemd cgroup driver (the parent must be a systemd slice there), or a
 * judger without write access to the engine's cgroup mounts: then
 * jd_run_cgroup_create() fails with the reason and the build goes on
 * without a process limit in its RUN steps (the caller says so).
 */
#ifndef JD_RUN_CGROUP_H
#define JD_RUN_CGROUP_H

#include <stddef.h>
#include <stdint.h>

#include "dockerapi/dockerapi.h"

typedef struct jd_run_cgroup {
  int root_fd;     /* the engine's /sys/fs/cgroup */
  int dir_fd;      /* the parent in the pids hierarchy */
  char name[96];   /* the directory's name in each hierarchy */
  char parent[97]; /* "/<name>": the build's cgroupparent */
} jd_run_cgroup;

/* The prefix of every parent's name: "judger-run-<pid>-<n>-<random>". */
#define JD_RUN_CGROUP_PREFIX "judger-run-"

/* Makes a parent cgroup with pids.max = pids on the engine c talks to.
 * 0 with *out set, or -1 with a one-line reason in err (nothing left
 * behind). Free with jd_run_cgroup_free(). Parents a judger killed during
 * a build left (a day old, no process in them) are removed on the way. */
int jd_run_cgroup_create(jd_run_cgroup **out, dk_client *c, int64_t pids, char *err, size_t errlen);

/* The most processes the parent held at once (pids.peak), or -1 when the
 * kernel does not keep it. */
int64_t jd_run_cgroup_peak(const jd_run_cgroup *cg);

/* Removes the parent from every hierarchy (the engine made it in the
 * others), waiting up to wait_ms for the step containers' cgroups under
 * it to go; what stays (a container the engine has not removed yet) is
 * left. Accepts NULL. */
void jd_run_cgroup_free(jd_run_cgroup *cg, int wait_ms);

#endif
