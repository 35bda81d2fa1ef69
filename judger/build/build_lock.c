/* Builds sharing their first RUN step take turns (see build_lock.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <unistd.h>

#include "build/build_lock.h"
#include "common/clock.h"
#include "common/context.h"
#include "common/fs.h"
#include "common/util.h"

/* Whether the instruction text starts with keyword kw (any case) followed
 * by a blank or its end. */
static bool is_instruction(const char *s, size_t n, const char *kw) {
  size_t k = strlen(kw);
  return n >= k && !strncasecmp(s, kw, k) && (n == k || s[k] == ' ' || s[k] == '\t');
}

bool jd_build_prefix_key(char out[65], int *steps, const char *df, size_t len) {
  *steps = 0;
  /* The prefix, normalised: one instruction per line. Each line adds at
   * most one separator for the newline it drops, the last one excepted. */
  char *norm = malloc(len + 2);
  if (!norm)
    return false;
  size_t nl = 0, start = 0;
  bool open = false, found = false; /* open: the instruction goes on */
  for (size_t i = 0; i < len && !found;) {
    size_t a = i, e = i;
    while (e < len && df[e] != '\n')
      e++;
    size_t b = e;
    i = e + 1;
    while (a < b && (df[a] == ' ' || df[a] == '\t'))
      a++;
    while (b > a && (df[b - 1] == ' ' || df[b - 1] == '\t' || df[b - 1] == '\r'))
      b--;
    if (a == b || df[a] == '#')
      continue; /* blank or comment, inside a continued instruction too */
    bool cont = df[b - 1] == '\\';
    if (cont)
      b--;
    if (!open) {
      if (nl)
        norm[nl++] = '\n';
      start = nl;
      (*steps)++;
    } else {
      norm[nl++] = ' ';
    }
    memcpy(norm + nl, df + a, b - a);
    nl += b - a;
    open = cont;
    found = !open && is_instruction(norm + start, nl - start, "RUN");
  }
  if (found)
    jd_sha256_hex(out, norm, nl);
  free(norm);
  return found;
}

int jd_build_lock_take(int *fd, bool *waited, const char *state_dir, const char *key,
                       int64_t max_wait_ms, const dk_cancel *cancel) {
  *fd = -1;
  *waited = false;
  char name[128];
  if (snprintf(name, sizeof name, "build-%s", key) >= (int)sizeof name) {
    errno = ENAMETOOLONG;
    return -1;
  }
  /* The state dir is the judger's own; no link is followed all the same. */
  int d = -1;
  if (jd_state_locks_open(&d, state_dir) != 0)
    return -1;
  int f = openat(d, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  int e = errno;
  close(d);
  if (f < 0) {
    errno = e;
    return -1;
  }
  /* Polled so that a cancel (SIGINT, a task cancelled) ends the wait. */
  int64_t until = jd_mono_ms() + max_wait_ms;
  while (flock(f, LOCK_EX | LOCK_NB) != 0) {
    e = errno;
    if (e == EWOULDBLOCK || e == EINTR) {
      *waited = true;
      e = cancel && dk_cancel_fired(cancel) ? ECANCELED : jd_mono_ms() >= until ? ETIMEDOUT : 0;
    }
    if (e) {
      close(f);
      errno = e;
      return -1;
    }
    usleep(50 * 1000);
  }
  *fd = f;
  return 0;
}

void jd_build_lock_release(int fd) {
  if (fd >= 0) {
    (void)flock(fd, LOCK_UN);
    close(fd);
  }
}
