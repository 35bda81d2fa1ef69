// test-labels: engine redis host-only
/* The host guard end to end (judger/daemon/guard.c), disk side: the real
 * `judger daemon` whose state directory is a private 48 MiB tmpfs mounted
 * by the test (unmounted on every path, in fini), filled past the
 * low-water mark (16 MiB free) before the daemon starts. It must say
 * `paused: disk low` (heartbeat, `judger status`) and take no task; once
 * the filling becomes an old task output, its reclaiming removes it, the
 * state dir is over the high-water mark (28 MiB) again, it resumes and the
 * waiting match finishes.
 *
 * Not serial: the tmpfs is the test's own, nothing else writes there.
 * host-only: a tmpfs mounted after a sidecar engine started is not seen
 * inside it (its /tmp bind is private), so the match's work dir would not
 * be either. The engine side is guard.c. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/clock.h"
#include "common/fs.h"
#include "common/util.h"
#include "daemon_proc.h"
#include "queue/queue.h"
#include "redis_server.h"
#include "support.h"

#define MiB (1 << 20)

static t_redis *srv;
static char *mnt;    /* the tmpfs, unmounted in fini */
static t_proc *proc; /* the daemon, killed in fini before the unmount */

static void up(void) { srv = t_redis_start(false, false); }

static void down(void) {
  if (proc && proc->log) {
    /* The log is on the tmpfs: kept for a failure's message. */
    char cmd[800];
    snprintf(cmd, sizeof cmd, "cp %s /tmp/jdtest-guard-disk.log 2>/dev/null", proc->log);
    (void)!system(cmd);
  }
  t_proc_free(proc);
  proc = NULL;
  if (mnt) {
    umount2(mnt, MNT_DETACH);
    t_rmdir(mnt);
    mnt = NULL;
  }
  t_redis_stop(srv);
}

static void write_blob(const char *path, size_t bytes) {
  FILE *f = fopen(path, "wb");
  cr_assert(f, "%s", path);
  static char chunk[MiB];
  memset(chunk, 'x', sizeof chunk);
  for (size_t done = 0; done < bytes; done += sizeof chunk)
    cr_assert_eq(fwrite(chunk, 1, sizeof chunk, f), sizeof chunk);
  cr_assert_eq(fclose(f), 0);
}

/* The heartbeat's disks.state_dir.<key>. */
static long long state_disk(jd_queue *q, const char *host, const char *key) {
  json_object *hb = t_heartbeat(q, host), *disks = NULL, *sd = NULL, *v = NULL;
  long long n = -1;
  if (hb && json_object_object_get_ex(hb, "disks", &disks) &&
      json_object_object_get_ex(disks, "state_dir", &sd) && json_object_object_get_ex(sd, key, &v))
    n = json_object_get_int64(v);
  json_object_put(hb);
  return n;
}

Test(guard_disk, low_disk_pauses_reclaiming_frees_it_work_resumes, .init = up, .fini = down,
     .timeout = 300) {
  dk_client *c = t_client();
  t_busybox_image(c);
  char *host = t_unique("jdg-disk");
  mnt = t_tmpdir("guard-disk");
  cr_assert_eq(mount("tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV, "size=48m,mode=0700"), 0,
               "mount tmpfs on %s", mnt);
  /* 36 MiB of something the daemon must not touch: 12 MiB free < 16. */
  char filler[600], old[600], old_filler[700], cmd[1200];
  snprintf(filler, sizeof filler, "%s/filler", mnt);
  write_blob(filler, 36 * MiB);
  proc = t_daemon_spawn(srv->url, host, mnt,
                        "--guard-ms 300 --disk-low 16m --disk-high 28m --engine-root none");
  jd_queue *q = t_queue_client(srv->url);
  t_wait_paused(q, host, "disk low", 0, 30000, proc->log);
  cr_assert_lt(state_disk(q, host, "free_bytes"), 16 * MiB);
  cr_assert_eq(state_disk(q, host, "low"), 1);
  snprintf(cmd, sizeof cmd,
           "%s/bin/judger status --redis %s | grep '%s' | grep -q 'paused: disk low'",
           JD_BINARY_DIR, srv->url, host);
  cr_assert_eq(system(cmd), 0, "judger status does not say paused: disk low");
  /* Not taken: several heartbeats after the submission it is untouched. */
  long long submitted = jd_unix_ms();
  t_submit_game_match(q, "gd-1", 1);
  t_wait_paused(q, host, "disk low", submitted + 2500, 15000, proc->log);
  char *st = t_task_field(q, "gd-1", "state");
  cr_assert(st && !strcmp(st, "queued"), "taken while the disk is low: %s (log %s)", st, proc->log);
  free(st);
  /* The filling becomes an output of a task finished two days ago: what
   * reclaiming removes first on the state dir. */
  snprintf(old, sizeof old, "%s/tasks/old-task", mnt);
  cr_assert_eq(jd_mkdir_p(old, 0755), 0);
  snprintf(old_filler, sizeof old_filler, "%s/filler", old);
  cr_assert_eq(rename(filler, old_filler), 0);
  struct timespec ts[2] = {{time(NULL) - 2 * 86400, 0}, {time(NULL) - 2 * 86400, 0}};
  cr_assert_eq(utimensat(AT_FDCWD, old, ts, AT_SYMLINK_NOFOLLOW), 0);
  int64_t freed_at = jd_mono_ms();
  t_wait_paused(q, host, NULL, 0, 30000, proc->log);
  int64_t resume_ms = jd_mono_ms() - freed_at;
  cr_assert_not(jd_path_exists(old), "reclaiming leaves the old output (log %s)", proc->log);
  cr_assert_geq(state_disk(q, host, "free_bytes"), 28 * MiB);
  char *res = t_wait_result(q, "gd-1", 60000, proc->log);
  char *status = t_task_field(q, "gd-1", "status");
  cr_assert(status && !strcmp(status, "finished"), "gd-1: %s (log %s)", status, proc->log);
  fprintf(stderr, "disk low: reclaimed and resumed %lld ms after the space became reclaimable\n",
          (long long)resume_ms);
  kill(proc->pid, SIGTERM);
  cr_assert_eq(t_proc_wait(proc, 20000), 0, "log %s", proc->log);
  t_cleanup_host(c, host);
  free(status);
  free(res);
  jd_queue_free(q);
  free(host);
  dk_client_free(c);
}
