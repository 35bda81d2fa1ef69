/* The host guard: the daemon stops taking tasks while this host cannot run
 * them well — its engine does not answer GET /_ping, or a disk it writes
 * (the state directory, the engine's data root) is under its low-water
 * mark — and takes them again once the engine answers and the disks are
 * over their high-water marks. Running tasks go on meanwhile; nothing is
 * failed or dead-lettered for a pause. Under the low-water mark it reclaims
 * space (disk.h). The heartbeat, `judger status` and the metrics show the
 * reason (docs/daemon.md "Pauses").
 *
 * The state below is what the heartbeat and the metrics read: one enum per
 * kind with one name table each. */
#ifndef JD_GUARD_H
#define JD_GUARD_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/disk.h"

/* Why the daemon takes no tasks; the heartbeat's "paused" is the name of
 * the first one in force (in this order). */
#define JD_PAUSE_MAP(XX)                                                                           \
  XX(ENGINE, "engine unreachable", "GET /_ping fails: no task is taken until it answers again")    \
  XX(DISK, "disk low", "a disk is under its low-water mark: reclaiming, waiting for the high one")

typedef enum jd_pause {
#define JD_PAUSE_ENUM(code, name, text) JD_PAUSE_##code,
  JD_PAUSE_MAP(JD_PAUSE_ENUM)
#undef JD_PAUSE_ENUM
      JD_PAUSE_COUNT /* also "not paused" */
} jd_pause;

const char *jd_pause_name(jd_pause p);

/* The disks the guard watches. */
#define JD_GUARDED_MAP(XX)                                                                         \
  XX(STATE, "state_dir", "the state directory: caches, work dirs, outputs, spool")                 \
  XX(ENGINE, "engine_root", "the engine's data root (DockerRootDir), when it is on this host")

typedef enum jd_guarded {
#define JD_GUARDED_ENUM(code, name, text) JD_GUARDED_##code,
  JD_GUARDED_MAP(JD_GUARDED_ENUM)
#undef JD_GUARDED_ENUM
      JD_GUARDED_COUNT
} jd_guarded;

const char *jd_guarded_name(jd_guarded g);

typedef struct jd_guard_disk {
  bool checked; /* its path is known and statvfs answered at the last check */
  bool low;     /* under the low mark, not yet back over the high one */
  char path[256];
  jd_disk_reading r;
} jd_guard_disk;

typedef struct jd_guard_state {
  bool paused[JD_PAUSE_COUNT];
  jd_guard_disk disks[JD_GUARDED_COUNT];
  uint64_t reclaims; /* reclaim rounds made for a low disk */
  uint64_t pauses;   /* times taking tasks stopped */
} jd_guard_state;

/* The first pause reason in force, JD_PAUSE_COUNT when none. */
jd_pause jd_guard_paused(const jd_guard_state *s);

struct jd_daemon;
/* A copy of the daemon's guard state (any thread). */
void jd_daemon_guard_get(struct jd_daemon *d, jd_guard_state *out);

#endif
