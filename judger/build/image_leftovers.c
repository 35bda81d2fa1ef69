/* The step images failed builds leave, and their drain (image_cache.h,
 * build_internal.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "build/build_internal.h"
#include "build/image_cache.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/util.h"

/* The classic builder keeps every step it finished as an untagged image
 * without the build's labels, also when a later step fails: a RUN that
 * writes 4 GB followed by `RUN false`, changed each time to miss the cache,
 * would leave 4 GB on the engine's disk per build, for good. Each build
 * writes the short ids of the step images it makes (watch_steps) into a record
 * of its own, <state_dir>/build-leftovers/<random>.ids (its first line:
 * "start <unix seconds>"); a build that ends with its image kept removes
 * its record, any other (failed, timed out, canceled, over the size cap,
 * a system fault, a judger killed mid-build) leaves it.
 *
 * A step image is shared only through the cache: another build whose
 * steps are the same up to there uses it as its parent, and between its
 * "Using cache" and its next step's container or image nothing protects
 * it (no child, no container, no tag: moby#29011); a removal then makes
 * that build fail with `unable to find image`. So records are drained
 * only while no build of this state dir runs: each build holds
 * <state_dir>/locks/builds shared while the engine builds, and the drain
 * takes it exclusive without waiting (after every build, and `judger
 * gc`). A build that finds the drain running waits for it (a few
 * removals). Each image is removed by its full id, newest first, without
 * force and without pruning its parents; one with a tag, a child or a
 * container (409) stays (another build's image holds it: the engine
 * prunes it with that image), as does one created before its build
 * started (a RUN printed someone else's id). */
#define LEFTOVERS_DIR "build-leftovers"
#define LEFTOVERS_RECORD_MAX ((size_t)1024 * 1024)
#define BUILDS_LOCK "builds"
/* How long a build waits for a drain to finish before building anyway
 * (a removal racing it then at worst costs a retry: jd_build_lost_own_image). */
#define BUILDS_LOCK_WAIT_MS 60000
/* How long a record whose image a container holds is tried again (a
 * canceled build's step container, which the engine removes after the
 * build's end; a container someone made from a step image). */
#define LEFTOVERS_HELD_S (24 * 3600)
/* How long a build that failed waits for its own step container to go
 * before it leaves its record to the next drain. */
#define LEFTOVERS_OWN_WAIT_MS 10000
/* Clock slack between the judger and the engine when an image's creation
 * time is compared with its build's start. */
#define LEFTOVERS_CLOCK_SLACK_S 5

/* Opens <state_dir>/<sub> (made 0700 when missing), no link followed: a
 * directory fd, or -1 with errno. */
static int state_subdir(const char *state_dir, const char *sub) {
  char dir[PATH_MAX];
  if (snprintf(dir, sizeof dir, "%s/%s", state_dir, sub) >= (int)sizeof dir) {
    errno = ENAMETOOLONG;
    return -1;
  }
  if (jd_mkdir_p(dir, 0700) != 0)
    return -1;
  return open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* The builds lock, taken how (LOCK_SH or LOCK_EX), polled for at most
 * wait_ms or until cancel fires: the fd, or -1 (busy, or no state dir). */
static int builds_lock(const char *state_dir, int how, int64_t wait_ms, const dk_cancel *cancel) {
  if (!state_dir)
    return -1;
  int d = state_subdir(state_dir, "locks");
  int f = d < 0 ? -1 : openat(d, BUILDS_LOCK, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (d >= 0)
    close(d);
  if (f < 0)
    return -1;
  int64_t until = jd_mono_ms() + wait_ms;
  while (flock(f, how | LOCK_NB) != 0) {
    if ((errno != EWOULDBLOCK && errno != EINTR) || jd_mono_ms() >= until ||
        (cancel && dk_cancel_fired(cancel))) {
      close(f);
      return -1;
    }
    usleep(20 * 1000);
  }
  return f;
}

static void builds_unlock(int fd) {
  if (fd >= 0) {
    (void)flock(fd, LOCK_UN);
    close(fd);
  }
}

void jd_leftovers_begin(jd_leftovers *lo, jd_ctx *ctx, dk_cancel *cancel, jd_progress_fn progress,
                        void *ud) {
  char rnd[17], head[64];
  *lo = (jd_leftovers){.dirfd = -1, .fd = -1, .lock = -1};
  if (!ctx->state_dir)
    return;
  lo->lock = builds_lock(ctx->state_dir, LOCK_SH, BUILDS_LOCK_WAIT_MS, cancel);
  if (lo->lock < 0 && progress)
    progress(ud, "[judger] building while failed builds' images are being removed "
                 "(the builds lock could not be had)");
  lo->dirfd = state_subdir(ctx->state_dir, LEFTOVERS_DIR);
  if (lo->dirfd < 0 || jd_random_hex(rnd, 8) != 0)
    return;
  snprintf(lo->name, sizeof lo->name, "%s.ids", rnd);
  lo->fd = openat(lo->dirfd, lo->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  int n = snprintf(head, sizeof head, "start %lld\n", (long long)time(NULL));
  if (lo->fd >= 0 && jd_write_all(lo->fd, head, (size_t)n) != 0) {
    close(lo->fd);
    lo->fd = -1;
  }
}

void jd_leftovers_end(jd_leftovers *lo, jd_ctx *ctx, bool kept) {
  if (lo->fd >= 0) {
    close(lo->fd);
    if (kept)
      (void)unlinkat(lo->dirfd, lo->name, 0);
  }
  builds_unlock(lo->lock);
  /* A build past its wall time or canceled ends before the engine has
   * removed its step container, which holds its last step image: its own
   * record is tried again for a while. */
  int64_t until = jd_mono_ms() + LEFTOVERS_OWN_WAIT_MS;
  bool busy = false, held = false;
  struct stat st;
  while (ctx->state_dir && jd_build_leftovers_drain(NULL, &busy, &held, ctx, 0, NULL, 0) == 0 &&
         held && !busy && !kept && lo->fd >= 0 &&
         fstatat(lo->dirfd, lo->name, &st, AT_SYMLINK_NOFOLLOW) == 0 && jd_mono_ms() < until)
    usleep(100 * 1000);
  if (lo->dirfd >= 0)
    close(lo->dirfd);
}

/* An RFC 3339 time as unix seconds; -1 when it is not one. */
static int64_t rfc3339_s(const char *s) {
  struct tm tm = {0};
  const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
  return end ? (int64_t)timegm(&tm) : -1;
}

/* Removes one recorded image unless a tag, a child or a container holds
 * it or it is older than its build: *removed when it went, *held when a
 * container holds it. 0, or -1 with the engine's reason in err. */
static int drain_image(bool *removed, bool *held, jd_ctx *ctx, const char *id, int64_t start,
                       char *err, size_t errlen) {
  *removed = *held = false;
  dk_image_info *info = NULL;
  int rc = dk_image_inspect(&info, ctx->dk, id);
  if (rc)
    return rc == DK_ENOTFOUND ? 0 : jd_build_engine_fail(rc, err, errlen);
  bool tagged = false;
  for (char **t = info->repo_tags; t && *t; t++)
    tagged |= strcmp(*t, "<none>:<none>") != 0;
  int64_t created = info->created ? rfc3339_s(info->created) : -1;
  bool older = created >= 0 && created + LEFTOVERS_CLOCK_SLACK_S < start;
  if (!tagged && !older && info->id) {
    rc = dk_image_remove(ctx->dk, info->id, false, true); /* by full id, no force, noprune */
    const dk_error *e = rc == DK_ECONFLICT ? dk_error_last() : NULL;
    *held = e && e->message && strstr(e->message, "container"); /* maybe the build's own, going */
    *removed = rc == 0;
    if (rc && rc != DK_ECONFLICT && rc != DK_ENOTFOUND)
      rc = jd_build_engine_fail(rc, err, errlen);
    else
      rc = 0;
  }
  dk_image_info_free(info);
  return rc;
}

/* One record: its images newest first. 0 when it is done with (the record
 * can go) or, with *held, when a container holds one of its images (it
 * stays, for a day at most); -1 with the reason in err (it stays for the
 * next drain). */
static int drain_record(size_t *removed, bool *held, jd_ctx *ctx, int dirfd, const char *name,
                        char *err, size_t errlen) {
  *held = false;
  int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return 0;
  char *data = malloc(LEFTOVERS_RECORD_MAX + 1);
  ssize_t n = data ? read(fd, data, LEFTOVERS_RECORD_MAX) : -1;
  close(fd);
  if (n < 0) {
    free(data);
    return jd_fail(err, errlen, "%s", dk_strerror(DK_ENOMEM));
  }
  data[n] = '\0';
  long long start = 0;
  if (sscanf(data, "start %lld", &start) != 1)
    start = 0;
  int rc = 0;
  /* Lines from the end: newest first, children before their parents. */
  for (char *end = data + n; !rc && !*held && end > data;) {
    char *line = end - 1;
    while (line > data && line[-1] != '\n')
      line--;
    size_t len = (size_t)(end - line);
    /* a short id: 12 digits from Docker, 11 from Podman (build_steps.h) */
    size_t hex = strspn(line, "0123456789abcdef");
    if ((len == 12 || len == 13) && hex == len - 1 && line[hex] == '\n') {
      line[hex] = '\0';
      bool gone = false;
      rc = drain_image(&gone, held, ctx, line, (int64_t)start, err, errlen);
      if (gone && removed)
        (*removed)++;
    }
    end = line;
  }
  free(data);
  /* A held image's parents wait with it; a day at most. */
  if (*held && (int64_t)time(NULL) - start >= LEFTOVERS_HELD_S)
    *held = false;
  return rc;
}

int jd_build_leftovers_drain(size_t *removed, bool *busy, bool *held, jd_ctx *ctx, int64_t wait_ms,
                             char *err, size_t errlen) {
  if (removed)
    *removed = 0;
  if (busy)
    *busy = false;
  if (held)
    *held = false;
  if (!ctx->state_dir)
    return 0;
  int lock = builds_lock(ctx->state_dir, LOCK_EX, wait_ms, NULL);
  if (lock < 0) {
    if (busy)
      *busy = true;
    return 0;
  }
  int dirfd = state_subdir(ctx->state_dir, LEFTOVERS_DIR);
  DIR *d = dirfd >= 0 ? fdopendir(dirfd) : NULL;
  int rc = 0;
  if (!d) {
    if (dirfd >= 0)
      close(dirfd);
    builds_unlock(lock);
    return jd_fail(err, errlen, "%s", dk_strerror(DK_EINTERNAL));
  }
  for (struct dirent *de; (de = readdir(d)) != NULL;) {
    size_t len = strlen(de->d_name);
    if (len < 5 || strcmp(de->d_name + len - 4, ".ids") != 0)
      continue;
    bool h = false;
    char why[512];
    if (drain_record(removed, &h, ctx, dirfd, de->d_name, why, sizeof why) != 0) {
      if (!rc) /* the first failure's reason */
        rc = jd_fail(err, errlen, "%s", why);
    } else if (!h) {
      (void)unlinkat(dirfd, de->d_name, 0);
    }
    if (h && held)
      *held = true;
  }
  closedir(d);
  builds_unlock(lock);
  return rc;
}
