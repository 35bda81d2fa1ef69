/* Runs every judger process of a host can see (see run_owner.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/context.h"
#include "common/fs.h"
#include "common/labels.h"
#include "common/run_owner.h"
#include "common/util.h"

/* Attempts at a fresh run file before giving up (a clash of random ids, or
 * a sweep that took a file between its create and its lock). */
#define TAKE_ATTEMPTS 16

int jd_run_id_new(char id[JD_RUN_ID_LEN + 1]) {
  return jd_random_hex(id, JD_RUN_ID_LEN / 2) ? -1 : 0;
}

static bool is_run_id(const char *s) {
  size_t n = 0;
  for (; s[n]; n++)
    if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
      return false;
  return n == JD_RUN_ID_LEN;
}

/* A label as a run file holds it: printable ASCII without blanks, with a
 * '=' after a non-empty key, shorter than JD_RUN_LABEL_MAX. */
static bool label_ok(const char *s, size_t n) {
  if (n == 0 || n >= JD_RUN_LABEL_MAX)
    return false;
  const char *eq = memchr(s, '=', n);
  if (!eq || eq == s)
    return false;
  for (size_t i = 0; i < n; i++)
    if (s[i] < 0x21 || s[i] > 0x7e)
      return false;
  return true;
}

/* <state>/runs opened without following a link at its last component (the
 * state dir above is the judger's own); made first when make. */
static int open_runs_dir(const char *state_dir, bool make) {
  const char *state = state_dir && *state_dir ? state_dir : jd_state_dir_default();
  char dir[PATH_MAX];
  if (snprintf(dir, sizeof dir, "%s/" JD_RUNS_DIR, state) >= (int)sizeof dir) {
    errno = ENAMETOOLONG;
    return -1;
  }
  if (make && jd_mkdir_p(dir, 0700) != 0)
    return -1;
  return open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

int jd_run_owner_take(jd_run_owner *o, const char *state_dir, const char *const *labels) {
  o->fd = o->dirfd = -1;
  o->id[0] = o->label[0] = '\0';
  char text[JD_RUN_FILE_MAX];
  size_t n = 0, count = 1;
  for (const char *const *l = labels; l && *l; l++, count++)
    if (count >= JD_RUN_LABELS_MAX || !label_ok(*l, strlen(*l))) {
      errno = EINVAL;
      return -1;
    }
  int d = open_runs_dir(state_dir, true);
  if (d < 0)
    return -1;
  int e = EEXIST;
  for (int attempt = 0; attempt < TAKE_ATTEMPTS && o->fd < 0; attempt++) {
    char id[JD_RUN_ID_LEN + 1];
    if (jd_run_id_new(id)) {
      e = EIO;
      break;
    }
    int fd = openat(d, id, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
      e = errno;
      if (e == EEXIST)
        continue;
      break;
    }
    /* A sweep may have taken the empty file for a dead run's between the
     * create and the lock: it holds the lock (EWOULDBLOCK) or unlinked the
     * name (no link left). Another file then. */
    struct stat st;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0 || fstat(fd, &st) != 0 || st.st_nlink == 0) {
      e = errno ? errno : EAGAIN;
      close(fd);
      continue;
    }
    n = (size_t)snprintf(text, sizeof text, "%s=%s\n", JD_LABEL_OWNER, id);
    for (const char *const *l = labels; l && *l; l++)
      n += (size_t)snprintf(text + n, sizeof text - n, "%s\n", *l);
    /* One write: a reader takes only whole lines anyway. */
    if (write(fd, text, n) != (ssize_t)n) {
      e = errno ? errno : EIO;
      (void)unlinkat(d, id, 0);
      close(fd);
      break;
    }
    o->fd = fd;
    memcpy(o->id, id, sizeof o->id);
    snprintf(o->label, sizeof o->label, "%s=%s", JD_LABEL_OWNER, id);
  }
  if (o->fd < 0) {
    close(d);
    errno = e;
    return -1;
  }
  o->dirfd = d;
  return 0;
}

void jd_run_owner_release(jd_run_owner *o) {
  if (!o || o->fd < 0)
    return;
  /* The file goes first, then the lock: a sweep never sees our name
   * unlocked. Only our own inode is unlinked. */
  struct stat mine, now;
  if (o->dirfd >= 0 && fstat(o->fd, &mine) == 0 &&
      fstatat(o->dirfd, o->id, &now, AT_SYMLINK_NOFOLLOW) == 0 && now.st_ino == mine.st_ino &&
      now.st_dev == mine.st_dev)
    (void)unlinkat(o->dirfd, o->id, 0);
  if (o->dirfd >= 0)
    close(o->dirfd);
  close(o->fd); /* drops the lock */
  o->fd = o->dirfd = -1;
}

/* Appends the whole, valid lines of a live run's file to *v. */
static int read_labels(char ***v, size_t *nv, size_t *cap, int fd) {
  char buf[JD_RUN_FILE_MAX];
  size_t len = 0;
  while (len < sizeof buf) {
    ssize_t k = pread(fd, buf + len, sizeof buf - len, (off_t)len);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      break;
    len += (size_t)k;
  }
  size_t taken = 0;
  for (size_t a = 0; a < len && taken < JD_RUN_LABELS_MAX;) {
    const char *nl = memchr(buf + a, '\n', len - a);
    if (!nl)
      break; /* a line still being written */
    size_t n = (size_t)(nl - (buf + a));
    if (label_ok(buf + a, n)) {
      if (*nv + 1 >= *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        char **grown = realloc(*v, ncap * sizeof **v);
        if (!grown)
          return -1;
        *v = grown;
        *cap = ncap;
      }
      char *s = strndup(buf + a, n);
      if (!s)
        return -1;
      (*v)[(*nv)++] = s;
      (*v)[*nv] = NULL;
      taken++;
    }
    a += n + 1;
  }
  return 0;
}

int jd_run_owner_live(char ***out, const char *state_dir, size_t *dead) {
  *out = NULL;
  int d = open_runs_dir(state_dir, false);
  if (d < 0)
    return errno == ENOENT ? 0 : -1;
  int d2 = dup(d);
  DIR *ds = d2 < 0 ? NULL : fdopendir(d2);
  if (!ds) {
    int e = errno;
    if (d2 >= 0)
      close(d2);
    close(d);
    errno = e;
    return -1;
  }
  char **v = NULL;
  size_t nv = 0, cap = 0;
  int rc = 0;
  struct dirent *de;
  while (!rc && (de = readdir(ds))) {
    if (!is_run_id(de->d_name))
      continue;
    int fd = openat(d, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd < 0)
      continue; /* gone meanwhile, or not a file */
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      close(fd);
      continue;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
      /* Nobody holds it: a dead run's (or one whose release is under way).
       * The name goes only while it is still this inode. */
      struct stat now;
      if (fstatat(d, de->d_name, &now, AT_SYMLINK_NOFOLLOW) == 0 && now.st_ino == st.st_ino &&
          now.st_dev == st.st_dev && unlinkat(d, de->d_name, 0) == 0 && dead)
        (*dead)++;
      close(fd);
      continue;
    }
    if (read_labels(&v, &nv, &cap, fd))
      rc = -1;
    close(fd);
  }
  int e = errno;
  closedir(ds);
  close(d);
  if (rc) {
    for (size_t i = 0; i < nv; i++)
      free(v[i]);
    free(v);
    errno = e ? e : ENOMEM;
    return -1;
  }
  *out = v;
  return 0;
}
