/* Disk readings, the water marks and reclaiming space (see disk.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "build/artifacts.h"
#include "build/image_cache.h"
#include "build/source.h"
#include "common/fs.h"
#include "common/log.h"
#include "daemon/disk.h"

int jd_disk_read(jd_disk_reading *out, const char *path) {
  memset(out, 0, sizeof *out);
  struct statvfs v;
  if (statvfs(path, &v))
    return -1;
  uint64_t unit = v.f_frsize ? v.f_frsize : v.f_bsize;
  out->free_bytes = (uint64_t)v.f_bavail * unit;
  out->total_bytes = (uint64_t)v.f_blocks * unit;
  out->free_inodes = v.f_favail;
  out->total_inodes = v.f_files;
  return 0;
}

int jd_disk_inodes_pct(const jd_disk_reading *r) {
  if (!r->total_inodes)
    return 100;
  return (int)(r->free_inodes * 100 / r->total_inodes);
}

bool jd_disk_low(const jd_disk_marks *m, const jd_disk_reading *r, bool was_low) {
  int pct = jd_disk_inodes_pct(r);
  if (was_low)
    return (int64_t)r->free_bytes < m->high_bytes || pct < m->high_inodes_pct;
  return (int64_t)r->free_bytes < m->low_bytes || pct < m->low_inodes_pct;
}

/* ---- reclaiming -------------------------------------------------------- */

static int images_step(size_t *removed, const jd_reclaim_opts *o, int keep) {
  jd_ctx *ctx = o->ctx;
  if (!o->images || !ctx || !ctx->dk)
    return 0;
  /* Failed builds' step images first: nothing uses them (removed only
   * while no build of this state dir runs; otherwise a later drain). */
  size_t drained = 0;
  bool busy = false;
  char err[512];
  if (jd_build_leftovers_drain(&drained, &busy, NULL, ctx, 0, err, sizeof err) != 0)
    jd_log(JD_LOG_WARN, "disk.reclaim", "failed builds' step images: %s", err);
  *removed += drained;
  jd_image_gc_opts go = {.keep = keep};
  jd_image_gc_result *r = NULL;
  if (jd_image_gc(&r, ctx, &go, err, sizeof err) != 0) {
    jd_log(JD_LOG_WARN, "disk.reclaim", "environment images: %s", err);
    return -1;
  }
  for (char **t = r->removed; t && *t; t++)
    (*removed)++;
  jd_image_gc_result_free(r);
  return 0;
}

static int artifacts_step(size_t *removed, const jd_reclaim_opts *o, int64_t max_age_s) {
  if (!o->files)
    return 0;
  size_t n = 0;
  int rc = jd_artifacts_gc(&n, o->state_dir, max_age_s, false);
  *removed += n;
  if (rc)
    jd_log(JD_LOG_WARN, "disk.reclaim", "artifacts cache: %s", strerror(errno));
  /* Git mirrors unused as long: the same age, never one a task holds. */
  size_t m = 0;
  int grc = jd_git_gc(&m, NULL, o->state_dir, max_age_s, false);
  *removed += m;
  if (grc)
    jd_log(JD_LOG_WARN, "disk.reclaim", "git mirrors: %s", strerror(errno));
  return rc || grc ? -1 : 0;
}

typedef struct output_dir {
  char *name;
  time_t mtime;
} output_dir;

static int by_mtime(const void *a, const void *b) {
  const output_dir *x = a, *y = b;
  return (x->mtime > y->mtime) - (x->mtime < y->mtime);
}

static void outputs_free(output_dir *v, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(v[i].name);
  free(v);
}

/* The task output directories under dirfd made before `before` (a task
 * starting now is never in the list), unsorted. */
static int outputs_list(output_dir **out, size_t *n, int dirfd, time_t before) {
  *out = NULL;
  *n = 0;
  int fd = dup(dirfd);
  DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
  if (!dir) {
    if (fd >= 0)
      close(fd);
    return -1;
  }
  size_t cap = 0;
  int rc = 0;
  for (struct dirent *e = readdir(dir); e; e = readdir(dir)) {
    struct stat st;
    if (e->d_name[0] == '.' || fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) ||
        !S_ISDIR(st.st_mode) || st.st_mtime >= before)
      continue;
    if (*n == cap) {
      cap = cap ? cap * 2 : 64;
      output_dir *grown = realloc(*out, cap * sizeof *grown);
      if (!grown) {
        rc = -1;
        break;
      }
      *out = grown;
    }
    (*out)[*n].name = strdup(e->d_name);
    (*out)[*n].mtime = st.st_mtime;
    if (!(*out)[*n].name) {
      rc = -1;
      break;
    }
    (*n)++;
  }
  closedir(dir);
  return rc;
}

/* Task outputs, oldest first, until enough(). */
static int outputs_step(size_t *removed, bool *enough, const jd_reclaim_opts *o) {
  if (!o->files)
    return 0;
  int dirfd = open(o->out_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dirfd < 0)
    return errno == ENOENT ? 0 : -1;
  output_dir *v = NULL;
  size_t n = 0;
  int rc = outputs_list(&v, &n, dirfd, time(NULL));
  if (v)
    qsort(v, n, sizeof *v, by_mtime);
  for (size_t i = 0; !rc && i < n && !*enough; i++) {
    if (o->busy && o->busy(o->ud, v[i].name))
      continue;
    if (jd_rm_rf_at(dirfd, v[i].name)) {
      jd_log(JD_LOG_WARN, "disk.reclaim", "output %s: %s", v[i].name, strerror(errno));
      continue;
    }
    (*removed)++;
    *enough = o->enough && o->enough(o->ud);
  }
  outputs_free(v, n);
  close(dirfd);
  return rc;
}

int jd_disk_reclaim(jd_reclaim_report *rep, const jd_reclaim_opts *o) {
  memset(rep, 0, sizeof *rep);
  int rc = 0;
  for (int step = 0; step < 5 && !rep->enough; step++) {
    switch (step) {
    case 0:
      rc |= images_step(&rep->images, o, 2);
      break;
    case 1:
      rc |= artifacts_step(&rep->artifacts, o, 7 * 86400);
      break;
    case 2:
      rc |= outputs_step(&rep->outputs, &rep->enough, o);
      break;
    case 3:
      rc |= images_step(&rep->images, o, 0);
      break;
    default:
      rc |= artifacts_step(&rep->artifacts, o, 86400);
      break;
    }
    if (!rep->enough)
      rep->enough = o->enough && o->enough(o->ud);
  }
  return rc ? -1 : 0;
}
