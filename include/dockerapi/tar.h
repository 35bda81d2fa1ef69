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

/* Caps on an extraction, held while the archive is read: an entry is
 * checked against them before anything of it is written (its declared
 * size included), and its bytes are counted again as they are written. A
 * field left 0 takes the default below; DK_TAR_NO_CAP lifts a cap. */
typedef struct dk_tar_extract_options {
  /* Apparent bytes of every entry, summed: a sparse entry counts at its
   * full size (its holes stay holes on disk, so the disk used is at most
   * this). */
  uint64_t max_bytes;
  /* Entries of any kind (files, directories, links). */
  uint64_t max_entries;
  /* Directory levels of an entry's path: "a/b/file" and "a/b/" are 2. */
  uint64_t max_depth;
} dk_tar_extract_options;

#define DK_TAR_EXTRACT_OPTIONS_INIT                                                                \
  { 0, 0, 0 }
#define DK_TAR_NO_CAP UINT64_MAX
/* The default caps (a field left 0). */
#define DK_TAR_DEFAULT_MAX_BYTES ((uint64_t)1 << 30)   /* 1 GiB */
#define DK_TAR_DEFAULT_MAX_ENTRIES ((uint64_t)1 << 20) /* 1048576 */
#define DK_TAR_DEFAULT_MAX_DEPTH ((uint64_t)256)

/* Extracts a tar held in memory (any compression libarchive reads) into
 * dest (which must exist). Refuses entries that would land outside dest:
 * absolute paths, "..", symlinks or hard links pointing out, device nodes
 * (DK_EINVAL). Never follows existing symlinks. Stops at the first cap of
 * opts (NULL = the defaults) an entry would pass, before writing past it:
 * DK_ETOOBIG, the message naming the cap and the entry. On failure dest
 * keeps what was extracted before (never past the caps): the caller
 * removes it. */
int dk_tar_extract_opts(const void *data, size_t len, const char *dest,
                        const dk_tar_extract_options *opts);
/* dk_tar_extract_opts with the default caps. */
int dk_tar_extract(const void *data, size_t len, const char *dest);

#ifdef __cplusplus
}
#endif
#endif
