/* The artifacts sanitiser (sanitise.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "build/sanitise.h"
#include "common/fs.h"

typedef struct sanitiser {
  jd_sanitise_report *r;
  jd_build_limits lim;
  uid_t uid;
  gid_t gid;
  dk_buf *log;
} sanitiser;

static const char *kind(mode_t m) {
  return S_ISCHR(m)    ? "character device"
         : S_ISBLK(m)  ? "block device"
         : S_ISFIFO(m) ? "FIFO"
         : S_ISSOCK(m) ? "socket"
                       : "special file";
}

/* A name for the log: printable ASCII only (it is the program's text). */
static void printable(char *out, size_t outlen, const char *name) {
  size_t i = 0;
  for (; name[i] && i + 1 < outlen; i++)
    out[i] = name[i] > 0x20 && name[i] < 0x7f ? name[i] : '?';
  out[i] = '\0';
}

static int over(sanitiser *s, const char *fmt, long long cap) {
  snprintf(s->r->over, sizeof s->r->over, fmt, cap);
  return JD_FS_STOP;
}

/* Counts an entry against the caps; JD_FS_STOP past one. */
static int count(sanitiser *s, const struct stat *st, size_t depth) {
  if (depth == 0)
    return 0;
  if (++s->r->entries > s->lim.artifacts_files)
    return over(s, "the build left more than %lld files", (long long)s->lim.artifacts_files);
  if (S_ISREG(st->st_mode))
    s->r->bytes += st->st_size; /* apparent size: a sparse file counts whole */
  if (s->r->bytes > s->lim.artifacts_bytes)
    return over(s, "the build left more than %lld bytes", (long long)s->lim.artifacts_bytes);
  return 0;
}

/* Owner and mode through a descriptor of the very entry listed. */
static int fix_opened(sanitiser *s, int dirfd, const char *name, const struct stat *st, int flags,
                      mode_t mode) {
  int fd = openat(dirfd, name, flags | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  struct stat now;
  if (fd < 0)
    return errno == ENOENT ? 0 : -1;
  int rc = fstat(fd, &now);
  if (!rc && (now.st_ino != st->st_ino || now.st_dev != st->st_dev)) {
    errno = ESTALE;
    rc = -1;
  }
  /* chown first: it clears set-id bits, and chmod then sets the final mode. */
  if (!rc)
    rc = fchown(fd, s->uid, s->gid);
  if (!rc)
    rc = fchmod(fd, mode);
  int saved = errno;
  close(fd);
  errno = saved;
  return rc;
}

static int on_file(void *ud, int dirfd, const char *name, const struct stat *st, size_t depth) {
  sanitiser *s = ud;
  int rc = count(s, st, depth);
  if (rc)
    return rc;
  if (S_ISREG(st->st_mode))
    return fix_opened(s, dirfd, name, st, O_RDONLY, st->st_mode & 0111 ? 0755 : 0644);
  if (S_ISLNK(st->st_mode))
    return fchownat(dirfd, name, s->uid, s->gid, AT_SYMLINK_NOFOLLOW) != 0 && errno != ENOENT ? -1
                                                                                              : 0;
  if (unlinkat(dirfd, name, 0) != 0 && errno != ENOENT)
    return -1;
  s->r->removed++;
  if (s->log) {
    char shown[256];
    printable(shown, sizeof shown, name);
    (void)dk_buf_appendf(s->log, "[judger: removed %s '%s' from the artifacts]\n",
                         kind(st->st_mode), shown);
  }
  return 0;
}

static int on_dir(void *ud, int dirfd, const char *name, const struct stat *st, size_t depth) {
  sanitiser *s = ud;
  if ((int64_t)depth > s->lim.artifacts_depth)
    return over(s, "the build left directories more than %lld levels deep",
                (long long)s->lim.artifacts_depth);
  int rc = count(s, st, depth);
  if (rc)
    return rc;
  return fix_opened(s, dirfd, name, st, O_RDONLY | O_DIRECTORY, 0755);
}

int jd_sanitise_tree(jd_sanitise_report *r, const char *dir, const jd_build_limits *lim, uid_t uid,
                     gid_t gid, dk_buf *log) {
  memset(r, 0, sizeof *r);
  sanitiser s = {.r = r, .uid = uid, .gid = gid, .log = log};
  jd_build_limits_defaults(&s.lim, lim);
  jd_fs_visitor v = {.file = on_file, .enter = on_dir, .ud = &s};
  int rc = jd_fs_walk_path(dir, &v);
  return rc == JD_FS_STOP ? 0 : rc;
}
