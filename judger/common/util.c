/* Small helpers shared by the judger's modules. */
#include <errno.h>
#include <fcntl.h>
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

int jd_digest_file(EVP_MD_CTX *md, const char *path) {
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return -1;
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0)
    EVP_DigestUpdate(md, buf, (size_t)n);
  int saved = errno;
  close(fd);
  errno = saved;
  return n < 0 ? -1 : 0;
}

int jd_sha256_file_hex(char out[65], const char *path) {
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
    EVP_MD_CTX_free(ctx);
    errno = ENOMEM;
    return -1;
  }
  int rc = jd_digest_file(ctx, path);
  int saved = errno;
  unsigned char md[32];
  unsigned int mdlen = 0;
  EVP_DigestFinal_ex(ctx, md, &mdlen);
  EVP_MD_CTX_free(ctx);
  if (rc) {
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
