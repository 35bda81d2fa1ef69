/* The judger's own files through O_EXCL temporaries (see tmpfile.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/tmpfile.h"
#include "common/util.h"

/* Clashes retried before giving up (each is a fresh 64-bit random name). */
#define TMP_TRIES 16

int jd_tmpfile_open(jd_tmpfile *t, const char *dir, const char *name, int mode) {
  memset(t, 0, sizeof *t);
  t->fd = -1;
  if (!*name || strchr(name, '/') || strlen(name) >= sizeof t->name) {
    t->dirfd = -1;
    errno = EINVAL;
    return -1;
  }
  snprintf(t->name, sizeof t->name, "%s", name);
  t->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (t->dirfd < 0)
    return -1;
  for (int i = 0; i < TMP_TRIES; i++) {
    char rnd[17];
    if (jd_random_hex(rnd, 8)) {
      errno = EIO;
      break;
    }
    snprintf(t->tmp, sizeof t->tmp, ".judger-tmp-%s", rnd);
    t->fd = openat(t->dirfd, t->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                   (mode_t)mode);
    if (t->fd >= 0)
      return 0;
    if (errno != EEXIST)
      break;
  }
  int saved = errno;
  close(t->dirfd);
  t->dirfd = -1;
  errno = saved;
  return -1;
}

void jd_tmpfile_abort(jd_tmpfile *t) {
  if (!t || t->dirfd < 0)
    return;
  if (t->fd >= 0)
    close(t->fd);
  unlinkat(t->dirfd, t->tmp, 0);
  close(t->dirfd);
  t->fd = t->dirfd = -1;
}

int jd_tmpfile_commit(jd_tmpfile *t) {
  if (t->dirfd < 0) {
    errno = EBADF;
    return -1;
  }
  int rc = close(t->fd);
  t->fd = -1;
  if (!rc)
    rc = renameat(t->dirfd, t->tmp, t->dirfd, t->name);
  if (rc) {
    int saved = errno;
    jd_tmpfile_abort(t);
    errno = saved;
    return -1;
  }
  close(t->dirfd);
  t->dirfd = -1;
  return 0;
}

int jd_file_publish(const char *dir, const char *name, const void *data, size_t len, int mode) {
  jd_tmpfile t;
  if (jd_tmpfile_open(&t, dir, name, mode))
    return -1;
  if (jd_write_all(t.fd, data, len)) {
    int saved = errno;
    jd_tmpfile_abort(&t);
    errno = saved;
    return -1;
  }
  return jd_tmpfile_commit(&t);
}

int jd_write_file(const char *path, const void *data, size_t len) {
  /* One way to write a file in place: jd_file_publish's O_EXCL|O_NOFOLLOW
   * temporary under a random name, renamed last (never a predictable
   * "<path>.tmp.<pid>" that something else could have made first). */
  const char *slash = strrchr(path, '/');
  char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
  if (!dir) {
    errno = ENOMEM;
    return -1;
  }
  int rc = jd_file_publish(dir, slash ? slash + 1 : path, data, len, 0644);
  int saved = errno;
  free(dir);
  errno = saved;
  return rc;
}
