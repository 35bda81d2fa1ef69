/* Walks of directory trees a program may have written: fd-relative, never
 * following a link, never building a full path (no PATH_MAX limit, no
 * depth limit, two descriptors open whatever the depth).
 *
 * The walk opens each directory from its parent with O_NOFOLLOW and checks
 * that what it opened is what it listed (device and inode); it climbs back
 * with ".." and checks that too, so a directory moved under it is an error
 * (ESTALE), never a walk somewhere else. It does not cross into another
 * file system (EXDEV). Every path a caller gives (the root of a tree) is the
 * judger's own: its last component is opened without following a link.
 */
#ifndef JD_FS_H
#define JD_FS_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* What a visitor may return besides 0 (go on) and -1 (fail, errno set). */
enum {
  JD_FS_SKIP = 1, /* from enter: do not walk this directory */
  JD_FS_STOP = 2, /* from any hook: end the walk now; jd_fs_walk returns it */
};

/* Hooks of a walk; each may be NULL. dirfd holds the entry called name;
 * depth is 0 for the root, 1 for its entries... st is the entry's own
 * (lstat) status. */
typedef struct jd_fs_visitor {
  /* Anything but a directory: files, links, devices, FIFOs, sockets. */
  int (*file)(void *ud, int dirfd, const char *name, const struct stat *st, size_t depth);
  /* A directory, before its entries. */
  int (*enter)(void *ud, int dirfd, const char *name, const struct stat *st, size_t depth);
  /* A directory, after its entries (removing it is allowed here). */
  int (*leave)(void *ud, int dirfd, const char *name, const struct stat *st, size_t depth);
  void *ud;
} jd_fs_visitor;

/* Walks the tree at name under dirfd, each directory's non-directories
 * first, then its subdirectories. 0 when done, JD_FS_STOP when a hook
 * stopped it, -1 with errno. An entry that disappears while walked is
 * left out. */
int jd_fs_walk(int dirfd, const char *name, const jd_fs_visitor *v);
/* jd_fs_walk on the tree at path (jd_fs_open_parent). */
int jd_fs_walk_path(const char *path, const jd_fs_visitor *v);

/* Opens the directory holding path's last component (that part of the
 * path is followed: it is the judger's own) into *dirfd, and gives the
 * component in *leaf (malloc'd; the caller frees it and closes *dirfd).
 * -1 with errno (EINVAL when path has no last component: "", "/"). */
int jd_fs_open_parent(int *dirfd, char **leaf, const char *path);

/* Makes path and its missing parents, each with mode exactly (not masked
 * by the umask); existing ones are left as they are. No component may be
 * a symbolic link (ELOOP/ENOTDIR). 0 or -1 with errno. */
int jd_mkdir_p(const char *path, int mode);
/* jd_mkdir_p, then path itself gets mode even when it was there (when the
 * judger owns it; EPERM otherwise): for the state directory and the
 * directories under it, 0700 whoever made them first. */
int jd_mkdir_mode(const char *path, int mode);

/* Removes a tree (or a file) without following links; missing = success.
 * Directories a container made unwritable are made writable first. */
int jd_rm_rf(const char *path);
int jd_rm_rf_at(int dirfd, const char *name);

/* Copies a directory tree: regular files (their bytes, permission bits
 * without set-uid/set-gid/sticky), directories and symbolic links (as
 * links); devices, FIFOs and sockets are left out. dst must not exist, or
 * be an empty directory. */
int jd_copy_tree(const char *src, const char *dst);

/* Gives every entry of the tree (links themselves, not their targets) to
 * uid:gid. */
int jd_chown_tree(const char *path, uid_t uid, gid_t gid);

#endif
