/* The offline Debian base image (see base_image.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "build/base_image.h"
#include "build/build_lock.h"
#include "build/program.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/util.h"

/* Runs debootstrap with its output (stdout+stderr) handed line by line to
 * progress; returns its exit status, or -1 if it could not run. */
static int run_debootstrap(const char *rootfs, const char *mirror,
                           void (*progress)(void *ud, const char *line), void *ud) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    return -1;
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return -1;
  }
  if (pid == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    execlp("debootstrap", "debootstrap", "--variant=minbase", "bookworm", rootfs, mirror,
           (char *)NULL);
    _exit(127);
  }
  close(fds[1]);
  FILE *f = fdopen(fds[0], "r");
  char line[1024];
  while (f && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    if (progress)
      progress(ud, line);
  }
  if (f)
    fclose(f);
  else
    close(fds[0]);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

typedef struct tar_writer {
  int fd;
  const char *dir;
  int rc;
} tar_writer;

/* Streams the root filesystem as a tar into the pipe the import reads:
 * ~200 MB never sits in memory or on disk twice. */
static void *write_tar(void *ud) {
  tar_writer *w = ud;
  w->rc = dk_tar_write_dir_fd(w->fd, w->dir);
  close(w->fd);
  return NULL;
}

static size_t read_pipe(char *buf, size_t n, void *ud) {
  int fd = *(int *)ud;
  for (;;) {
    ssize_t r = read(fd, buf, n);
    if (r >= 0)
      return (size_t)r;
    if (errno != EINTR)
      return 0;
  }
}

/* 1 when tag is there, 0 when it is not, -1 (err set) when the engine
 * cannot say. */
static int image_exists(jd_ctx *ctx, const char *tag, char *err, size_t errlen) {
  dk_image_info *info = NULL;
  int rc = dk_image_inspect(&info, ctx->dk, tag);
  dk_image_info_free(info);
  if (rc == 0 || rc == DK_ENOTFOUND)
    return rc == 0;
  return jd_fail(err, errlen, "cannot inspect %s: %s", tag, jd_engine_message(rc));
}

/* One debootstrap per state directory at a time: two builds that both miss
 * (two slots of a daemon, two judgers of the host) would otherwise each
 * spend minutes making the same image. The loser waits, then finds the tag.
 * The lock file lives in the state directory (the only place the systemd
 * unit lets the judger write), is never a link, and is waited for at most
 * o->lock_wait_ms or until o->cancel fires: 0 with *fd held (closing it
 * releases the lock), or -1 with the reason in err. */
static int lock_state(int *fd, jd_ctx *ctx, const jd_base_image_opts *o, char *err, size_t errlen) {
  bool waited = false;
  int64_t wait = o->lock_wait_ms > 0 ? o->lock_wait_ms : JD_BASE_LOCK_WAIT_MS;
  if (jd_build_lock_take(fd, &waited, ctx->state_dir, "base-image", wait, o->cancel) == 0)
    return 0;
  int e = errno;
  if (e == ETIMEDOUT)
    return jd_fail(err, errlen,
                   "waited %lld ms for %s/locks/build-base-image (another judger making the "
                   "base image)",
                   (long long)wait, ctx->state_dir);
  return jd_fail(err, errlen, "cannot lock %s/locks/build-base-image: %s", ctx->state_dir,
                 e == ECANCELED ? "canceled" : strerror(e));
}

/* debootstrap into rootfs, without the downloaded .debs. */
static int make_rootfs(const char *rootfs, const char *mirror,
                       void (*progress)(void *ud, const char *line), void *ud, char *err,
                       size_t errlen) {
  int ds = run_debootstrap(rootfs, mirror, progress, ud);
  if (ds != 0)
    return jd_fail(err, errlen, "debootstrap --variant=minbase bookworm %s failed (status %d)",
                   mirror, ds);
  char cache[PATH_MAX + 64];
  snprintf(cache, sizeof cache, "%s/var/cache/apt/archives", rootfs);
  jd_rm_rf(cache);
  snprintf(cache, sizeof cache, "%s/var/cache/apt/archives/partial", rootfs);
  jd_mkdir_p(cache, 0755);
  return 0;
}

/* Imports rootfs as repo:tag_name, streamed through a pipe by a writer
 * thread. */
static int import_rootfs(jd_ctx *ctx, const char *rootfs, const char *repo, const char *tag_name,
                         char *err, size_t errlen) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    return jd_fail(err, errlen, "pipe: %s", strerror(errno));
  tar_writer w = {.fd = fds[1], .dir = rootfs};
  pthread_t th;
  if (pthread_create(&th, NULL, write_tar, &w) != 0) {
    close(fds[0]);
    close(fds[1]);
    return jd_fail(err, errlen, "cannot start the tar writer");
  }
  /* The writer closes fds[1]. */
  dk_call call = {.deadline_ms = jd_mono_ms() + 30 * 60 * 1000};
  int irc = dk_image_import(ctx->dk, read_pipe, &fds[0], repo, tag_name, &call);
  /* Unblock the writer if the import stopped reading early. */
  close(fds[0]);
  pthread_join(th, NULL);
  if (irc)
    return jd_fail(err, errlen, "import of %s:%s failed: %s", repo, tag_name,
                   jd_engine_message(irc));
  if (w.rc)
    return jd_fail(err, errlen, "cannot archive %s: %s", rootfs, jd_engine_message(w.rc));
  return 0;
}

int jd_base_image_ensure_opts(bool *built, jd_ctx *ctx, const jd_base_image_opts *opts, char *err,
                              size_t errlen) {
  jd_base_image_opts none = {0};
  const jd_base_image_opts *o = opts ? opts : &none;
  if (built)
    *built = false;
  const char *tag = o->tag ? o->tag : JD_BASE_IMAGE;
  const char *mirror = o->mirror ? o->mirror : ctx->debian_mirror;
  if (!mirror || !*mirror)
    mirror = JD_BASE_MIRROR;
  int there = image_exists(ctx, tag, err, errlen);
  if (there)
    return there > 0 ? 0 : -1;
  const char *colon = strrchr(tag, ':');
  if (!colon || strchr(colon, '/'))
    return jd_fail(err, errlen, "base image tag '%s' must be REPO:TAG", tag);
  if (!ctx->state_dir)
    return jd_fail(err, errlen, "no state directory to make the base image in");
  char repo[256];
  snprintf(repo, sizeof repo, "%.*s", (int)(colon - tag), tag);

  int lock_fd = -1;
  if (jd_mkdir_mode(ctx->state_dir, 0700) != 0)
    return jd_fail(err, errlen, "cannot make %s: %s", ctx->state_dir, strerror(errno));
  if (lock_state(&lock_fd, ctx, o, err, errlen) != 0)
    return -1;
  there = image_exists(ctx, tag, err, errlen);
  if (there) {
    jd_build_lock_release(lock_fd);
    return there > 0 ? 0 : -1; /* made by the judger waited for */
  }
  char parent[PATH_MAX], work[PATH_MAX + 16], rootfs[PATH_MAX + 32];
  snprintf(parent, sizeof parent, "%s/work", ctx->state_dir);
  snprintf(work, sizeof work, "%s/base-XXXXXX", parent);
  int rc = -1;
  if (jd_mkdir_mode(parent, 0700) != 0 || !mkdtemp(work)) {
    jd_fail(err, errlen, "cannot make a work directory under %s: %s", parent, strerror(errno));
    goto cleanup;
  }
  snprintf(rootfs, sizeof rootfs, "%s/rootfs", work);
  rc = make_rootfs(rootfs, mirror, o->progress, o->ud, err, errlen);
  if (!rc && o->progress)
    o->progress(o->ud, "importing the root filesystem into the engine");
  if (!rc)
    rc = import_rootfs(ctx, rootfs, repo, colon + 1, err, errlen);
  jd_rm_rf(work);
  if (!rc && built)
    *built = true;
cleanup:
  jd_build_lock_release(lock_fd);
  return rc;
}

int jd_base_image_ensure(bool *built, jd_ctx *ctx, const char *tag, const char *mirror,
                         void (*progress)(void *ud, const char *line), void *ud, char *err,
                         size_t errlen) {
  jd_base_image_opts o = {.tag = tag, .mirror = mirror, .progress = progress, .ud = ud};
  return jd_base_image_ensure_opts(built, ctx, &o, err, errlen);
}
