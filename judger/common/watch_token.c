/* Watch tokens (see watch_token.h): HMAC-SHA256 through OpenSSL. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/error.h"
#include "common/watch_token.h"

#define TOKEN_PREFIX "judger-watch:"
/* Task ids are short (JD_TASK_ID_MAX); anything longer is refused. */
#define TASK_ID_CAP 1024

int jd_watch_token(char out[JD_WATCH_TOKEN_HEX + 1], const unsigned char *key, size_t keylen,
                   const char *task_id) {
  out[0] = '\0';
  if (!key || !keylen || keylen > JD_WATCH_KEY_MAX || !task_id || !*task_id)
    return -1;
  size_t idlen = strnlen(task_id, TASK_ID_CAP + 1);
  if (idlen > TASK_ID_CAP)
    return -1;
  unsigned char msg[sizeof TOKEN_PREFIX - 1 + TASK_ID_CAP];
  memcpy(msg, TOKEN_PREFIX, sizeof TOKEN_PREFIX - 1);
  memcpy(msg + sizeof TOKEN_PREFIX - 1, task_id, idlen);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int maclen = 0;
  if (!HMAC(EVP_sha256(), key, (int)keylen, msg, sizeof TOKEN_PREFIX - 1 + idlen, mac, &maclen) ||
      maclen * 2 != JD_WATCH_TOKEN_HEX)
    return -1;
  static const char hex[] = "0123456789abcdef";
  for (unsigned int i = 0; i < maclen; i++) {
    out[2 * i] = hex[mac[i] >> 4];
    out[2 * i + 1] = hex[mac[i] & 15];
  }
  out[JD_WATCH_TOKEN_HEX] = '\0';
  OPENSSL_cleanse(mac, sizeof mac);
  return 0;
}

bool jd_watch_token_ok(const char *token, const unsigned char *key, size_t keylen,
                       const char *task_id) {
  if (!token || strnlen(token, JD_WATCH_TOKEN_HEX + 1) != JD_WATCH_TOKEN_HEX)
    return false;
  char want[JD_WATCH_TOKEN_HEX + 1];
  if (jd_watch_token(want, key, keylen, task_id))
    return false;
  /* Upper-case hex is accepted: fold it without branching on the secret. */
  char got[JD_WATCH_TOKEN_HEX];
  for (size_t i = 0; i < JD_WATCH_TOKEN_HEX; i++) {
    unsigned char c = (unsigned char)token[i];
    unsigned char upper = (unsigned char)((unsigned)(c - 'A') <= 'F' - 'A');
    got[i] = (char)(c | (upper << 5));
  }
  bool ok = CRYPTO_memcmp(got, want, JD_WATCH_TOKEN_HEX) == 0;
  OPENSSL_cleanse(want, sizeof want);
  return ok;
}

/* Reads at most cap bytes of fd into buf; the count, or -1 with errno. */
static ssize_t read_bounded(int fd, unsigned char *buf, size_t cap) {
  size_t n = 0;
  while (n < cap) {
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return -1;
    if (r == 0)
      break;
    n += (size_t)r;
  }
  return (ssize_t)n;
}

int jd_watch_key_read(unsigned char **out, size_t *len, const char *path, char *err,
                      size_t errlen) {
  *out = NULL;
  *len = 0;
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0)
    return jd_fail(err, errlen, "watch_key_file %s: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
    close(fd);
    return jd_fail(err, errlen, "watch_key_file %s: not a regular file", path);
  }
  if (st.st_mode & S_IROTH) { /* a secret: group-readable is allowed (a service group) */
    close(fd);
    return jd_fail(err, errlen, "watch_key_file %s: readable by others: chmod o-r", path);
  }
  /* Room for the largest key, "\r\n" and one byte more to see it is too big. */
  unsigned char *buf = malloc(JD_WATCH_KEY_MAX + 3);
  ssize_t n = buf ? read_bounded(fd, buf, JD_WATCH_KEY_MAX + 3) : -1;
  int e = errno;
  close(fd);
  if (n < 0) {
    const char *why = buf ? strerror(e) : "out of memory";
    free(buf);
    return jd_fail(err, errlen, "watch_key_file %s: %s", path, why);
  }
  size_t k = (size_t)n;
  if (k && buf[k - 1] == '\n')
    k--;
  if (k && buf[k - 1] == '\r')
    k--;
  if (k < JD_WATCH_KEY_MIN || k > JD_WATCH_KEY_MAX) {
    OPENSSL_cleanse(buf, (size_t)n);
    free(buf);
    return jd_fail(err, errlen, "watch_key_file %s: the key must be %d to %d bytes", path,
                   JD_WATCH_KEY_MIN, JD_WATCH_KEY_MAX);
  }
  *out = buf;
  *len = k;
  return 0;
}
