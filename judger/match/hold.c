/* The embedded judger-hold and its installation (see hold.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/tmpfile.h"
#include "common/util.h"
#include "match/hold.h"

/* The static binary built by CMake (JD_HOLD_BIN is its path), included as
 * bytes: the judger is one file to install, and the copy it writes into
 * its state directory is always the one it was built with. */
__asm__(".section .rodata\n"
        ".balign 16\n"
        "jd_hold_bin:\n"
        ".incbin \"" JD_HOLD_BIN "\"\n"
        "jd_hold_bin_end:\n"
        ".previous\n");
extern const char jd_hold_bin[], jd_hold_bin_end[];

static pthread_once_t hash_once = PTHREAD_ONCE_INIT;
static char hash[65];

static void hash_init(void) {
  jd_sha256_hex(hash, jd_hold_bin, (size_t)(jd_hold_bin_end - jd_hold_bin));
}

int jd_hold_install(char **path_out, const char *state_dir) {
  *path_out = NULL;
  pthread_once(&hash_once, hash_init);
  char name[64];
  snprintf(name, sizeof name, "judger-hold-%.16s", hash);
  char *path = NULL;
  if (asprintf(&path, "%s/%s", state_dir, name) < 0)
    return -1;
  size_t len = (size_t)(jd_hold_bin_end - jd_hold_bin);
  struct stat st;
  /* The state directory is the judger's (no program writes there); the name
   * carries the content's hash, so a file of the right size is this one. */
  if (lstat(path, &st) || !S_ISREG(st.st_mode) || (size_t)st.st_size != len) {
    if (jd_file_publish(state_dir, name, jd_hold_bin, len, 0555)) {
      int saved = errno;
      free(path);
      errno = saved;
      return -1;
    }
  }
  *path_out = path;
  return 0;
}
