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
 *
 * fs.c: the walk, making directories, removing, listing, owners;
 * fs_copy.c: the caps on a program's tree and the capped copy.
 */
#ifndef JD_FS_H
#define JD_FS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* What a visitor may return besides 0 (go on) and -1 (fail, errno set). */
enum {
  JD_FS_SKIP = 1, /* from enter: do not walk this directory */
  JD_FS_STOP = 2, /* from any hook: end the walk now; jd_fs_walk returns it */
};

/* Flags of a walk (jd_fs_visitor.flags). */
enum {
  /* Each directory's entries in byte order of their names (strcmp),
   * directories entered where they fall among the others, instead of the
   * default non-directories first: a walk whose output must not depend on
   * readdir's order (a content hash). Costs a sort per directory. */
  JD_FS_IN_ORDER = 1,
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
  unsigned flags; /* JD_FS_IN_ORDER or 0 */
} jd_fs_visitor;

/* Walks the tree at name under dirfd, each directory's non-directories
 * first, then its subdirectories (JD_FS_IN_ORDER: all in byte order). 0
 * when done, JD_FS_STOP when a hook stopped it, -1 with errno. An entry
 * that disappears while walked is left out. The walk keeps no stack of
 * its own calls: its memory grows with the depth (a frame per level, on
 * the heap), so a walk over a program's tree caps the depth in `enter`
 * (jd_fs_tally_add below) before it descends. */
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

/* The names in the directory at fd (not "." and ".."), read whole before
 * a caller renames or removes any: *out is a malloc'd array of *n
 * malloc'd names, the caller frees both. 0 or -1 with errno. */
int jd_fs_list_names(char ***out, size_t *n, int fd);

/* Removes a tree (or a file) without following links; missing = success.
 * Directories a container made unwritable are made writable first. */
int jd_rm_rf(const char *path);
int jd_rm_rf_at(int dirfd, const char *name);
/* Empties the directory at path the same way, keeping the directory. */
int jd_rm_contents(const char *path);

/* ---- caps on a tree a program sent ----------------------------------------
 * A walk over a program's tree counts every entry before it acts on it
 * (and every directory before it descends into it) and stops at the first
 * cap passed, naming it. */

/* Caps; a field <= 0 is no cap. */
typedef struct jd_fs_caps {
  int64_t bytes;   /* regular files' apparent sizes, summed: a sparse file counts whole */
  int64_t entries; /* entries below the root, of any kind */
  int64_t depth;   /* directory levels below the root (its subdirectories are level 1) */
} jd_fs_caps;

/* Which cap a walk passed. */
typedef enum jd_fs_cap {
  JD_FS_CAP_NONE = 0,
  JD_FS_CAP_BYTES,
  JD_FS_CAP_ENTRIES,
  JD_FS_CAP_DEPTH,
} jd_fs_cap;

/* What a capped walk counted so far; zero it before the walk. */
typedef struct jd_fs_tally {
  int64_t bytes;   /* apparent sizes of the regular files counted */
  int64_t entries; /* entries counted (the root is not one) */
  int64_t depth;   /* deepest directory level counted */
  jd_fs_cap over;  /* the cap passed, or JD_FS_CAP_NONE */
  jd_fs_caps caps; /* the caps it was counted against (for the message) */
} jd_fs_tally;

/* Counts one entry a walk's hook is given (its lstat status and depth;
 * the root, depth 0, is not counted). JD_FS_STOP with t->over set when it
 * passes one of caps (NULL = none), else 0: a hook returns it as is, and
 * from `enter` that stops the walk before it descends. */
int jd_fs_tally_add(jd_fs_tally *t, const jd_fs_caps *caps, const struct stat *st, size_t depth);

/* One line (no newline) saying which cap t passed, prefixed by what ("the
 * source tree"): "the source tree is deeper than the limit of 64 directory
 * levels (a directory at level 65)". "" when t passed none. */
void jd_fs_tally_message(char *buf, size_t len, const jd_fs_tally *t, const char *what);

/* Copies a directory tree: regular files (their bytes, permission bits
 * without set-uid/set-gid/sticky), directories and symbolic links (as
 * links); devices, FIFOs and sockets are left out. dst must not exist, or
 * be an empty directory. A sparse file stays sparse (its holes are found
 * with SEEK_DATA/SEEK_HOLE and not written), and no file gets more bytes
 * than the size it was listed (and counted) with. */
int jd_copy_tree(const char *src, const char *dst);
/* jd_copy_tree under caps (NULL = none), counted into *t (zeroed here) as
 * the copy goes: every entry before it is made, every directory before it
 * is entered, a file's apparent size before its bytes are copied. 0 with
 * t->over set when a cap stopped it: dst then holds a partial copy (never
 * past the caps) that the caller removes. -1 with errno. */
int jd_copy_tree_capped(jd_fs_tally *t, const char *src, const char *dst, const jd_fs_caps *caps);

/* Gives every entry of the tree (links themselves, not their targets) to
 * uid:gid. */
int jd_chown_tree(const char *path, uid_t uid, gid_t gid);

#endif
