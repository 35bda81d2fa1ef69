#include "common/context.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fs.h"

const char *jd_state_dir_default(void) { return JD_STATE_DIR_DEFAULT; }

int jd_state_locks_open(int *fd, const char *state_dir) {
  char dir[PATH_MAX];
  if (snprintf(dir, sizeof dir, "%s/locks", state_dir ? state_dir : JD_STATE_DIR_DEFAULT) >=
      (int)sizeof dir) {
    errno = ENAMETOOLONG;
    return -1;
  }
  if (jd_mkdir_p(dir, 0700))
    return -1;
  *fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  return *fd < 0 ? -1 : 0;
}

int jd_state_dir_abs(char *out, size_t n, const char *given) {
  const char *dir = given && *given ? given : jd_state_dir_default();
  if (dir[0] == '/')
    return snprintf(out, n, "%s", dir) < (int)n ? 0 : -1;
  char cwd[4096];
  if (!getcwd(cwd, sizeof cwd))
    return -1;
  /* "./x" and "x" are the same directory; a trailing "/." is left as is. */
  while (dir[0] == '.' && dir[1] == '/')
    dir += 2;
  return snprintf(out, n, "%s/%s", strcmp(cwd, "/") ? cwd : "", dir) < (int)n ? 0 : -1;
}

void jd_host_id_from(char out[JD_HOST_ID_MAX + 1], const char *name) {
  size_t j = 0;
  for (size_t i = 0; name && name[i] && j < JD_HOST_ID_MAX; i++) {
    char c = (char)tolower((unsigned char)name[i]);
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    out[j++] = ok ? c : '-';
  }
  out[j] = '\0';
  if (!j) {
    snprintf(out, JD_HOST_ID_MAX + 1, "judger");
    return;
  }
  if (!isalnum((unsigned char)out[0]))
    out[0] = 'h';
}

void jd_host_id(char out[JD_HOST_ID_MAX + 1]) {
  char h[256] = "";
  if (gethostname(h, sizeof h - 1) != 0)
    h[0] = '\0';
  jd_host_id_from(out, h);
}

int jd_build_jobs_default(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : n > 4 ? 4 : (int)n;
}
