/* The host's disks as the daemon's guard (guard.h) watches them: free bytes
 * and free inodes read with statvfs, the low- and high-water marks with
 * their hysteresis, and reclaiming space (old environment images, artifacts
 * cache entries, old task outputs). The decisions are pure functions of
 * readings, so tests inject them (tests/judger/daemon/disk.c). */
#ifndef JD_DISK_H
#define JD_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/context.h"

/* Under either low mark a disk is low; it is fine again only once it is
 * over both high marks (hysteresis: no pause/resume flapping around one
 * value). */
typedef struct jd_disk_marks {
  int64_t low_bytes, high_bytes;
  int low_inodes_pct, high_inodes_pct; /* free inodes, percent of all */
} jd_disk_marks;

typedef struct jd_disk_reading {
  uint64_t free_bytes, total_bytes;   /* what an unprivileged writer may use (f_bavail) */
  uint64_t free_inodes, total_inodes; /* total 0: no inode limit (btrfs, some tmpfs) */
} jd_disk_reading;

/* statvfs of path; 0 or -1 with errno. */
int jd_disk_read(jd_disk_reading *out, const char *path);

/* Whether the disk is low now, given whether it was low at the last
 * reading (the hysteresis). */
bool jd_disk_low(const jd_disk_marks *m, const jd_disk_reading *r, bool was_low);

/* Free inodes in percent of all (100 when the file system has no limit). */
int jd_disk_inodes_pct(const jd_disk_reading *r);

typedef struct jd_reclaim_opts {
  /* What to reclaim: environment images free the engine's data root
   * (needs ctx with an engine client), artifacts and outputs the state
   * directory. Only what frees the disk that is low goes. */
  bool images, files;
  jd_ctx *ctx;
  const char *state_dir, *out_dir;
  /* True once every low disk is over its high marks again: reclaiming
   * stops there (only what is needed goes). */
  bool (*enough)(void *ud);
  /* True for a task whose output directory is in use (it runs). */
  bool (*busy)(void *ud, const char *task_id);
  void *ud;
} jd_reclaim_opts;

typedef struct jd_reclaim_report {
  size_t images, artifacts, outputs; /* removed */
  bool enough;                       /* stopped because the disks are fine again */
} jd_reclaim_report;

/* Reclaims in steps, least valuable first, checking enough() after each:
 * failed builds' step images (when no build runs) and environment images
 * beyond the current one and 2 recent (never one a container uses),
 * artifacts and git mirrors unused for 7 days, task outputs oldest first
 * (never a running task's), every non-current environment image, artifacts
 * unused for a day (the steps o does not ask for are skipped). 0, or -1 when
 * a step failed (the others were still tried). */
int jd_disk_reclaim(jd_reclaim_report *rep, const jd_reclaim_opts *o);

#endif
