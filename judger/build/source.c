/* Program sources: jd_source over the three kinds (a directory used in
 * place, git in source_git.c, tarballs in source_tar.c), the tree hash that
 * names a directory's content, and reading the Dockerfiles. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "build/source_internal.h"
#include "common/util.h"

/* ---- tree hash ------------------------------------------------------------ */

const jd_fs_caps jd_source_caps = {
    .bytes = JD_SOURCE_MAX_BYTES, .entries = JD_SOURCE_MAX_ENTRIES, .depth = JD_SOURCE_MAX_DEPTH};

/* A hash over a walk in byte order (fs.h, JD_FS_IN_ORDER: no recursion,
 * fd-relative, links never followed). rel holds the path of the directory
 * at each level: lens[d] is the length of the one at depth d. */
typedef struct hasher {
  EVP_MD_CTX *md;
  jd_fs_tally *tally;
  const jd_fs_caps *caps;
  char *rel;
  size_t rel_cap;
  size_t *lens;
  size_t lens_cap;
} hasher;

/* Sets h->rel to the path of the entry name at depth (its directory's
 * path, then name). -1 with errno ENOMEM. */
static int rel_path(hasher *h, const char *name, size_t depth) {
  size_t base = depth > 1 ? h->lens[depth - 1] : 0;
  size_t n = strlen(name), need = base + 1 + n + 1;
  if (need > h->rel_cap) {
    size_t cap = need * 2;
    char *p = realloc(h->rel, cap);
    if (!p)
      return -1;
    h->rel = p;
    h->rel_cap = cap;
  }
  if (base)
    h->rel[base++] = '/';
  memcpy(h->rel + base, name, n + 1);
  return 0;
}

/* "<head> <rel>\0" into the hash. */
static int hash_head(hasher *h, const char *head) {
  size_t hl = strlen(head);
  EVP_DigestUpdate(h->md, head, hl);
  EVP_DigestUpdate(h->md, " ", 1);
  EVP_DigestUpdate(h->md, h->rel, strlen(h->rel) + 1);
  return 0;
}

/* A regular file: its size, then exactly that many bytes (opened without
 * following a link, checked to be the entry listed). */
static int hash_regular(hasher *h, int dirfd, const char *name, const struct stat *st) {
  int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  struct stat now;
  if (fd < 0)
    return errno == ENOENT ? 0 : -1;
  if (fstat(fd, &now) != 0 || !S_ISREG(now.st_mode) || now.st_ino != st->st_ino ||
      now.st_dev != st->st_dev) {
    close(fd);
    errno = ESTALE;
    return -1;
  }
  char head[64];
  snprintf(head, sizeof head, "f %c %lld", (st->st_mode & 0111) ? 'x' : '-',
           (long long)st->st_size);
  hash_head(h, head);
  char buf[65536];
  off_t left = st->st_size;
  int rc = 0;
  while (left > 0) {
    ssize_t n = read(fd, buf, left < (off_t)sizeof buf ? (size_t)left : sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      rc = -1;
      break;
    }
    if (n == 0) {
      errno = ESTALE; /* shrank while read: its size is already in the hash */
      rc = -1;
      break;
    }
    EVP_DigestUpdate(h->md, buf, (size_t)n);
    left -= n;
  }
  int saved = errno;
  close(fd);
  errno = saved;
  return rc;
}

static int hash_file(void *ud, int dirfd, const char *name, const struct stat *st, size_t depth) {
  hasher *h = ud;
  if (depth == 0) {
    errno = ENOTDIR; /* the root must be a directory */
    return -1;
  }
  int rc = jd_fs_tally_add(h->tally, h->caps, st, depth);
  if (rc)
    return rc;
  if (!S_ISREG(st->st_mode) && !S_ISLNK(st->st_mode))
    return 0; /* devices, FIFOs, sockets: left out, as jd_copy_tree does */
  if (rel_path(h, name, depth) != 0)
    return -1;
  if (S_ISREG(st->st_mode))
    return hash_regular(h, dirfd, name, st);
  char target[PATH_MAX];
  ssize_t tl = readlinkat(dirfd, name, target, sizeof target - 1);
  if (tl < 0)
    return errno == ENOENT ? 0 : -1;
  target[tl] = '\0';
  hash_head(h, "l");
  EVP_DigestUpdate(h->md, target, (size_t)tl + 1);
  return 0;
}

static int hash_enter(void *ud, int dirfd, const char *name, const struct stat *st, size_t depth) {
  (void)dirfd;
  hasher *h = ud;
  if (depth == 0)
    return 0; /* the root itself has no entry */
  /* Counted before the walk goes down: past the depth cap it stops here. */
  int rc = jd_fs_tally_add(h->tally, h->caps, st, depth);
  if (rc)
    return rc;
  if (depth >= h->lens_cap) {
    size_t cap = h->lens_cap ? h->lens_cap * 2 : 64;
    size_t *p = realloc(h->lens, cap * sizeof *p);
    if (!p)
      return -1;
    h->lens = p;
    h->lens_cap = cap;
  }
  if (rel_path(h, name, depth) != 0)
    return -1;
  h->lens[depth] = strlen(h->rel);
  hash_head(h, "d");
  return 0;
}

/* Entries in byte order, a directory's own entries right after it; each
 * one is "<type> <rel path>\0" followed by what identifies its content. A
 * file's size precedes its bytes, so the stream cannot be read two ways.
 * (The format of the recursive version it replaced, byte for byte: the
 * cache keys made before stay valid.) */
int jd_tree_hash_capped(char out[65], jd_fs_tally *t, const char *dir, const jd_fs_caps *caps) {
  *t = (jd_fs_tally){0};
  if (caps)
    t->caps = *caps;
  hasher h = {.md = EVP_MD_CTX_new(), .tally = t, .caps = caps};
  if (!h.md) {
    errno = ENOMEM;
    return -1;
  }
  EVP_DigestInit_ex(h.md, EVP_sha256(), NULL);
  jd_fs_visitor v = {.file = hash_file, .enter = hash_enter, .ud = &h, .flags = JD_FS_IN_ORDER};
  int rc = jd_fs_walk_path(dir, &v);
  int saved = errno;
  unsigned char digest[32];
  unsigned int dl = 0;
  EVP_DigestFinal_ex(h.md, digest, &dl);
  EVP_MD_CTX_free(h.md);
  free(h.rel);
  free(h.lens);
  errno = saved;
  if (rc == JD_FS_STOP)
    return 0;
  if (rc)
    return -1;
  static const char hex[] = "0123456789abcdef";
  for (int i = 0; i < 32; i++) {
    out[2 * i] = hex[digest[i] >> 4];
    out[2 * i + 1] = hex[digest[i] & 15];
  }
  out[64] = '\0';
  return 0;
}

int jd_tree_hash(char out[65], const char *dir) {
  jd_fs_tally t;
  return jd_tree_hash_capped(out, &t, dir, NULL);
}

/* ---- Dockerfiles -------------------------------------------------------------- */

int jd_source_read_dockerfile(char **data, size_t *len, const char *dir, const char *name,
                              bool optional, jd_fail_kind *kind, char *err, size_t errlen) {
  *data = NULL;
  if (len)
    *len = 0;
  char path[PATH_MAX];
  if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
    return jd_fail_as(kind, JD_FAIL_PROGRAM, err, errlen, "path of %s is too long", name);
  struct stat st;
  if (lstat(path, &st) != 0) {
    if (errno == ENOENT && optional)
      return 0;
    if (errno == ENOENT)
      return jd_fail_as(kind, JD_FAIL_PROGRAM, err, errlen,
                        "the program has no %s at the root of its tree", name);
    return jd_fail_as(kind, JD_FAIL_SYSTEM, err, errlen, "%s: %s", path, strerror(errno));
  }
  if (!S_ISREG(st.st_mode))
    return jd_fail_as(kind, JD_FAIL_PROGRAM, err, errlen,
                      "%s must be a regular file (not a symlink or directory)", name);
  if ((size_t)st.st_size > JD_DOCKERFILE_MAX)
    return jd_fail_as(kind, JD_FAIL_PROGRAM, err, errlen, "%s is larger than %zu bytes", name,
                      JD_DOCKERFILE_MAX);
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return jd_fail_as(kind, JD_FAIL_SYSTEM, err, errlen, "%s: %s", path, strerror(errno));
  char *buf = malloc((size_t)st.st_size + 1);
  size_t got = 0;
  ssize_t n = 0;
  while (buf && got < (size_t)st.st_size && (n = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
    got += (size_t)n;
  int saved = errno;
  close(fd);
  if (!buf)
    return jd_fail_as(kind, JD_FAIL_SYSTEM, err, errlen, "out of memory");
  if (n < 0) {
    free(buf);
    return jd_fail_as(kind, JD_FAIL_SYSTEM, err, errlen, "%s: %s", path, strerror(saved));
  }
  buf[got] = '\0';
  *data = buf;
  if (len)
    *len = got;
  return 0;
}

/* ---- jd_source ------------------------------------------------------------- */

void jd_source_free(jd_source *s) {
  if (!s)
    return;
  if (s->work_dir)
    jd_rm_rf(s->work_dir);
  jd_src_git_close(s);
  free(s->dir);
  free(s->identity);
  free(s->commit);
  free(s->work_dir);
  free(s);
}

/* A work directory <state_dir>/work/<what>-<random>, made; -1 with errno. */
static int work_dir(char **out, const char *state_dir, const char *what) {
  char base[PATH_MAX], rnd[17];
  *out = NULL;
  if (snprintf(base, sizeof base, "%s/work", state_dir) >= (int)sizeof base ||
      jd_mkdir_mode(state_dir, 0700) != 0 || jd_mkdir_mode(base, 0700) != 0 ||
      jd_random_hex(rnd, 8) != 0)
    return -1;
  if (asprintf(out, "%s/%s-%s", base, what, rnd) < 0) {
    *out = NULL;
    return -1;
  }
  if (mkdir(*out, 0700) != 0) {
    free(*out);
    *out = NULL;
    return -1;
  }
  return 0;
}

static int no_work_dir(const char *state_dir, jd_fail_kind *kind, char *err, size_t errlen) {
  return jd_fail_as(kind, JD_FAIL_SYSTEM, err, errlen,
                    "cannot make a work directory under %s/work: %s",
                    state_dir ? state_dir : "(no state dir)", strerror(errno));
}

/* A directory in place, or a tarball extracted into a work directory. */
static int open_tree(jd_source *s, const char *state_dir, const jd_program_ref *ref,
                     jd_fail_kind *kind, char *err, size_t errlen) {
  if (ref->dir) {
    struct stat st;
    char real[PATH_MAX];
    if (stat(ref->dir, &st) != 0 || !S_ISDIR(st.st_mode) || !realpath(ref->dir, real))
      return jd_fail_as(kind, JD_FAIL_USAGE, err, errlen, "source directory '%s' does not exist",
                        ref->dir);
    s->dir = strdup(real);
  } else {
    if (!state_dir || work_dir(&s->work_dir, state_dir, "src") != 0)
      return no_work_dir(state_dir, kind, err, errlen);
    int rc =
        jd_tar_fetch(ref->tar_url, s->work_dir, ref->call, ref->public_only, kind, err, errlen);
    if (rc)
      return rc;
    s->dir = jd_src_tar_root(s->work_dir);
  }
  if (!s->dir)
    return jd_fail_as(kind, JD_FAIL_SYSTEM, err, errlen, "out of memory");
  char df[PATH_MAX];
  struct stat st;
  snprintf(df, sizeof df, "%s/%s", s->dir, JD_RUN_DOCKERFILE);
  if (lstat(df, &st) != 0 || !S_ISREG(st.st_mode))
    return jd_fail_as(kind, JD_FAIL_PROGRAM, err, errlen,
                      "%s has no %s (a regular file) at its root",
                      ref->dir ? ref->dir : ref->tar_url, JD_RUN_DOCKERFILE);
  char hash[65];
  jd_fs_tally t;
  if (jd_tree_hash_capped(hash, &t, s->dir, &jd_source_caps) != 0)
    return jd_fail_as(kind, JD_FAIL_SYSTEM, err, errlen, "cannot hash %s: %s", s->dir,
                      strerror(errno));
  if (t.over) {
    char why[256];
    jd_fs_tally_message(why, sizeof why, &t, "the source tree");
    return jd_fail_as(kind, JD_FAIL_PROGRAM, err, errlen, "%s", why);
  }
  if (asprintf(&s->identity, "tree:%s", hash) < 0) {
    s->identity = NULL;
    return jd_fail_as(kind, JD_FAIL_SYSTEM, err, errlen, "out of memory");
  }
  return 0;
}

int jd_source_open(jd_source **out, const char *state_dir, const jd_program_ref *ref,
                   jd_fail_kind *kind, char *err, size_t errlen) {
  *out = NULL;
  int given = !!ref->dir + !!ref->git_url + !!ref->tar_url;
  if (given != 1)
    return jd_fail_as(kind, JD_FAIL_USAGE, err, errlen,
                      given ? "give only one source: a directory, a git repository or a tarball"
                            : "no source given: a directory, a git repository or a tarball");
  jd_source *s = calloc(1, sizeof *s);
  if (!s)
    return jd_fail_as(kind, JD_FAIL_SYSTEM, err, errlen, "out of memory");
  s->state_dir = state_dir;
  /* A git source is resolved now, exported only when a build needs the files. */
  int rc = ref->git_url ? jd_src_git_open(s, state_dir, ref, kind, err, errlen)
                        : open_tree(s, state_dir, ref, kind, err, errlen);
  if (rc) {
    jd_source_free(s);
    return rc;
  }
  *out = s;
  return 0;
}

int jd_source_materialize(jd_source *s, jd_fail_kind *kind, char *err, size_t errlen) {
  if (s->dir)
    return 0;
  if (!s->repo || !s->state_dir)
    return jd_fail_as(kind, JD_FAIL_USAGE, err, errlen, "nothing to export");
  if (work_dir(&s->work_dir, s->state_dir, "src") != 0)
    return no_work_dir(s->state_dir, kind, err, errlen);
  int rc = jd_src_git_write(s, s->work_dir, kind, err, errlen);
  if (!rc)
    s->dir = strdup(s->work_dir);
  if (!rc && !s->dir)
    rc = jd_fail_as(kind, JD_FAIL_SYSTEM, err, errlen, "out of memory");
  return rc;
}

int jd_source_dockerfile(char **data, size_t *len, const jd_source *s, const char *name,
                         bool optional, jd_fail_kind *kind, char *err, size_t errlen) {
  *data = NULL;
  if (len)
    *len = 0;
  if (s->dir)
    return jd_source_read_dockerfile(data, len, s->dir, name, optional, kind, err, errlen);
  return jd_src_git_dockerfile(data, len, s, name, optional, kind, err, errlen);
}
