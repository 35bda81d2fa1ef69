/* libdockerapi — tar archives (libarchive) for build contexts, archive
 * put/get and image import. */
#ifndef DOCKERAPI_TAR_H
#define DOCKERAPI_TAR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An in-memory tar being written, capped at max bytes (0 = 1 GiB). */
typedef struct dk_tar dk_tar;

int dk_tar_new(dk_tar **out, size_t max);
int dk_tar_add_file(dk_tar *t, const char *name, const void *data, size_t len, int mode);
int dk_tar_add_dir(dk_tar *t, const char *name, int mode);
int dk_tar_add_symlink(dk_tar *t, const char *name, const char *target);
/* Adds a file, symlink or a whole directory tree from the filesystem under
 * `name` in the archive ("" or "." = at the root). */
int dk_tar_add_path(dk_tar *t, const char *src, const char *name);
/* Closes the archive; data stays owned by t until dk_tar_free(). */
int dk_tar_finish(dk_tar *t, const void **data, size_t *len);
void dk_tar_free(dk_tar *t);

/* Writes a directory tree as a tar stream to an open fd (for large trees,
 * e.g. a root filesystem to import). */
int dk_tar_write_dir_fd(int fd, const char *dir);

/* Extracts a tar held in memory into dest (which must exist). Refuses entries
 * that would land outside dest: absolute paths, "..", symlinks or hard links
 * pointing out, device nodes. Never follows existing symlinks. */
int dk_tar_extract(const void *data, size_t len, const char *dest);

#ifdef __cplusplus
}
#endif
#endif
