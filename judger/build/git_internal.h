/* The git source's own seams, shared by its files: source_git.c (resolving
 * a ref, exporting a tree, jd_source's git side), git_mirror.c (the
 * per-host mirrors: fetches, their locks, gc and the total cap) and
 * git_bounds.c (libgit2 set up with the judger's bounds: the capped
 * allocator, object sizes read before inflating, the bounded object
 * database). Not for other files: they use source.h or source_internal.h. */
#ifndef JD_GIT_INTERNAL_H
#define JD_GIT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <git2.h>

#include "build/source_internal.h"
#include "common/error.h"

/* What a git source may hold. Every object's size is read from its header
 * before it is inflated (libgit2 inflates an object whole), so the judger
 * never holds more than one object of these sizes. */
#define GIT_EXPORT_MAX ((size_t)1024 * 1024 * 1024) /* bytes the export writes, in all */
#define GIT_FILE_MAX ((size_t)100 * 1024 * 1024)    /* one file (GitHub's own cap) */
#define GIT_TREE_MAX ((size_t)16 * 1024 * 1024)     /* one tree object */
#define GIT_META_MAX ((size_t)1024 * 1024)          /* one commit or tag object */
#define GIT_EXPORT_DEPTH JD_BUILD_DEFAULT_ARTIFACTS_DEPTH
#define GIT_EXPORT_ENTRIES ((size_t)JD_BUILD_DEFAULT_ARTIFACTS_FILES)
/* Objects one fetched pack may hold (libgit2 keeps an index entry of each
 * in memory while it indexes the pack). */
#define GIT_PACK_OBJECTS ((size_t)2 * 1000 * 1000)

/* ---- git_bounds.c ---- */

/* git_libgit2_init() with the judger's settings: the bounded socket
 * (git_stream.h), the pack object cap, the allocation cap (set once: it
 * outlives shutdowns, and libgit2's own allocator is malloc's too). Each
 * call is matched by a git_libgit2_shutdown(). */
void jd_git_init(void);
/* libgit2's last error as a message (an allocation the cap refused named
 * as such). */
const char *jd_git_msg(void);
/* The size and type of id, from its header (nothing inflated). 0, or -1
 * with *kind: SYSTEM (no object database), PROGRAM (what, named in err,
 * cannot be read). */
int jd_git_object_header(size_t *size, git_object_t *type, git_repository *repo, const git_oid *id,
                         const char *what, jd_fail_kind *kind, char *err, size_t errlen);
/* Looks id up as an object of type (GIT_OBJECT_ANY: any) of at most max
 * bytes, the size read from its header before it is inflated. what names
 * it in err. 0, or -1 with *kind. */
int jd_git_lookup_bounded(git_object **out, git_repository *repo, const git_oid *id,
                          git_object_t type, size_t max, const char *what, jd_fail_kind *kind,
                          char *err, size_t errlen);
/* Puts the bounded object database in front of repo's own. 0, or -1 with
 * *kind JD_FAIL_SYSTEM. */
int jd_git_bound_repository(git_repository *repo, jd_fail_kind *kind, char *err, size_t errlen);

/* ---- source_git.c ---- */

/* Whether s is lower-case hex of min to max digits. */
bool jd_git_is_hex(const char *s, size_t min, size_t max);

/* ---- git_mirror.c ---- */

/* Opens the mirror of ref->git_url under state_dir, fetched as needed
 * (unless ref->git_ref is a commit it already has) within ref->call (NULL:
 * no deadline, no cancel) and ref->public_only, with its lock held:
 * *lockfd is the lock (closing it releases it), also on failure. 0, or -1
 * with *kind (jd_source_open()). */
int jd_git_mirror_open(git_repository **repo, int *lockfd, const char *state_dir,
                       const jd_program_ref *ref, jd_fail_kind *kind, char *err, size_t errlen);

#endif
