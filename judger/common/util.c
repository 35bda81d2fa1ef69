/* Small helpers shared by the judger's modules. */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/util.h"

static void to_hex(char *out, const unsigned char *md, size_t n) {
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = hex[md[i] >> 4];
    out[2 * i + 1] = hex[md[i] & 15];
  }
  out[2 * n] = '\0';
}

void jd_sha256_hex(char out[65], const void *data, size_t len) {
  unsigned char md[32];
  unsigned int mdlen = 0;
  EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
  to_hex(out, md, 32);
}

int jd_sha256_file_hex(char out[65], const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0)
    EVP_DigestUpdate(ctx, buf, (size_t)n);
  int saved = errno;
  close(fd);
  unsigned char md[32];
  unsigned int mdlen = 0;
  EVP_DigestFinal_ex(ctx, md, &mdlen);
  EVP_MD_CTX_free(ctx);
  if (n < 0) {
    errno = saved;
    return -1;
  }
  to_hex(out, md, 32);
  return 0;
}

int jd_read_file(char **data, size_t *len, const char *path, size_t max) {
  *data = NULL;
  if (len)
    *len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  size_t cap = 4096, n = 0;
  char *p = malloc(cap + 1);
  if (!p) {
    close(fd);
    errno = ENOMEM;
    return -1;
  }
  for (;;) {
    if (n == cap) {
      if (cap >= max) {
        free(p);
        close(fd);
        errno = EFBIG;
        return -1;
      }
      cap = cap * 2 > max ? max : cap * 2;
      char *q = realloc(p, cap + 1);
      if (!q) {
        free(p);
        close(fd);
        errno = ENOMEM;
        return -1;
      }
      p = q;
    }
    ssize_t r = read(fd, p + n, cap - n);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      int saved = errno;
      free(p);
      close(fd);
      errno = saved;
      return -1;
    }
    if (r == 0)
      break;
    n += (size_t)r;
  }
  close(fd);
  if (n > max) {
    free(p);
    errno = EFBIG;
    return -1;
  }
  p[n] = '\0';
  *data = p;
  if (len)
    *len = n;
  return 0;
}

int jd_write_all(int fd, const void *data, size_t n) {
  const char *p = data;
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int jd_write_file(const char *path, const void *data, size_t len) {
  char tmp[PATH_MAX];
  snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return -1;
  if (jd_write_all(fd, data, len)) {
    int saved = errno;
    close(fd);
    unlink(tmp);
    errno = saved;
    return -1;
  }
  if (close(fd) != 0 || rename(tmp, path) != 0) {
    int saved = errno;
    unlink(tmp);
    errno = saved;
    return -1;
  }
  return 0;
}

int jd_mkdir_p(const char *path, int mode) {
  char buf[PATH_MAX];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
    errno = ENAMETOOLONG;
    return -1;
  }
  for (char *p = buf + 1; *p; p++) {
    if (*p == '/') {
      *p = '\0';
      if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST)
        return -1;
      *p = '/';
    }
  }
  if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST)
    return -1;
  return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)ftw;
  int r = flag == FTW_DP ? rmdir(path) : unlink(path);
  return r != 0 && errno != ENOENT ? -1 : 0;
}

int jd_rm_rf(const char *path) {
  struct stat st;
  if (lstat(path, &st) != 0)
    return errno == ENOENT ? 0 : -1;
  if (!S_ISDIR(st.st_mode))
    return unlink(path);
  /* Directories a container made read-only must still be removable. */
  return nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static int copy_file(const char *src, const char *dst, mode_t mode) {
  int in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (in < 0)
    return -1;
  int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode & 07777);
  if (out < 0) {
    close(in);
    return -1;
  }
  char buf[65536];
  ssize_t n;
  int rc = 0;
  while ((n = read(in, buf, sizeof buf)) > 0) {
    if (jd_write_all(out, buf, (size_t)n)) {
      rc = -1;
      break;
    }
  }
  if (n < 0)
    rc = -1;
  close(in);
  if (close(out) != 0)
    rc = -1;
  return rc;
}

int jd_copy_tree(const char *src, const char *dst) {
  struct stat st;
  if (lstat(src, &st) != 0)
    return -1;
  if (S_ISLNK(st.st_mode)) {
    char target[PATH_MAX];
    ssize_t n = readlink(src, target, sizeof target - 1);
    if (n < 0)
      return -1;
    target[n] = '\0';
    return symlink(target, dst);
  }
  if (S_ISREG(st.st_mode))
    return copy_file(src, dst, st.st_mode);
  if (!S_ISDIR(st.st_mode))
    return 0; /* devices, fifos, sockets are not program sources */
  if (mkdir(dst, st.st_mode & 07777) != 0 && errno != EEXIST)
    return -1;
  DIR *d = opendir(src);
  if (!d)
    return -1;
  struct dirent *de;
  int rc = 0;
  while (!rc && (de = readdir(d))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
      continue;
    char s[PATH_MAX], t[PATH_MAX];
    if (snprintf(s, sizeof s, "%s/%s", src, de->d_name) >= (int)sizeof s ||
        snprintf(t, sizeof t, "%s/%s", dst, de->d_name) >= (int)sizeof t) {
      errno = ENAMETOOLONG;
      rc = -1;
      break;
    }
    rc = jd_copy_tree(s, t);
  }
  closedir(d);
  return rc;
}

bool jd_path_exists(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0;
}

bool jd_is_safe_name(const char *s, size_t max) {
  if (!s || !*s || strlen(s) > max)
    return false;
  if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
    return false;
  for (const char *p = s; *p; p++) {
    char c = *p;
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
      return false;
  }
  return true;
}

int jd_random_hex(char *out, size_t n) {
  unsigned char buf[64];
  if (n > sizeof buf || RAND_bytes(buf, (int)n) != 1)
    return -1;
  to_hex(out, buf, n);
  return 0;
}

