/* fd-relative tree walks: the walk itself, remove, chown, make directories,
 * list (fs.h). The capped copy and the caps are in fs_copy.c. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/fs_internal.h"
#include "common/util.h"

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

void jd_fs_close_keep_errno(int fd) {
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

static bool same(const struct stat *a, dev_t dev, ino_t ino) {
  return a->st_dev == dev && a->st_ino == ino;
}

/* ---- the cursor (fs_internal.h) ----------------------------------------- */

int jd_fs_cursor_down(jd_fs_cursor *c, int dirfd, const char *name, const struct stat *want) {
  int fd = openat(dirfd >= 0 ? dirfd : c->fd, name, DIR_FLAGS);
  struct stat st;
  if (fd < 0)
    return -1;
  if (fstat(fd, &st) != 0) {
    jd_fs_close_keep_errno(fd);
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
  c->ids[c->n++] = (jd_fs_dir_id){st.st_dev, st.st_ino};
  if (c->fd >= 0)
    close(c->fd);
  c->fd = fd;
  return 0;
}

/* Back to the parent, which must be the one we came down from. */
int jd_fs_cursor_up(jd_fs_cursor *c) {
  int fd = openat(c->fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct stat st;
  if (fd < 0)
    return -1;
  if (fstat(fd, &st) != 0) {
    jd_fs_close_keep_errno(fd);
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

void jd_fs_cursor_close(jd_fs_cursor *c) {
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
  jd_fs_cursor cur;
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
    jd_fs_close_keep_errno(dfd);
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
  if (jd_fs_cursor_down(&w->cur, -1, s->name, &st) != 0) {
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
    rc = jd_fs_cursor_up(&w->cur);
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
  rc = jd_fs_cursor_down(&w.cur, dirfd, name, &st);
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
  jd_fs_cursor_close(&w.cur);
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
      jd_fs_close_keep_errno(sub);
      sub = -1;
    }
    jd_fs_close_keep_errno(fd);
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
  jd_fs_close_keep_errno(fd);
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
