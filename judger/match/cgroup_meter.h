/* What one running container has used and the power to freeze it, read
 * where it is cheapest (docs/protocol.md "Turn clocks", "Accounting"):
 *   cgroup-v1 / cgroup-v2: the engine's cgroup files of the container, when
 *     the judger runs on the engine's host (cgroupfs or systemd layout under
 *     the cgroup root); reads are preads on descriptors opened once, freezing
 *     a write to the freezer (v1 freezer.state, v2 cgroup.freeze).
 *   api: the engine's stats (one shot) and pause/unpause, anywhere else (a
 *     DinD sidecar, a tcp engine).
 * A container's cgroup disappears when its processes exit: a meter then
 * fails to read (ENODEV/ENOENT), and its last reading is what remains.
 * Not thread-safe: one caller at a time per meter.
 */
#ifndef JD_CGROUP_METER_H
#define JD_CGROUP_METER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dockerapi/dockerapi.h"

#define JD_METER_BACKEND_MAP(XX)                                                                   \
  XX(JD_METER_CGROUP_V1, "cgroup-v1")                                                              \
  XX(JD_METER_CGROUP_V2, "cgroup-v2")                                                              \
  XX(JD_METER_API, "api")

typedef enum {
#define JD_METER_BACKEND_ENUM(code, name) code,
  JD_METER_BACKEND_MAP(JD_METER_BACKEND_ENUM)
#undef JD_METER_BACKEND_ENUM
      JD_METER_BACKEND_COUNT
} jd_meter_backend;

const char *jd_meter_backend_name(jd_meter_backend b);

/* Which backends a meter may use (the clock_backend setting). */
typedef enum { JD_METER_AUTO, JD_METER_ONLY_API, JD_METER_ONLY_CGROUP } jd_meter_mode;

/* -1 in a field: the backend cannot give it (docs say which). */
typedef struct jd_usage {
  int64_t cpu_ns;       /* user + system CPU of every process of the container */
  int64_t memory_peak;  /* bytes, highest use seen by the kernel (v1 max_usage, v2 memory.peak) */
  int64_t throttled_ns; /* CFS: time throttled by the CPU quota */
  int64_t throttled_periods; /* CFS periods throttled */
} jd_usage;

typedef struct jd_meter jd_meter;

/* A meter of container id (64 hex digits) on client c (kept, not owned;
 * used by the api backend only). cgroup_root: the host's cgroup mount
 * (NULL = "/sys/fs/cgroup"). AUTO takes the cgroup files when they exist,
 * else the api. Returns 0, or -1 with err (ONLY_CGROUP and no files). */
int jd_meter_open(jd_meter **out, dk_client *c, const char *id, const char *cgroup_root,
                  jd_meter_mode mode, char *err, size_t errlen);
jd_meter_backend jd_meter_backend_of(const jd_meter *m);
/* CPU only: the fastest read (the clock's). Returns 0, or -1 with err. */
int jd_meter_cpu(int64_t *cpu_ns, jd_meter *m, char *err, size_t errlen);
/* Every figure. Returns 0, or -1 with err. */
int jd_meter_read(jd_usage *out, jd_meter *m, char *err, size_t errlen);
/* Freezes (true) or thaws (false) every process of the container; a freeze
 * returns once the kernel says frozen. Returns 0, or -1 with err. */
int jd_meter_freeze(jd_meter *m, bool frozen, char *err, size_t errlen);
/* A freeze that does not wait (the clock thread serves other players
 * meanwhile): asks for it and sets *done when the kernel says frozen
 * already; then jd_meter_freeze_poll until *done (it asks again, as runc
 * does, for a task that missed the request). A task under its CPU quota
 * can take tens of ms to reach the freezer, but spends no CPU meanwhile.
 * The api backend pauses (waits) in start. Returns 0, or -1 with err. */
int jd_meter_freeze_start(jd_meter *m, bool *done, char *err, size_t errlen);
int jd_meter_freeze_poll(jd_meter *m, bool *done, char *err, size_t errlen);
void jd_meter_close(jd_meter *m);
/* Before a container of the judger's is removed by a sweep or a
 * reconciliation: thaws it through the host's freezer when its cgroup
 * files are there (a judger killed while it held a player frozen; the
 * engine does not know, and before Linux 6.1 a frozen task takes no
 * SIGKILL, so its removal would hang). Best effort, no error: nothing to
 * do off the engine's host, and the engine's own pause is undone by its
 * kill. */
void jd_meter_thaw_host(const char *id, const char *cgroup_root);

#endif
