/* Old artifacts cache entries (artifacts.h): removed after their time
 * unused, a half-made or half-removed one on sight. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "build/artifacts.h"
#include "build/build_internal.h"
#include "common/fs.h"
#include "common/util.h"

#define TMP_PREFIX JD_ARTIFACTS_TMP_PREFIX
#define DEL_PREFIX JD_ARTIFACTS_DEL_PREFIX
#define MARKER JD_ARTIFACTS_MARKER

/* Removes one entry: renamed away first, so that even half removed it is
 * never a hit again (and the next gc finishes it). */
static int remove_entry(int basefd, const char *name) {
  char del[64], rnd[17];
  if (!strncmp(name, DEL_PREFIX, strlen(DEL_PREFIX)))
    return jd_rm_rf_at(basefd, name);
  if (jd_random_hex(rnd, 8) != 0)
    return -1;
  snprintf(del, sizeof del, DEL_PREFIX "%s", rnd);
  if (renameat(basefd, name, basefd, del) != 0)
    return errno == ENOENT ? 0 : -1;
  return jd_rm_rf_at(basefd, del);
}

/* Whether the entry called name is due: one being removed always, a
 * partial one (a build in progress or a crashed one) after a day, a
 * complete one when its marker is older than max_age_s, one without a
 * marker (half removed) always. */
static bool entry_due(int basefd, const char *name, time_t now, int64_t max_age_s) {
  struct stat st;
  if (!strncmp(name, DEL_PREFIX, strlen(DEL_PREFIX)))
    return true;
  if (fstatat(basefd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
    return false;
  if (!strncmp(name, TMP_PREFIX, strlen(TMP_PREFIX)))
    return (int64_t)(now - st.st_mtime) >= 24 * 3600;
  int fd = S_ISDIR(st.st_mode) ? openat(basefd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW) : -1;
  bool marked =
      fd >= 0 && fstatat(fd, MARKER, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
  if (fd >= 0)
    close(fd);
  return !marked || (int64_t)(now - st.st_mtime) >= max_age_s;
}

int jd_artifacts_gc(size_t *removed, const char *state_dir, int64_t max_age_s, bool dry_run) {
  if (removed)
    *removed = 0;
  char base[PATH_MAX];
  snprintf(base, sizeof base, "%s/artifacts", state_dir);
  int basefd = open(base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (basefd < 0)
    return errno == ENOENT ? 0 : -1;
  char **names = NULL;
  size_t n = 0;
  int rc = jd_fs_list_names(&names, &n, basefd);
  time_t now = time(NULL);
  for (size_t i = 0; i < n; i++) {
    if (!entry_due(basefd, names[i], now, max_age_s))
      continue;
    if (!dry_run && remove_entry(basefd, names[i]) != 0) {
      rc = -1;
      continue;
    }
    if (removed)
      (*removed)++;
  }
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
  close(basefd);
  return rc;
}
