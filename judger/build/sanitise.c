/* The artifacts sanitiser (sanitise.h). */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "build/sanitise.h"
#include "common/fs.h"
#include "common/util.h"

/* Bytes of one name in a stream (the shim's own are shorter: 257 levels of
 * 255 bytes at most would not fit, and deeper is over the depth cap). */
#define JD_SANITISE_NAME_MAX 65536
/* Directory levels a stream's name may have (the shim's JD_BUILD_DEPTH_MAX,
 * and then some): deeper is over any depth cap the shim can honour. */
#define JD_SANITISE_DEPTH_MAX 258

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

/* ---- a tar stream, extracted under the same rules -------------------------- */

typedef struct extractor {
  sanitiser s;
  int fd, gone_fd;
  bool gone;
  int64_t raw, raw_max;
  int root;
  char *parent;     /* the last parent directory's name (components joined by '/'), */
  int parent_fd;    /* and its descriptor: most entries share their parent */
  char buf[65536];  /* the stream as read: libarchive keeps pointers into it */
  char data[65536]; /* an entry's bytes, copied out of it */
  char name[JD_SANITISE_NAME_MAX + 1];
} extractor;

/* libarchive's read callback (see jd_sanitise_extract for the end). */
static la_ssize_t stream_read(struct archive *a, void *ud, const void **out) {
  extractor *x = ud;
  *out = x->buf;
  for (;;) {
    ssize_t n = read(x->fd, x->buf, sizeof x->buf);
    if (n > 0) {
      x->raw += n;
      if (x->raw > x->raw_max) {
        archive_set_error(a, EFBIG, "the stream passed %lld bytes", (long long)x->raw_max);
        return -1;
      }
      return n;
    }
    if (n == 0)
      return 0;
    if (errno == EINTR)
      continue;
    if (errno != EAGAIN || x->gone_fd < 0) {
      archive_set_error(a, errno, "read: %s", strerror(errno));
      return -1;
    }
    if (x->gone)
      return 0;
    struct pollfd p[2] = {{.fd = x->fd, .events = POLLIN}, {.fd = x->gone_fd, .events = POLLIN}};
    if (poll(p, 2, -1) < 0 && errno != EINTR) {
      archive_set_error(a, errno, "poll: %s", strerror(errno));
      return -1;
    }
    if (p[1].revents)
      x->gone = true; /* then read what is left */
  }
}

static void left_out(extractor *x, const char *name, const char *why) {
  x->s.r->left_out++;
  if (x->s.log) {
    char shown[256];
    printable(shown, sizeof shown, name);
    (void)dk_buf_appendf(x->s.log, "[judger: left out '%s' from the artifacts: %s]\n", shown, why);
  }
}

/* Errors a hostile stream causes by itself (a name already there, a link
 * or a file where a directory should be): the entry is left out. */
static bool hostile_errno(int e) {
  return e == EEXIST || e == ELOOP || e == ENOTDIR || e == EISDIR || e == ENOENT ||
         e == ENAMETOOLONG || e == EINVAL;
}

/* Splits name into components in place; -1 when it is absolute, empty or
 * has an empty, "." or ".." component. */
static int split(char *name, char ***comps, size_t *n, size_t max) {
  size_t len = strlen(name);
  while (len && name[len - 1] == '/')
    name[--len] = 0;
  if (!len || name[0] == '/')
    return -1;
  *n = 0;
  for (char *p = name;;) {
    char *slash = strchr(p, '/');
    if (slash)
      *slash = 0;
    if (!*p || !strcmp(p, ".") || !strcmp(p, "..") || *n == max)
      return -1;
    (*comps)[(*n)++] = p;
    if (!slash)
      return 0;
    p = slash + 1;
  }
}

/* The descriptor of the directory comps[0..n) under the root, made (and
 * counted) where missing; the extractor keeps it (do not close). -1 with
 * errno; JD_FS_STOP when a directory it had to make passed a cap. */
static int open_parent(extractor *x, char **comps, size_t n, int *out) {
  char joined[JD_SANITISE_NAME_MAX + 1];
  size_t len = 0;
  joined[0] = 0;
  for (size_t i = 0; i < n; i++) {
    int k = snprintf(joined + len, sizeof joined - len, "%s%s", i ? "/" : "", comps[i]);
    if (k < 0 || (size_t)k >= sizeof joined - len) {
      errno = ENAMETOOLONG;
      return -1;
    }
    len += (size_t)k;
  }
  if (x->parent && !strcmp(x->parent, joined)) {
    *out = x->parent_fd;
    return 0;
  }
  free(x->parent);
  x->parent = NULL;
  if (x->parent_fd >= 0)
    close(x->parent_fd);
  x->parent_fd = -1;
  int fd = dup(x->root);
  for (size_t i = 0; fd >= 0 && i < n; i++) {
    int next = openat(fd, comps[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0 && errno == ENOENT) {
      struct stat st = {.st_mode = S_IFDIR | 0755};
      int rc = (int64_t)(i + 1) > x->s.lim.artifacts_depth
                   ? over(&x->s, "the build left directories more than %lld levels deep",
                          (long long)x->s.lim.artifacts_depth)
                   : count(&x->s, &st, i + 1);
      if (rc) {
        close(fd);
        return rc;
      }
      if (mkdirat(fd, comps[i], 0755) == 0 && fchmodat(fd, comps[i], 0755, 0) == 0)
        next = openat(fd, comps[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    int saved = errno;
    close(fd);
    errno = saved;
    fd = next;
  }
  if (fd < 0)
    return -1;
  x->parent = strdup(joined);
  x->parent_fd = fd;
  *out = fd;
  return 0;
}

static bool all_zero(const char *p, size_t n) { return n && p[0] == 0 && !memcmp(p, p + 1, n - 1); }

/* The entry's data into name under dirfd (a new file). 0 (with *broken
 * when the stream broke inside it), or -1 with errno. */
static int write_data(bool *broken, extractor *x, struct archive *a, int dirfd, const char *name,
                      int64_t size, mode_t mode) {
  *broken = false;
  int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return -1;
  int rc = 0;
  int64_t done = 0;
  while (!rc && done < size) {
    la_ssize_t n = archive_read_data(a, x->data, sizeof x->data);
    if (n <= 0) {
      *broken = true;
      break;
    }
    if (all_zero(x->data, (size_t)n))
      rc = lseek(fd, n, SEEK_CUR) < 0 ? -1 : 0; /* a hole */
    else
      rc = jd_write_all(fd, x->data, (size_t)n);
    done += n;
  }
  if (!rc && !*broken && (ftruncate(fd, size) != 0 || fchmod(fd, mode) != 0))
    rc = -1;
  int saved = errno;
  close(fd);
  errno = saved;
  return rc;
}

/* How an entry ends the extraction: not at all, at a cap (r->over says
 * which), or because the stream broke inside it. */
typedef enum entry_end { ENTRY_NEXT, ENTRY_CAP, ENTRY_BROKEN } entry_end;

/* An entry that is not extracted whatever it holds: a hard link, a device
 * or a FIFO (removed, as the sanitiser does), another special file. */
static bool entry_skipped(extractor *x, const char *raw, mode_t type, bool hardlink) {
  if (hardlink) {
    left_out(x, raw, "a hard link");
    return true;
  }
  if (type == AE_IFIFO || type == AE_IFCHR || type == AE_IFBLK) {
    x->s.r->removed++;
    if (x->s.log) {
      char shown[256];
      printable(shown, sizeof shown, raw);
      (void)dk_buf_appendf(x->s.log, "[judger: removed %s '%s' from the artifacts]\n", kind(type),
                           shown);
    }
    return true;
  }
  if (type != AE_IFDIR && type != AE_IFREG && type != AE_IFLNK) {
    left_out(x, raw, "not a file, a directory or a link");
    return true;
  }
  return false;
}

/* The entry itself, last of comps under dirfd: 0 (with *end), or -1 with
 * errno. */
static int make_entry(entry_end *end, extractor *x, struct archive *a, struct archive_entry *e,
                      int dirfd, const char *last) {
  mode_t type = archive_entry_filetype(e);
  int rc = 0;
  if (type == AE_IFDIR) {
    rc = mkdirat(dirfd, last, 0755) == 0 ? fchmodat(dirfd, last, 0755, 0) : -1;
    if (rc && errno == EEXIST) {
      struct stat have;
      if (fstatat(dirfd, last, &have, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(have.st_mode))
        rc = 0; /* the same directory again (or made for an entry under it) */
      else
        errno = EEXIST;
    }
  } else if (type == AE_IFREG) {
    bool broken = false;
    rc = write_data(&broken, x, a, dirfd, last, archive_entry_size(e),
                    archive_entry_mode(e) & 0111 ? 0755 : 0644);
    if (broken)
      *end = ENTRY_BROKEN;
  } else {
    const char *target = archive_entry_symlink(e);
    rc = target && *target ? symlinkat(target, dirfd, last) : (errno = EINVAL, -1);
  }
  return rc;
}

/* One entry: 0 with *end (ENTRY_NEXT to go on), or -1 with errno when
 * the host failed. */
static int extract_entry(entry_end *end, extractor *x, struct archive *a, struct archive_entry *e) {
  char *comps_buf[JD_SANITISE_DEPTH_MAX + 2], **comps = comps_buf, *name = x->name;
  const char *raw = archive_entry_pathname(e);
  mode_t type = archive_entry_filetype(e);
  int64_t size = type == AE_IFREG ? archive_entry_size(e) : 0;
  size_t n = 0, max = sizeof comps_buf / sizeof *comps_buf;
  *end = ENTRY_NEXT;
  /* Counted first, whatever it is: the entries cap bounds the work. */
  struct stat st = {.st_mode = type ? type : S_IFREG, .st_size = size < 0 ? 0 : size};
  if (count(&x->s, &st, 1) == JD_FS_STOP) {
    *end = ENTRY_CAP;
    return 0;
  }
  if (!raw || strlen(raw) > JD_SANITISE_NAME_MAX) {
    left_out(x, raw ? raw : "", "no name or a name too long");
    return 0;
  }
  snprintf(name, sizeof x->name, "%s", raw);
  bool split_ok = split(name, &comps, &n, max) == 0;
  if (!split_ok && n != max) {
    left_out(x, raw, "an absolute name or a '.' or '..' component");
    return 0;
  }
  /* Deeper than we hold components for is deeper than any cap allows. */
  size_t dirs = type == AE_IFDIR ? n : n - 1;
  if (!split_ok || (int64_t)dirs > x->s.lim.artifacts_depth) {
    (void)over(&x->s, "the build left directories more than %lld levels deep",
               (long long)x->s.lim.artifacts_depth);
    *end = ENTRY_CAP;
    return 0;
  }
  if (entry_skipped(x, raw, type, archive_entry_hardlink(e) != NULL))
    return 0;
  int dirfd = -1;
  int rc = open_parent(x, comps, n - 1, &dirfd);
  if (rc == JD_FS_STOP) {
    *end = ENTRY_CAP;
    return 0;
  }
  if (!rc)
    rc = make_entry(end, x, a, e, dirfd, comps[n - 1]);
  if (rc && hostile_errno(errno)) {
    left_out(x, raw, strerror(errno));
    return 0;
  }
  return rc;
}

/* Every entry of the stream, until its end, a cap or a break (r says
 * which): 0, or -1 with errno when the host failed. */
static int extract_all(extractor *x, struct archive *a, jd_sanitise_report *r) {
  int rc = 0;
  for (entry_end end = ENTRY_NEXT; !rc && end == ENTRY_NEXT;) {
    struct archive_entry *e = NULL;
    int ar = archive_read_next_header(a, &e);
    if (ar == ARCHIVE_EOF) {
      r->complete = true;
      break;
    }
    if (ar < ARCHIVE_WARN) {
      const char *why = archive_error_string(a);
      printable(r->broken, sizeof r->broken, why ? why : "a broken tar stream");
      break;
    }
    rc = extract_entry(&end, x, a, e);
    if (!rc && end == ENTRY_BROKEN) {
      const char *why = archive_error_string(a);
      printable(r->broken, sizeof r->broken, why ? why : "the stream ended inside a file");
    }
  }
  return rc;
}

int jd_sanitise_extract(jd_sanitise_report *r, int fd, int gone_fd, const char *dest,
                        const jd_build_limits *lim, dk_buf *log) {
  memset(r, 0, sizeof *r);
  extractor *x = calloc(1, sizeof *x);
  if (!x)
    return -1;
  x->s = (sanitiser){.r = r, .uid = geteuid(), .gid = getegid(), .log = log};
  jd_build_limits_defaults(&x->s.lim, lim);
  x->fd = fd;
  x->gone_fd = gone_fd;
  x->parent_fd = -1;
  x->root = -1;
  x->raw_max = x->s.lim.artifacts_bytes + x->s.lim.artifacts_files * 2048 + (16 << 20);
  int rc = -1, dfd = -1;
  char *leaf = NULL;
  struct archive *a = NULL;
  if (jd_fs_open_parent(&dfd, &leaf, dest) != 0 || mkdirat(dfd, leaf, 0755) != 0 ||
      fchmodat(dfd, leaf, 0755, 0) != 0)
    goto cleanup;
  x->root = openat(dfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (x->root < 0)
    goto cleanup;
  a = archive_read_new();
  if (!a || archive_read_support_format_tar(a) != ARCHIVE_OK) {
    errno = ENOMEM;
    goto cleanup;
  }
  if (archive_read_open(a, x, NULL, stream_read, NULL) != ARCHIVE_OK) {
    snprintf(r->broken, sizeof r->broken, "%s", archive_error_string(a));
    rc = 0;
    goto cleanup;
  }
  rc = extract_all(x, a, r);
cleanup:;
  int saved = errno;
  if (a)
    archive_read_free(a);
  if (x->parent_fd >= 0)
    close(x->parent_fd);
  if (x->root >= 0)
    close(x->root);
  if (dfd >= 0)
    close(dfd);
  free(x->parent);
  free(x);
  free(leaf);
  errno = saved;
  return rc;
}
