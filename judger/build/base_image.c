/* The offline Debian base image (see base_image.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "build/base_image.h"
#include "common/clock.h"
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

int jd_base_image_ensure(bool *built, jd_ctx *ctx, const char *tag, const char *mirror,
                         void (*progress)(void *ud, const char *line), void *ud, char *err,
                         size_t errlen) {
  if (built)
    *built = false;
  if (!tag)
    tag = JD_BASE_IMAGE;
  if (!mirror)
    mirror = getenv("JUDGER_DEBIAN_MIRROR");
  if (!mirror || !*mirror)
    mirror = JD_BASE_MIRROR;
  dk_image_info *info = NULL;
  int rc = dk_image_inspect(&info, ctx->dk, tag);
  dk_image_info_free(info);
  if (rc == 0)
    return 0;
  if (rc != DK_ENOTFOUND) {
    snprintf(err, errlen, "cannot inspect %s: %s", tag,
             dk_error_last() ? dk_error_last()->message : dk_strerror(rc));
    return -1;
  }
  const char *colon = strrchr(tag, ':');
  if (!colon || strchr(colon, '/')) {
    snprintf(err, errlen, "base image tag '%s' must be REPO:TAG", tag);
    return -1;
  }
  char repo[256];
  snprintf(repo, sizeof repo, "%.*s", (int)(colon - tag), tag);

  /* One debootstrap per host at a time: two processes that both miss (two
   * test suites, two judgers) would otherwise each spend a minute making
   * the same image. The loser waits, then finds the tag. */
  int lock_fd = open("/run/lock/judger-base-image.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd < 0)
    lock_fd = open("/tmp/judger-base-image.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd >= 0 && flock(lock_fd, LOCK_EX) == 0) {
    rc = dk_image_inspect(&info, ctx->dk, tag);
    dk_image_info_free(info);
    if (rc == 0) {
      close(lock_fd);
      return 0;
    }
  }

  char work[PATH_MAX], rootfs[PATH_MAX + 16];
  snprintf(work, sizeof work, "%s/work/base-XXXXXX", ctx->state_dir);
  char parent[PATH_MAX];
  snprintf(parent, sizeof parent, "%s/work", ctx->state_dir);
  if (jd_mkdir_p(parent, 0755) != 0 || !mkdtemp(work)) {
    snprintf(err, errlen, "cannot make a work directory under %s: %s", parent, strerror(errno));
    if (lock_fd >= 0)
      close(lock_fd);
    return -1;
  }
  snprintf(rootfs, sizeof rootfs, "%s/rootfs", work);
  int fds[2] = {-1, -1};
  pthread_t th;
  bool thread_started = false;
  tar_writer w = {.fd = -1, .dir = rootfs};
  rc = -1;
  int ds = run_debootstrap(rootfs, mirror, progress, ud);
  if (ds != 0) {
    snprintf(err, errlen, "debootstrap --variant=minbase bookworm %s failed (status %d)", mirror,
             ds);
    goto cleanup;
  }
  /* Downloaded .debs are not needed in the image. */
  char cache[PATH_MAX + 64];
  snprintf(cache, sizeof cache, "%s/var/cache/apt/archives", rootfs);
  jd_rm_rf(cache);
  snprintf(cache, sizeof cache, "%s/var/cache/apt/archives/partial", rootfs);
  jd_mkdir_p(cache, 0755);
  if (progress)
    progress(ud, "importing the root filesystem into the engine");
  if (pipe2(fds, O_CLOEXEC) != 0) {
    snprintf(err, errlen, "pipe: %s", strerror(errno));
    goto cleanup;
  }
  w.fd = fds[1];
  if (pthread_create(&th, NULL, write_tar, &w) != 0) {
    snprintf(err, errlen, "cannot start the tar writer");
    goto cleanup;
  }
  thread_started = true;
  fds[1] = -1; /* the writer closes it */
  dk_call call = {.deadline_ms = jd_mono_ms() + 30 * 60 * 1000};
  int irc = dk_image_import(ctx->dk, read_pipe, &fds[0], repo, colon + 1, &call);
  /* Unblock the writer if the import stopped reading early. */
  close(fds[0]);
  fds[0] = -1;
  pthread_join(th, NULL);
  thread_started = false;
  if (irc) {
    snprintf(err, errlen, "import of %s failed: %s", tag,
             dk_error_last() ? dk_error_last()->message : dk_strerror(irc));
    goto cleanup;
  }
  if (w.rc) {
    snprintf(err, errlen, "cannot archive %s: %s", rootfs,
             dk_error_last() ? dk_error_last()->message : dk_strerror(w.rc));
    goto cleanup;
  }
  if (built)
    *built = true;
  rc = 0;
cleanup:
  if (fds[0] >= 0)
    close(fds[0]);
  if (fds[1] >= 0)
    close(fds[1]);
  if (thread_started)
    pthread_join(th, NULL);
  jd_rm_rf(work);
  if (lock_fd >= 0)
    close(lock_fd); /* releases the flock */
  return rc;
}
