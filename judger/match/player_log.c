/* Capped container logs (see player_log.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "match/player_log.h"

struct jd_log_spool {
  int fd;
  size_t cap;
  size_t written;
  bool truncated;
  int err; /* first write errno */
};

int jd_log_spool_open(jd_log_spool **out, const char *path, size_t cap) {
  *out = NULL;
  jd_log_spool *s = calloc(1, sizeof *s);
  if (!s)
    return -1;
  s->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (s->fd < 0) {
    int saved = errno;
    free(s);
    errno = saved;
    return -1;
  }
  s->cap = cap;
  *out = s;
  return 0;
}

int jd_log_spool_write(jd_log_spool *s, const char *data, size_t len, bool *full) {
  *full = s->truncated;
  if (s->truncated)
    return 0;
  size_t room = s->cap - s->written;
  size_t take = len < room ? len : room;
  if (take && jd_write_all(s->fd, data, take)) {
    s->err = s->err ? s->err : errno;
    return -1;
  }
  s->written += take;
  if (take == len)
    return 0;
  s->truncated = true;
  char marker[128];
  int n = snprintf(marker, sizeof marker, JD_LOG_MARKER_FMT, s->cap);
  if (jd_write_all(s->fd, marker, (size_t)n)) {
    s->err = s->err ? s->err : errno;
    return -1;
  }
  *full = true;
  return 0;
}

bool jd_log_spool_truncated(const jd_log_spool *s) { return s && s->truncated; }

int jd_log_spool_close(jd_log_spool *s) {
  if (!s)
    return 0;
  int rc = close(s->fd) ? -1 : 0;
  if (s->err) {
    errno = s->err;
    rc = -1;
  }
  free(s);
  return rc;
}

int jd_player_log_append(int dst, const char *header, const char *spool_path) {
  int rc = -1, saved = 0;
  if (header && (jd_write_all(dst, header, strlen(header)) || jd_write_all(dst, "\n", 1)))
    return -1;
  int src = open(spool_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (src < 0)
    return errno == ENOENT ? 0 : -1;
  char buf[65536];
  bool ends_nl = true;
  for (;;) {
    ssize_t n = read(src, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      goto cleanup;
    if (n == 0)
      break;
    if (jd_write_all(dst, buf, (size_t)n))
      goto cleanup;
    ends_nl = buf[n - 1] == '\n';
  }
  /* Keep the next separator on a line of its own. */
  if (header && !ends_nl && jd_write_all(dst, "\n", 1))
    goto cleanup;
  rc = 0;
cleanup:
  saved = errno;
  close(src);
  errno = saved;
  return rc;
}
