/* fd-relative tree walks: remove, copy, chown, make directories (fs.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/util.h"

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

static void close_keep_errno(int fd) {
  int saved = errno;
  if (fd >= 0)
    close(fd);
  errno = saved;
}

/* Makes room for one more element in *v (n used of *cap, each size
 * bytes), doubling. -1 with errno ENOMEM. */
static int grow(void *v, size_t *cap, size_t n, size_t size) {
  if (n < *cap)
    return 0;
  size_t ncap = *cap ? *cap * 2 : 16;
  void *p = realloc(*(void **)v, ncap * size);
  if (!p) {
    errno = ENOMEM;
    return -1;
  }
  *(void **)v = p;
  *cap = ncap;
  return 0;
}

/* ---- the cursor: one open directory and the identities above it ---------- */

typedef struct dir_id {
  dev_t dev;
  ino_t ino;
} dir_id;

/* The directory being walked (fd) and the device/inode of every directory
 * from the root down to it, to check each step back up. */
typedef struct cursor {
  int fd;
  dir_id *ids;
  size_t n, cap;
} cursor;

static bool same(const struct stat *a, dev_t dev, ino_t ino) {
  return a->st_dev == dev && a->st_ino == ino;
}

/* Opens name under dirfd (the cursor's own when dirfd < 0) and makes it the
 * cursor's directory; want (may be NULL) is what it must be. */
static int cursor_down(cursor *c, int dirfd, const char *name, const struct stat *want) {
  int fd = openat(dirfd >= 0 ? dirfd : c->fd, name, DIR_FLAGS);
  struct stat st;
  if (fd < 0)
    return -1;
  if (fstat(fd, &st) != 0) {
    close_keep_errno(fd);
    return -1;
  }
  if (want && !same(&st, want->st_dev, want->st_ino)) {
    close(fd);
    errno = ESTALE; /* swapped between the listing and the open */
    return -1;
  }
  if (grow(&c->ids, &c->cap, c->n, sizeof *c->ids) != 0) {
    close(fd);
    return -1;
  }
  c->ids[c->n++] = (dir_id){st.st_dev, st.st_ino};
  if (c->fd >= 0)
    close(c->fd);
  c->fd = fd;
  return 0;
}

/* Back to the parent, which must be the one we came down from. */
static int cursor_up(cursor *c) {
  int fd = openat(c->fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct stat st;
  if (fd < 0)
    return -1;
  if (fstat(fd, &st) != 0) {
    close_keep_errno(fd);
    return -1;
  }
  if (c->n < 2 || !same(&st, c->ids[c->n - 2].dev, c->ids[c->n - 2].ino)) {
    close(fd);
    errno = ESTALE; /* moved while we were below it */
    return -1;
  }
  close(c->fd);
  c->fd = fd;
  c->n--;
  return 0;
}

static void cursor_close(cursor *c) {
  if (c->fd >= 0)
    close(c->fd);
  c->fd = -1;
  free(c->ids);
  c->ids = NULL;
  c->n = c->cap = 0;
}

/* ---- the walk --------------------------------------------------------------- */

typedef struct entry {
  char *name;
  struct stat st;
} entry;

typedef struct entries {
  entry *v;
  size_t n, cap;
} entries;

static int entries_push(entries *e, const char *name, const struct stat *st) {
  if (grow(&e->v, &e->cap, e->n, sizeof *e->v) != 0)
    return -1;
  e->v[e->n].name = strdup(name);
  if (!e->v[e->n].name)
    return -1;
  e->v[e->n++].st = *st;
  return 0;
}

static void entries_free(entries *e) {
  for (size_t i = 0; i < e->n; i++)
    free(e->v[i].name);
  free(e->v);
  *e = (entries){0};
}

/* A directory being walked: its name in its parent, its status, and the
 * subdirectories still to visit (subs.v[next..]). */
typedef struct frame {
  char *name;
  struct stat st;
  entries subs;
  size_t next;
} frame;

typedef struct walk {
  const jd_fs_visitor *v;
  cursor cur;
  frame *frames;
  size_t n, cap;
  dev_t dev; /* the root's file system */
} walk;

/* Lists the cursor's directory: subdirectories into subs, the others into
 * files. Entries that vanish meanwhile are left out. */
static int list_dir(int fd, entries *subs, entries *files) {
  int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
  if (!d) {
    close_keep_errno(dfd);
    return -1;
  }
  int rc = 0;
  struct dirent *de;
  errno = 0;
  while (!rc && (de = readdir(d)) != NULL) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
      continue;
    struct stat st;
    if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      rc = errno == ENOENT ? 0 : -1;
      if (!rc)
        errno = 0; /* vanished: left out, and not readdir's error at the end */
      continue;
    }
    rc = entries_push(S_ISDIR(st.st_mode) ? subs : files, de->d_name, &st);
    errno = 0;
  }
  if (!rc && errno)
    rc = -1;
  closedir(d);
  return rc;
}

static int entry_cmp(const void *a, const void *b) {
  return strcmp(((const entry *)a)->name, ((const entry *)b)->name);
}

/* Pushes a frame for the directory the cursor is now in and visits its
 * non-directories (JD_FS_IN_ORDER: keeps every entry, sorted, in subs for
 * step() to visit in turn). name is copied. */
static int push_frame(walk *w, const char *name, const struct stat *st) {
  if (grow(&w->frames, &w->cap, w->n, sizeof *w->frames) != 0)
    return -1;
  frame *f = &w->frames[w->n];
  *f = (frame){.name = strdup(name), .st = *st};
  if (!f->name)
    return -1;
  w->n++;
  if (w->v->flags & JD_FS_IN_ORDER) {
    int rc = list_dir(w->cur.fd, &f->subs, &f->subs);
    if (!rc && f->subs.n > 1)
      qsort(f->subs.v, f->subs.n, sizeof *f->subs.v, entry_cmp);
    return rc;
  }
  entries files = {0};
  int rc = list_dir(w->cur.fd, &f->subs, &files);
  for (size_t i = 0; !rc && i < files.n; i++)
    if (w->v->file)
      rc = w->v->file(w->v->ud, w->cur.fd, files.v[i].name, &files.v[i].st, w->n);
  entries_free(&files);
  return rc;
}

static void pop_frame(walk *w) {
  frame *f = &w->frames[--w->n];
  free(f->name);
  entries_free(&f->subs);
}

/* Goes into the next subdirectory of the top frame. */
static int descend(walk *w) {
  frame *f = &w->frames[w->n - 1];
  entry *s = &f->subs.v[f->next++];
  int rc = w->v->enter ? w->v->enter(w->v->ud, w->cur.fd, s->name, &s->st, w->n) : 0;
  if (rc == JD_FS_SKIP)
    return 0;
  if (rc)
    return rc;
  if (s->st.st_dev != w->dev) {
    errno = EXDEV; /* a mount point inside the tree: not ours to walk */
    return -1;
  }
  struct stat st = s->st;
  if (cursor_down(&w->cur, -1, s->name, &st) != 0) {
    if (errno != ENOENT)
      return -1;
    /* It vanished after `enter`: `leave` undoes what enter did (a copy
     * stepped its destination cursor into the new directory). */
    return w->v->leave ? w->v->leave(w->v->ud, w->cur.fd, s->name, &s->st, w->n) : 0;
  }
  return push_frame(w, s->name, &st);
}

/* The top frame's next entry: a directory is entered, anything else is
 * given to `file` (only JD_FS_IN_ORDER frames hold non-directories). */
static int step(walk *w) {
  frame *f = &w->frames[w->n - 1];
  const entry *e = &f->subs.v[f->next];
  if (S_ISDIR(e->st.st_mode))
    return descend(w);
  f->next++;
  return w->v->file ? w->v->file(w->v->ud, w->cur.fd, e->name, &e->st, w->n) : 0;
}

/* Leaves the top frame's directory: back to its parent, then `leave`. */
static int ascend(walk *w, int rootfd) {
  frame *f = &w->frames[w->n - 1];
  size_t depth = w->n - 1;
  int rc = 0, parent = rootfd;
  if (depth == 0) {
    close(w->cur.fd);
    w->cur.fd = -1;
  } else {
    rc = cursor_up(&w->cur);
    parent = w->cur.fd;
  }
  if (!rc && w->v->leave)
    rc = w->v->leave(w->v->ud, parent, f->name, &f->st, depth);
  pop_frame(w);
  return rc;
}

int jd_fs_walk(int dirfd, const char *name, const jd_fs_visitor *v) {
  struct stat st;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
    return -1;
  if (!S_ISDIR(st.st_mode))
    return v->file ? v->file(v->ud, dirfd, name, &st, 0) : 0;
  int rc = v->enter ? v->enter(v->ud, dirfd, name, &st, 0) : 0;
  if (rc)
    return rc == JD_FS_SKIP ? 0 : rc;
  walk w = {.v = v, .cur = {.fd = -1}, .dev = st.st_dev};
  rc = cursor_down(&w.cur, dirfd, name, &st);
  if (!rc)
    rc = push_frame(&w, name, &st);
  while (!rc && w.n) {
    frame *f = &w.frames[w.n - 1];
    rc = f->next < f->subs.n ? step(&w) : ascend(&w, dirfd);
  }
  int saved = errno;
  while (w.n)
    pop_frame(&w);
  free(w.frames);
  cursor_close(&w.cur);
  errno = saved;
  return rc;
}

int jd_fs_open_parent(int *dirfd, char **leaf, const char *path) {
  *dirfd = -1;
  *leaf = NULL;
  size_t n = strlen(path);
  while (n > 1 && path[n - 1] == '/')
    n--;
  const char *slash = memrchr(path, '/', n);
  const char *base = slash ? slash + 1 : path;
  if (n == 0 || base == path + n) {
    errno = EINVAL;
    return -1;
  }
  char *parent = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
  *leaf = strndup(base, (size_t)(path + n - base));
  if (parent && *leaf)
    *dirfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  else
    errno = ENOMEM;
  free(parent);
  if (*dirfd < 0) {
    free(*leaf);
    *leaf = NULL;
    return -1;
  }
  return 0;
}

int jd_fs_walk_path(const char *path, const jd_fs_visitor *v) {
  int dirfd;
  char *leaf;
  if (jd_fs_open_parent(&dirfd, &leaf, path) != 0)
    return -1;
  int rc = jd_fs_walk(dirfd, leaf, v);
  int saved = errno;
  close(dirfd);
  free(leaf);
  errno = saved;
  return rc;
}

/* ---- making directories ----------------------------------------------------- */

static int mkdir_path(const char *path, int mode, bool set_leaf) {
  char *copy = strdup(path);
  if (!copy)
    return -1;
  int fd = open(path[0] == '/' ? "/" : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  char *save = NULL;
  char *c = strtok_r(copy, "/", &save);
  while (fd >= 0 && c) {
    char *next = strtok_r(NULL, "/", &save);
    bool made = mkdirat(fd, c, (mode_t)mode) == 0;
    int sub = made || errno == EEXIST ? openat(fd, c, DIR_FLAGS) : -1;
    /* Exactly mode, whatever the umask: parents too (the state directory
     * a first `judger build` makes is 0700, not 0755). */
    if (sub >= 0 && (made || (!next && set_leaf)) && fchmod(sub, (mode_t)mode) != 0) {
      close_keep_errno(sub);
      sub = -1;
    }
    close_keep_errno(fd);
    fd = sub;
    c = next;
  }
  free(copy);
  if (fd < 0)
    return -1;
  close(fd);
  return 0;
}

int jd_mkdir_p(const char *path, int mode) { return mkdir_path(path, mode, false); }

int jd_mkdir_mode(const char *path, int mode) { return mkdir_path(path, mode, true); }

/* ---- removing ---------------------------------------------------------------- */

static int rm_file(void *ud, int dirfd, const char *name, const struct stat *st, size_t depth) {
  (void)ud, (void)st, (void)depth;
  return unlinkat(dirfd, name, 0) != 0 && errno != ENOENT ? -1 : 0;
}

static int rm_enter(void *ud, int dirfd, const char *name, const struct stat *st, size_t depth) {
  (void)ud, (void)depth;
  if ((st->st_mode & 0700) == 0700)
    return 0;
  /* A directory a build made unwritable must still be emptied: opened
   * without following a link, then changed through its descriptor. */
  int fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return -1;
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  int rc = chmod(proc, (st->st_mode & 07777) | 0700);
  close_keep_errno(fd);
  return rc;
}

static int rm_leave(void *ud, int dirfd, const char *name, const struct stat *st, size_t depth) {
  (void)ud, (void)st, (void)depth;
  return unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT ? -1 : 0;
}

/* Leaves the root itself (jd_rm_contents). */
static int rm_leave_below(void *ud, int dirfd, const char *name, const struct stat *st,
                          size_t depth) {
  return depth == 0 ? 0 : rm_leave(ud, dirfd, name, st, depth);
}

int jd_rm_contents(const char *path) {
  static const jd_fs_visitor rm = {.file = rm_file, .enter = rm_enter, .leave = rm_leave_below};
  int rc = jd_fs_walk_path(path, &rm);
  return rc != 0 && errno == ENOENT ? 0 : rc;
}

int jd_rm_rf_at(int dirfd, const char *name) {
  static const jd_fs_visitor rm = {.file = rm_file, .enter = rm_enter, .leave = rm_leave};
  int rc = jd_fs_walk(dirfd, name, &rm);
  return rc != 0 && errno == ENOENT ? 0 : rc;
}

int jd_rm_rf(const char *path) {
  int dirfd;
  char *leaf;
  if (jd_fs_open_parent(&dirfd, &leaf, path) != 0)
    return errno == ENOENT ? 0 : -1;
  int rc = jd_rm_rf_at(dirfd, leaf);
  int saved = errno;
  close(dirfd);
  free(leaf);
  errno = saved;
  return rc;
}

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
  cursor dst;
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
  close_keep_errno(in);
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
  return cursor_down(&c->dst, dfd, dname, NULL);
}

static int copy_leave(void *ud, int dirfd, const char *name, const struct stat *st, size_t depth) {
  (void)dirfd, (void)name;
  copy_state *c = ud;
  if (fchmod(c->dst.fd, st->st_mode & 0777) != 0)
    return -1;
  if (depth > 0)
    return cursor_up(&c->dst);
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
  cursor_close(&c.dst);
  close(c.dst_parent);
  free(leaf);
  errno = saved;
  return rc == JD_FS_STOP ? 0 : rc;
}

int jd_copy_tree(const char *src, const char *dst) {
  jd_fs_tally t;
  return jd_copy_tree_capped(&t, src, dst, NULL);
}

/* ---- owners --------------------------------------------------------------------- */

typedef struct owner {
  uid_t uid;
  gid_t gid;
} owner;

static int chown_one(void *ud, int dirfd, const char *name, const struct stat *st, size_t depth) {
  (void)st, (void)depth;
  const owner *o = ud;
  return fchownat(dirfd, name, o->uid, o->gid, AT_SYMLINK_NOFOLLOW) != 0 && errno != ENOENT ? -1
                                                                                            : 0;
}

int jd_chown_tree(const char *path, uid_t uid, gid_t gid) {
  owner o = {uid, gid};
  jd_fs_visitor v = {.file = chown_one, .enter = chown_one, .ud = &o};
  return jd_fs_walk_path(path, &v);
}

int jd_fs_list_names(char ***out, size_t *n, int fd) {
  *out = NULL;
  *n = 0;
  int dfd = dup(fd);
  DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
  if (!d) {
    if (dfd >= 0)
      close(dfd);
    return -1;
  }
  int rc = 0;
  for (struct dirent *de; !rc && (de = readdir(d)) != NULL;) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
      continue;
    char **v = realloc(*out, (*n + 1) * sizeof *v);
    if (v)
      *out = v;
    if (!v || !(v[*n] = strdup(de->d_name)))
      rc = -1;
    else
      ++*n;
  }
  closedir(d);
  return rc;
}
