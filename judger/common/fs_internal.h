/* Private to the fs family (fs.c, fs_copy.c): the cursor a walk, and a
 * copy's destination, step through directories with. */
#ifndef JD_FS_INTERNAL_H
#define JD_FS_INTERNAL_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

typedef struct jd_fs_dir_id {
  dev_t dev;
  ino_t ino;
} jd_fs_dir_id;

/* The directory being walked (fd) and the device/inode of every directory
 * from the root down to it, to check each step back up. Starts as
 * {.fd = -1}. */
typedef struct jd_fs_cursor {
  int fd;
  jd_fs_dir_id *ids;
  size_t n, cap;
} jd_fs_cursor;

/* Opens name under dirfd (the cursor's own when dirfd < 0) and makes it the
 * cursor's directory; want (may be NULL) is what it must be (ESTALE when
 * it is not). 0 or -1 with errno. */
int jd_fs_cursor_down(jd_fs_cursor *c, int dirfd, const char *name, const struct stat *want);
/* Back to the parent, which must be the one it came down from (ESTALE
 * when it is not). 0 or -1 with errno. */
int jd_fs_cursor_up(jd_fs_cursor *c);
/* Closes the cursor's directory and frees what it holds. */
void jd_fs_cursor_close(jd_fs_cursor *c);

/* close(fd) when fd >= 0, errno left as it was. */
void jd_fs_close_keep_errno(int fd);

#endif
