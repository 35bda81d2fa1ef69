/* Program sources: jd_source over the three kinds (a directory used in
 * place, git in source_git.c, tarballs in source_tar.c), the tree hash that
 * names a directory's content, and reading the Dockerfiles. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "build/source_internal.h"
#include "common/util.h"

int jd_src_fail(char *err, size_t errlen, int code, const char *fmt, ...) {
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return code;
}

/* ---- tree hash ------------------------------------------------------------ */

static int name_cmp(const struct dirent **a, const struct dirent **b) {
  return strcmp((*a)->d_name, (*b)->d_name);
}

static int not_dots(const struct dirent *d) {
  return strcmp(d->d_name, ".") && strcmp(d->d_name, "..");
}

/* Entries in byte order; each one is "<type> <rel path>\0" followed by what
 * identifies its content. A file's size precedes its bytes, so the stream
 * cannot be read two ways. */
static int hash_dir(EVP_MD_CTX *md, const char *path, const char *rel) {
  struct dirent **names = NULL;
  int n = scandir(path, &names, not_dots, name_cmp);
  if (n < 0)
    return -1;
  int rc = 0;
  for (int i = 0; i < n; i++) {
    char p[PATH_MAX], r[PATH_MAX], head[PATH_MAX + 64];
    if (!rc && (snprintf(p, sizeof p, "%s/%s", path, names[i]->d_name) >= (int)sizeof p ||
                snprintf(r, sizeof r, "%s%s%s", rel, *rel ? "/" : "", names[i]->d_name) >=
                    (int)sizeof r)) {
      errno = ENAMETOOLONG;
      rc = -1;
    }
    struct stat st;
    if (!rc && lstat(p, &st) != 0)
      rc = -1;
    if (!rc && S_ISDIR(st.st_mode)) {
      int hl = snprintf(head, sizeof head, "d %s", r);
      EVP_DigestUpdate(md, head, (size_t)hl + 1);
      rc = hash_dir(md, p, r);
    } else if (!rc && S_ISREG(st.st_mode)) {
      int hl = snprintf(head, sizeof head, "f %c %lld %s", (st.st_mode & 0111) ? 'x' : '-',
                        (long long)st.st_size, r);
      EVP_DigestUpdate(md, head, (size_t)hl + 1);
      rc = jd_digest_file(md, p);
    } else if (!rc && S_ISLNK(st.st_mode)) {
      char target[PATH_MAX];
      ssize_t tl = readlink(p, target, sizeof target - 1);
      if (tl < 0) {
        rc = -1;
      } else {
        target[tl] = '\0';
        int hl = snprintf(head, sizeof head, "l %s", r);
        EVP_DigestUpdate(md, head, (size_t)hl + 1);
        EVP_DigestUpdate(md, target, (size_t)tl + 1);
      }
    }
    free(names[i]);
  }
  free(names);
  return rc;
}

int jd_tree_hash(char out[65], const char *dir) {
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  if (!md) {
    errno = ENOMEM;
    return -1;
  }
  EVP_DigestInit_ex(md, EVP_sha256(), NULL);
  int rc = hash_dir(md, dir, "");
  unsigned char digest[32];
  unsigned int dl = 0;
  EVP_DigestFinal_ex(md, digest, &dl);
  EVP_MD_CTX_free(md);
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

/* ---- Dockerfiles -------------------------------------------------------------- */

int jd_source_read_dockerfile(char **data, size_t *len, const char *dir, const char *name,
                              bool optional, char *err, size_t errlen) {
  *data = NULL;
  if (len)
    *len = 0;
  char path[PATH_MAX];
  if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
    return jd_src_fail(err, errlen, JD_SRC_EPROGRAM, "path of %s is too long", name);
  struct stat st;
  if (lstat(path, &st) != 0) {
    if (errno == ENOENT && optional)
      return 0;
    if (errno == ENOENT)
      return jd_src_fail(err, errlen, JD_SRC_EPROGRAM,
                         "the program has no %s at the root of its tree", name);
    return jd_src_fail(err, errlen, JD_SRC_ESYSTEM, "%s: %s", path, strerror(errno));
  }
  if (!S_ISREG(st.st_mode))
    return jd_src_fail(err, errlen, JD_SRC_EPROGRAM,
                       "%s must be a regular file (not a symlink or directory)", name);
  if ((size_t)st.st_size > JD_DOCKERFILE_MAX)
    return jd_src_fail(err, errlen, JD_SRC_EPROGRAM, "%s is larger than %zu bytes", name,
                       JD_DOCKERFILE_MAX);
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return jd_src_fail(err, errlen, JD_SRC_ESYSTEM, "%s: %s", path, strerror(errno));
  char *buf = malloc((size_t)st.st_size + 1);
  size_t got = 0;
  ssize_t n = 0;
  while (buf && got < (size_t)st.st_size && (n = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
    got += (size_t)n;
  int saved = errno;
  close(fd);
  if (!buf)
    return jd_src_fail(err, errlen, JD_SRC_ESYSTEM, "out of memory");
  if (n < 0) {
    free(buf);
    return jd_src_fail(err, errlen, JD_SRC_ESYSTEM, "%s: %s", path, strerror(saved));
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

static int no_work_dir(const char *state_dir, char *err, size_t errlen) {
  return jd_src_fail(err, errlen, JD_SRC_ESYSTEM, "cannot make a work directory under %s/work: %s",
                     state_dir ? state_dir : "(no state dir)", strerror(errno));
}

/* A directory in place, or a tarball extracted into a work directory. */
static int open_tree(jd_source *s, const char *state_dir, const jd_program_ref *ref, char *err,
                     size_t errlen) {
  if (ref->dir) {
    struct stat st;
    char real[PATH_MAX];
    if (stat(ref->dir, &st) != 0 || !S_ISDIR(st.st_mode) || !realpath(ref->dir, real))
      return jd_src_fail(err, errlen, JD_SRC_EUSAGE, "source directory '%s' does not exist",
                         ref->dir);
    s->dir = strdup(real);
  } else {
    if (!state_dir || work_dir(&s->work_dir, state_dir, "src") != 0)
      return no_work_dir(state_dir, err, errlen);
    int rc = jd_tar_fetch(ref->tar_url, s->work_dir, err, errlen);
    if (rc)
      return rc;
    s->dir = jd_src_tar_root(s->work_dir);
  }
  if (!s->dir)
    return jd_src_fail(err, errlen, JD_SRC_ESYSTEM, "out of memory");
  char df[PATH_MAX];
  struct stat st;
  snprintf(df, sizeof df, "%s/%s", s->dir, JD_RUN_DOCKERFILE);
  if (lstat(df, &st) != 0 || !S_ISREG(st.st_mode))
    return jd_src_fail(err, errlen, JD_SRC_EPROGRAM, "%s has no %s (a regular file) at its root",
                       ref->dir ? ref->dir : ref->tar_url, JD_RUN_DOCKERFILE);
  char hash[65];
  if (jd_tree_hash(hash, s->dir) != 0)
    return jd_src_fail(err, errlen, JD_SRC_ESYSTEM, "cannot hash %s: %s", s->dir, strerror(errno));
  if (asprintf(&s->identity, "tree:%s", hash) < 0) {
    s->identity = NULL;
    return jd_src_fail(err, errlen, JD_SRC_ESYSTEM, "out of memory");
  }
  return 0;
}

int jd_source_open(jd_source **out, const char *state_dir, const jd_program_ref *ref, char *err,
                   size_t errlen) {
  *out = NULL;
  int given = !!ref->dir + !!ref->git_url + !!ref->tar_url;
  if (given != 1)
    return jd_src_fail(err, errlen, JD_SRC_EUSAGE,
                       given ? "give only one source: a directory, a git repository or a tarball"
                             : "no source given: a directory, a git repository or a tarball");
  jd_source *s = calloc(1, sizeof *s);
  if (!s)
    return jd_src_fail(err, errlen, JD_SRC_ESYSTEM, "out of memory");
  s->state_dir = state_dir;
  /* A git source is resolved now, exported only when a build needs the files. */
  int rc = ref->git_url ? jd_src_git_open(s, state_dir, ref, err, errlen)
                        : open_tree(s, state_dir, ref, err, errlen);
  if (rc) {
    jd_source_free(s);
    return rc;
  }
  *out = s;
  return 0;
}

int jd_source_materialize(jd_source *s, char *err, size_t errlen) {
  if (s->dir)
    return 0;
  if (!s->repo || !s->state_dir)
    return jd_src_fail(err, errlen, JD_SRC_EUSAGE, "nothing to export");
  if (work_dir(&s->work_dir, s->state_dir, "src") != 0)
    return no_work_dir(s->state_dir, err, errlen);
  int rc = jd_src_git_write(s, s->work_dir, err, errlen);
  if (!rc)
    s->dir = strdup(s->work_dir);
  if (!rc && !s->dir)
    rc = jd_src_fail(err, errlen, JD_SRC_ESYSTEM, "out of memory");
  return rc;
}

int jd_source_dockerfile(char **data, size_t *len, const jd_source *s, const char *name,
                         bool optional, char *err, size_t errlen) {
  *data = NULL;
  if (len)
    *len = 0;
  if (s->dir)
    return jd_source_read_dockerfile(data, len, s->dir, name, optional, err, errlen);
  return jd_src_git_dockerfile(data, len, s, name, optional, err, errlen);
}
