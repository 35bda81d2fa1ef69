/* The host's input cache (see input_cache.h): the directory, the locks, a
 * file written and checked, a file opened for a match, gc. The download is
 * input_fetch.c's.
 *
 * Every name is reached relative to the directory's descriptor, never
 * through a link. A name in the cache is trusted only after it was read
 * through and hashed (jd_inputs_check) by the one writing or fetching it;
 * what a match mounts is the file of that name, 0444, in a 0700 directory
 * only the judger writes, never rewritten in place (a new file is renamed
 * over it). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fs.h"
#include "match/input_cache.h"
#include "match/input_cache_internal.h"

#define CACHE_DIR "inputs"
#define FILE_MODE 0444
#define TMP_PREFIX ".tmp-"

bool jd_sha256_hex_ok(const char *s) {
  size_t i = 0;
  for (; s && i < 64; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return false;
  return s && s[64] == '\0';
}

bool jd_input_name_ok(const char *name) {
  size_t n = name ? strnlen(name, 129) : 0;
  if (n == 0 || n > 128 || name[0] == '.')
    return false;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '_' || c == '-'))
      return false;
  }
  return true;
}

/* ---- the directory and its locks ------------------------------------------- */

int jd_inputs_dir_open(int *fd, const char *state_dir) {
  *fd = -1;
  if (jd_mkdir_p(state_dir, 0755))
    return -1;
  int sfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (sfd < 0)
    return -1;
  if (mkdirat(sfd, CACHE_DIR, 0700) && errno != EEXIST) {
    int saved = errno;
    close(sfd);
    errno = saved;
    return -1;
  }
  int dfd = openat(sfd, CACHE_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  int saved = errno;
  close(sfd);
  if (dfd < 0) {
    errno = saved;
    return -1;
  }
  struct stat st;
  /* Somebody else's directory, or one others may write in, could hold
   * what it likes under a hash's name: refused. */
  if (fstat(dfd, &st) || st.st_uid != geteuid() || (st.st_mode & 022)) {
    close(dfd);
    errno = EPERM;
    return -1;
  }
  *fd = dfd;
  return 0;
}

int jd_inputs_lock(int *fd, int dirfd, const char *sha256, const dk_cancel *cancel) {
  char name[80];
  snprintf(name, sizeof name, "%s.lock", sha256);
  *fd = openat(dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (*fd < 0)
    return -1;
  /* Tried every 20 ms: a cancel (a drain, SIGINT) is seen while another
   * slot fetches the same hash, and a fetch stuck past its own bound does
   * not hold this one for ever. */
  int64_t until = jd_mono_ms() + JD_INPUTS_LOCK_WAIT_MS;
  int err = 0;
  while (flock(*fd, LOCK_EX | LOCK_NB)) {
    if (errno != EWOULDBLOCK && errno != EINTR)
      err = errno;
    else if (cancel && dk_cancel_fired(cancel))
      err = ECANCELED;
    else if (jd_mono_ms() >= until)
      err = ETIMEDOUT;
    if (err) {
      close(*fd);
      *fd = -1;
      errno = err;
      return -1;
    }
    struct timespec ts = {0, 20 * 1000000L};
    nanosleep(&ts, NULL);
  }
  return 0;
}

/* ---- checking what a name holds --------------------------------------------- */

/* The sha256 of what fd reads (to its end), as hex. 0, or -1 with errno. */
static int hash_fd(char out[65], int fd) {
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
    EVP_MD_CTX_free(md);
    errno = ENOMEM;
    return -1;
  }
  static __thread char buf[1 << 16];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0)
      EVP_DigestUpdate(md, buf, (size_t)n);
  int saved = errno;
  unsigned char d[32];
  unsigned int dlen = 0;
  EVP_DigestFinal_ex(md, d, &dlen);
  EVP_MD_CTX_free(md);
  if (n < 0) {
    errno = saved;
    return -1;
  }
  for (int i = 0; i < 32; i++)
    snprintf(out + 2 * i, 3, "%02x", d[i]);
  return 0;
}

/* A regular file of ours, 0444: the only thing the cache writes. */
static bool ours(const struct stat *st) {
  return S_ISREG(st->st_mode) && st->st_uid == geteuid() && (st->st_mode & 07777) == FILE_MODE;
}

/* Removes whatever name is (a file, a link, an empty directory). */
static int drop(int dirfd, const char *name) {
  if (!unlinkat(dirfd, name, 0) || errno == ENOENT)
    return 0;
  if (errno == EISDIR || errno == EPERM)
    return unlinkat(dirfd, name, AT_REMOVEDIR) && errno != ENOENT ? -1 : 0;
  return -1;
}

int jd_inputs_check(bool *hit, int dirfd, const char *sha256, char *err, size_t errlen) {
  *hit = false;
  int fd = openat(dirfd, sha256, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT)
    return 0;
  struct stat st;
  char got[65] = "";
  if (fd >= 0 && !fstat(fd, &st) && ours(&st) && !hash_fd(got, fd) && !strcmp(got, sha256)) {
    (void)futimens(fd, NULL); /* used now: gc counts its age from here */
    close(fd);
    *hit = true;
    return 0;
  }
  if (fd >= 0)
    close(fd);
  /* A link (ELOOP), a FIFO, a file of another hash or mode: not the
   * cache's; it goes, and the caller writes the file again. */
  if (drop(dirfd, sha256))
    return jd_fail(err, errlen, "inputs/%.16s...: holds something that cannot be removed: %s",
                   sha256, strerror(errno));
  return 0;
}

/* ---- writing a file ---------------------------------------------------------- */

int jd_inputs_tmp_open(jd_inputs_tmp *t, int dirfd, char *err, size_t errlen) {
  *t = (jd_inputs_tmp){.dirfd = dirfd, .fd = -1};
  t->md = EVP_MD_CTX_new();
  if (!t->md || !EVP_DigestInit_ex(t->md, EVP_sha256(), NULL)) {
    jd_inputs_tmp_abort(t);
    return jd_fail(err, errlen, "out of memory");
  }
  for (int tries = 0; tries < 8 && t->fd < 0; tries++) {
    unsigned char r[12];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
      break;
    int k = snprintf(t->name, sizeof t->name, TMP_PREFIX);
    for (size_t i = 0; i < sizeof r; i++)
      k += snprintf(t->name + k, sizeof t->name - (size_t)k, "%02x", r[i]);
    t->fd = openat(dirfd, t->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (t->fd < 0 && errno != EEXIST)
      break;
  }
  /* Held while it is written: gc leaves a temporary it cannot lock. */
  if (t->fd >= 0)
    (void)flock(t->fd, LOCK_EX | LOCK_NB);
  if (t->fd < 0) {
    int saved = errno;
    t->name[0] = '\0';
    jd_inputs_tmp_abort(t);
    return jd_fail(err, errlen, "inputs: cannot create a temporary: %s", strerror(saved));
  }
  return 0;
}

int jd_inputs_tmp_write(jd_inputs_tmp *t, const void *data, size_t len) {
  const char *p = data;
  EVP_DigestUpdate(t->md, data, len);
  t->bytes += len;
  while (len) {
    ssize_t n = write(t->fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

void jd_inputs_tmp_abort(jd_inputs_tmp *t) {
  if (t->fd >= 0)
    close(t->fd);
  t->fd = -1;
  if (t->name[0])
    (void)unlinkat(t->dirfd, t->name, 0);
  t->name[0] = '\0';
  EVP_MD_CTX_free(t->md);
  t->md = NULL;
}

int jd_inputs_tmp_commit(jd_inputs_tmp *t, const char *sha256, jd_fail_kind *kind, char *err,
                         size_t errlen) {
  unsigned char d[32];
  unsigned int dlen = 0;
  char got[65];
  EVP_DigestFinal_ex(t->md, d, &dlen);
  for (int i = 0; i < 32; i++)
    snprintf(got + 2 * i, 3, "%02x", d[i]);
  if (strcmp(got, sha256)) {
    jd_inputs_tmp_abort(t);
    return jd_fail_as(kind, JD_FAIL_PROGRAM, err, errlen, "sha256 mismatch: got %s", got);
  }
  int rc = fchmod(t->fd, FILE_MODE) || fsync(t->fd) ? -1 : 0;
  rc = rc || close(t->fd) ? -1 : 0;
  t->fd = -1;
  if (!rc && renameat(t->dirfd, t->name, t->dirfd, sha256))
    rc = -1;
  int saved = errno;
  if (!rc)
    t->name[0] = '\0'; /* renamed: nothing to remove */
  jd_inputs_tmp_abort(t);
  if (rc)
    return jd_fail_as(kind, JD_FAIL_SYSTEM, err, errlen, "inputs: cannot keep %.16s...: %s", sha256,
                      strerror(saved));
  return 0;
}

/* ---- put, open, gc ------------------------------------------------------------ */

int jd_input_put(const char *state_dir, const char *sha256, const void *data, size_t len,
                 jd_fail_kind *kind, char *err, size_t errlen) {
  int dirfd = -1, lockfd = -1, rc = -1;
  bool hit = false;
  jd_inputs_tmp t = {.fd = -1};
  if (!jd_sha256_hex_ok(sha256))
    return jd_fail_as(kind, JD_FAIL_PROGRAM, err, errlen, "sha256: not 64 lower-case hex digits");
  if (jd_inputs_dir_open(&dirfd, state_dir) || jd_inputs_lock(&lockfd, dirfd, sha256, NULL)) {
    jd_fail_as(kind, JD_FAIL_SYSTEM, err, errlen, "%s/" CACHE_DIR ": %s", state_dir,
               strerror(errno));
    goto done;
  }
  if (jd_inputs_check(&hit, dirfd, sha256, err, errlen)) {
    jd_inputs_system(kind);
    goto done;
  }
  if (hit) {
    rc = 0;
    goto done;
  }
  if (jd_inputs_tmp_open(&t, dirfd, err, errlen) || jd_inputs_tmp_write(&t, data, len)) {
    if (t.fd >= 0)
      jd_fail(err, errlen, "inputs: cannot write: %s", strerror(errno));
    jd_inputs_system(kind);
    jd_inputs_tmp_abort(&t);
    goto done;
  }
  rc = jd_inputs_tmp_commit(&t, sha256, kind, err, errlen);
done:
  if (lockfd >= 0)
    close(lockfd);
  if (dirfd >= 0)
    close(dirfd);
  return rc;
}

/* fd, just opened and share-locked, is still what the name holds (gc
 * did not remove it in between). */
static bool still_named(int dirfd, const char *name, int fd) {
  struct stat a, b;
  return !fstat(fd, &a) && !fstatat(dirfd, name, &b, AT_SYMLINK_NOFOLLOW) && a.st_dev == b.st_dev &&
         a.st_ino == b.st_ino;
}

int jd_input_open(int *fd, bool *missing, char *path, size_t pathlen, const char *state_dir,
                  const char *sha256, char *err, size_t errlen) {
  *fd = -1;
  *missing = false;
  int dirfd = -1;
  if (!jd_sha256_hex_ok(sha256))
    return jd_fail(err, errlen, "sha256: not 64 lower-case hex digits");
  if (jd_inputs_dir_open(&dirfd, state_dir))
    return jd_fail(err, errlen, "%s/" CACHE_DIR ": %s", state_dir, strerror(errno));
  int f = openat(dirfd, sha256, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  struct stat st;
  int rc = 0;
  if (f < 0 && errno == ENOENT) {
    *missing = true;
    rc = -1;
  } else if (f < 0 || fstat(f, &st) || !ours(&st)) {
    rc = jd_fail(err, errlen, "inputs/%s: not a file the cache wrote", sha256);
  } else if (flock(f, LOCK_SH) || !still_named(dirfd, sha256, f)) {
    *missing = true;
    rc = -1;
  } else {
    (void)futimens(f, NULL); /* used now: gc counts its age from here */
  }
  close(dirfd);
  if (!rc && snprintf(path, pathlen, "%s/" CACHE_DIR "/%s", state_dir, sha256) >= (int)pathlen)
    rc = jd_fail(err, errlen, "inputs: the state directory's path is too long");
  if (rc) {
    if (*missing)
      jd_fail(err, errlen, "inputs/%s: not in the cache", sha256);
    if (f >= 0)
      close(f);
    return -1;
  }
  *fd = f;
  return 0;
}

/* What gc does with one name: 1 removed (*bytes its size), 0 kept. */
static int gc_one(int dirfd, const char *name, int64_t cutoff_ms, bool dry, int64_t *bytes) {
  size_t n = strlen(name);
  bool data = n == 64 && jd_sha256_hex_ok(name);
  bool lock = n == 69 && !strcmp(name + 64, ".lock");
  bool tmp = !strncmp(name, TMP_PREFIX, strlen(TMP_PREFIX));
  char hash[65] = "";
  if (n >= 64) {
    memcpy(hash, name, 64);
    hash[64] = '\0';
  }
  if (lock && !jd_sha256_hex_ok(hash))
    lock = false;
  int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) || (data && !ours(&st)) || (!data && !S_ISREG(st.st_mode)) ||
      (!data && !lock && !tmp)) {
    /* Not what the cache writes: a link, a directory, another name. */
    if (fd >= 0)
      close(fd);
    if (!dry)
      (void)drop(dirfd, name);
    return 0;
  }
  struct stat other;
  bool go = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000 <= cutoff_ms;
  /* A lock goes with its file: once that file is gone, whatever its age. */
  if (lock)
    go = fstatat(dirfd, hash, &other, AT_SYMLINK_NOFOLLOW) != 0;
  int removed = 0;
  /* In use (a match's shared lock, a fetch, a temporary being written):
   * the exclusive lock is refused, and it stays. */
  if (go && !flock(fd, LOCK_EX | LOCK_NB) && (dry || !unlinkat(dirfd, name, 0))) {
    *bytes += data ? (int64_t)st.st_size : 0;
    removed = data ? 1 : 0;
  }
  close(fd);
  return removed;
}

int jd_input_gc(size_t *removed, int64_t *bytes, const char *state_dir, int64_t max_age_ms,
                bool dry_run, char *err, size_t errlen) {
  *removed = 0;
  *bytes = 0;
  int dirfd = -1;
  char **names = NULL;
  size_t n = 0;
  if (jd_inputs_dir_open(&dirfd, state_dir) || jd_fs_list_names(&names, &n, dirfd)) {
    int saved = errno;
    if (dirfd >= 0)
      close(dirfd);
    return jd_fail(err, errlen, "%s/" CACHE_DIR ": %s", state_dir, strerror(saved));
  }
  int64_t cutoff = jd_unix_ms() - max_age_ms;
  /* Files first, then the locks of the files gone. */
  for (int pass = 0; pass < 2; pass++)
    for (size_t i = 0; i < n; i++) {
      if ((strlen(names[i]) == 69) == (pass == 1))
        *removed += (size_t)gc_one(dirfd, names[i], cutoff, dry_run, bytes);
    }
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
  close(dirfd);
  return 0;
}
