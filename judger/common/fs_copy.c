/* Caps on a tree a program sent, and the copy that counts against them as
 * it goes (fs.h); the walk it rides on is fs.c's. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/fs_internal.h"

/* ---- caps ------------------------------------------------------------------------ */

static int tally_over(jd_fs_tally *t, jd_fs_cap cap) {
  t->over = cap;
  return JD_FS_STOP;
}

int jd_fs_tally_add(jd_fs_tally *t, const jd_fs_caps *caps, const struct stat *st, size_t depth) {
  if (depth == 0)
    return 0;
  if (caps)
    t->caps = *caps;
  if (S_ISDIR(st->st_mode) && (int64_t)depth > t->depth)
    t->depth = (int64_t)depth;
  if (caps && caps->depth > 0 && S_ISDIR(st->st_mode) && (int64_t)depth > caps->depth)
    return tally_over(t, JD_FS_CAP_DEPTH);
  t->entries++;
  if (caps && caps->entries > 0 && t->entries > caps->entries)
    return tally_over(t, JD_FS_CAP_ENTRIES);
  if (S_ISREG(st->st_mode) && st->st_size > 0)
    t->bytes += st->st_size; /* apparent size: a sparse file counts whole */
  if (caps && caps->bytes > 0 && t->bytes > caps->bytes)
    return tally_over(t, JD_FS_CAP_BYTES);
  return 0;
}

void jd_fs_tally_message(char *buf, size_t len, const jd_fs_tally *t, const char *what) {
  if (!buf || !len)
    return;
  switch (t->over) {
  case JD_FS_CAP_DEPTH:
    snprintf(buf, len,
             "%s is deeper than the limit of %lld directory levels (a directory at level %lld)",
             what, (long long)t->caps.depth, (long long)t->depth);
    break;
  case JD_FS_CAP_ENTRIES:
    snprintf(buf, len, "%s has more than the limit of %lld entries", what,
             (long long)t->caps.entries);
    break;
  case JD_FS_CAP_BYTES:
    snprintf(buf, len,
             "%s holds more than the limit of %lld bytes (files at their apparent size, "
             "a sparse file whole)",
             what, (long long)t->caps.bytes);
    break;
  case JD_FS_CAP_NONE:
  default:
    buf[0] = '\0';
  }
}

/* ---- copying ------------------------------------------------------------------ */

/* The destination side of a copy: a cursor that follows the source walk,
 * and the caps counted as it goes. */
typedef struct copy_state {
  jd_fs_cursor dst;
  int dst_parent;
  const char *dst_leaf;
  jd_fs_tally *tally;
  const jd_fs_caps *caps;
} copy_state;

static const char *dst_name(const copy_state *c, const char *name, size_t depth) {
  return depth == 0 ? c->dst_leaf : name;
}

static int dst_fd(const copy_state *c, size_t depth) {
  return depth == 0 ? c->dst_parent : c->dst.fd;
}

/* Copies [from, to) of in to the same offsets of out; a file that came up
 * short leaves the rest a hole. */
static int copy_range(int in, int out, off_t from, off_t to) {
  char buf[65536];
  while (from < to) {
    size_t want = to - from < (off_t)sizeof buf ? (size_t)(to - from) : sizeof buf;
    ssize_t n = pread(in, buf, want, from);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return (int)n;
    for (size_t done = 0; done < (size_t)n;) {
      ssize_t w = pwrite(out, buf + done, (size_t)n - done, from + (off_t)done);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        return -1;
      done += (size_t)w;
    }
    from += n;
  }
  return 0;
}

/* Copies the first size bytes of in: only its data (SEEK_DATA/SEEK_HOLE),
 * so the holes of a sparse file stay holes, then sets the length. A file
 * system without holes answers SEEK_DATA with the offset itself (all
 * data). */
static int copy_bytes(int in, int out, off_t size) {
  off_t pos = 0;
  while (pos < size) {
    off_t data = lseek(in, pos, SEEK_DATA);
    if (data < 0 && errno == ENXIO)
      break; /* only a hole is left */
    if (data < 0)
      return -1;
    if (data >= size)
      break;
    off_t hole = lseek(in, data, SEEK_HOLE);
    if (hole < 0)
      return -1;
    if (hole > size)
      hole = size;
    if (copy_range(in, out, data, hole) != 0)
      return -1;
    pos = hole;
  }
  return ftruncate(out, size);
}

static int copy_regular(int sfd, const char *sname, const struct stat *st, int dfd,
                        const char *dname) {
  int in = openat(sfd, sname, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  struct stat now;
  if (in < 0)
    return errno == ENOENT ? 0 : -1;
  if (fstat(in, &now) != 0 || !S_ISREG(now.st_mode) || now.st_ino != st->st_ino) {
    close(in);
    errno = ESTALE;
    return -1;
  }
  int out = openat(dfd, dname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                   (mode_t)(st->st_mode & 0777));
  /* At most the size it was listed and counted with, even if it grew. */
  off_t size = now.st_size < st->st_size ? now.st_size : st->st_size;
  int rc = out < 0 ? -1 : copy_bytes(in, out, size);
  if (out >= 0 && (fchmod(out, st->st_mode & 0777) != 0 || close(out) != 0))
    rc = -1;
  jd_fs_close_keep_errno(in);
  return rc;
}

static int copy_link(int sfd, const char *sname, const struct stat *st, int dfd,
                     const char *dname) {
  size_t cap = (size_t)st->st_size + 2;
  char *target = malloc(cap);
  if (!target)
    return -1;
  ssize_t n = readlinkat(sfd, sname, target, cap);
  int rc = -1;
  if (n < 0 || (size_t)n >= cap) {
    errno = n < 0 ? errno : ESTALE;
  } else {
    target[n] = '\0';
    rc = symlinkat(target, dfd, dname);
  }
  free(target);
  return rc;
}

static int copy_file(void *ud, int dirfd, const char *name, const struct stat *st, size_t depth) {
  copy_state *c = ud;
  int rc = jd_fs_tally_add(c->tally, c->caps, st, depth);
  if (rc)
    return rc;
  int dfd = dst_fd(c, depth);
  const char *dname = dst_name(c, name, depth);
  if (S_ISREG(st->st_mode))
    return copy_regular(dirfd, name, st, dfd, dname);
  if (S_ISLNK(st->st_mode))
    return copy_link(dirfd, name, st, dfd, dname);
  return 0; /* devices, FIFOs, sockets are no program's files */
}

static int copy_enter(void *ud, int dirfd, const char *name, const struct stat *st, size_t depth) {
  (void)dirfd;
  copy_state *c = ud;
  /* Counted (and the depth capped) before anything is made below it. */
  int rc = jd_fs_tally_add(c->tally, c->caps, st, depth);
  if (rc)
    return rc;
  int dfd = dst_fd(c, depth);
  const char *dname = dst_name(c, name, depth);
  /* Owner-only until its entries are in: leave sets the final mode. */
  if (mkdirat(dfd, dname, 0700) != 0 && !(depth == 0 && errno == EEXIST))
    return -1;
  return jd_fs_cursor_down(&c->dst, dfd, dname, NULL);
}

static int copy_leave(void *ud, int dirfd, const char *name, const struct stat *st, size_t depth) {
  (void)dirfd, (void)name;
  copy_state *c = ud;
  if (fchmod(c->dst.fd, st->st_mode & 0777) != 0)
    return -1;
  if (depth > 0)
    return jd_fs_cursor_up(&c->dst);
  return 0;
}

int jd_copy_tree_capped(jd_fs_tally *t, const char *src, const char *dst, const jd_fs_caps *caps) {
  *t = (jd_fs_tally){0};
  if (caps)
    t->caps = *caps;
  copy_state c = {.dst = {.fd = -1}, .dst_parent = -1, .tally = t, .caps = caps};
  char *leaf = NULL;
  if (jd_fs_open_parent(&c.dst_parent, &leaf, dst) != 0)
    return -1;
  c.dst_leaf = leaf;
  jd_fs_visitor v = {.file = copy_file, .enter = copy_enter, .leave = copy_leave, .ud = &c};
  int rc = jd_fs_walk_path(src, &v);
  int saved = errno;
  jd_fs_cursor_close(&c.dst);
  close(c.dst_parent);
  free(leaf);
  errno = saved;
  return rc == JD_FS_STOP ? 0 : rc;
}

int jd_copy_tree(const char *src, const char *dst) {
  jd_fs_tally t;
  return jd_copy_tree_capped(&t, src, dst, NULL);
}
