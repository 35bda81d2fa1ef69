/* The source module's own seams, shared by its files and its tests:
 * source.c (jd_source, directories, Dockerfiles, the tree hash),
 * source_git.c (resolving, exporting), git_mirror.c (the mirrors, their
 * locks and gc), git_bounds.c (libgit2's bounds; these three share
 * git_internal.h) and source_tar.c (tarballs).
 * Not for other parts: they use source.h. */
#ifndef JD_SOURCE_INTERNAL_H
#define JD_SOURCE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "build/source.h"
#include "common/fs.h"

/* ---- git (source_git.c, git_mirror.c) ---- */

/* Resolves ref's git source into s (repo, tree, commit, identity) without
 * writing it out. 0, or -1 with *kind (jd_source_open()). */
int jd_src_git_open(jd_source *s, const char *state_dir, const jd_program_ref *ref,
                    jd_fail_kind *kind, char *err, size_t errlen);
/* Writes s's tree into dest (which exists and is empty). */
int jd_src_git_write(const jd_source *s, const char *dest, jd_fail_kind *kind, char *err,
                     size_t errlen);
/* Reads a Dockerfile from s's tree; the rules of jd_source_dockerfile(). */
int jd_src_git_dockerfile(char **data, size_t *len, const jd_source *s, const char *name,
                          bool optional, jd_fail_kind *kind, char *err, size_t errlen);
/* Releases s's repository and tree. */
void jd_src_git_close(jd_source *s);
/* Bytes one git fetch may receive (512 MiB); tests lower it. */
extern uint64_t jd_git_fetch_max;
/* Bytes the git mirrors' packs may hold in all before a fetch (8 GiB): the
 * least recently used mirrors nobody holds go first; tests lower it. */
extern uint64_t jd_git_mirrors_max;

/* ---- tarballs (source_tar.c) ---- */

/* The root of an extracted tarball: dir itself when it holds
 * run.Dockerfile, else its only entry when that is a directory (forges
 * wrap their tarballs in "repo-1.0/"). Malloc'd; NULL when memory runs out. */
char *jd_src_tar_root(const char *dir);

/* The caps of a program's source tree (JD_SOURCE_MAX_*), for the walks
 * over it: the hash, the copy, the extraction. */
extern const jd_fs_caps jd_source_caps;

/* Content hash of a directory tree (names, types, exec bits, file bytes,
 * symlink targets; devices/fifos/sockets ignored like jd_copy_tree does),
 * as 64 hex chars. Iterative (fs.h's walk in byte order): any depth,
 * fd-relative, no link followed, no mount point crossed (EXDEV). -1 with
 * errno on I/O failure. */
int jd_tree_hash(char out[65], const char *dir);
/* jd_tree_hash under caps (NULL = none), counted into *t as it goes (a
 * directory before the walk enters it): 0 with t->over set, and out left
 * unset, when the tree passes one (jd_fs_tally_message says which). */
int jd_tree_hash_capped(char out[65], jd_fs_tally *t, const char *dir, const jd_fs_caps *caps);

/* Exports the tree of `ref` (NULL = the remote's HEAD) of repository `url`
 * into dest (which must exist and be empty). *commit and *tree (may be NULL)
 * get the ids (malloc'd). 0, or -1 with *kind as for jd_source_open(). */
int jd_git_export(char **commit, char **tree, const char *state_dir, const char *url,
                  const char *ref, const char *dest, jd_fail_kind *kind, char *err, size_t errlen);

/* The mirror directory a URL maps to: <state_dir>/git/<sha256(url)>.git */
int jd_git_mirror_path(char *out, size_t outlen, const char *state_dir, const char *url);

/* Downloads an http(s) tarball (capped at JD_TARBALL_MAX, any compression
 * libarchive reads) and extracts it into dest, refusing entries that would
 * land outside it. call (may be NULL): the build's deadline (past it
 * JD_FAIL_TIMEOUT) and cancel token; public_only: connect to public
 * addresses only (common/netaddr.h), checked on every address curl
 * connects to, redirects included. 0, or -1 with *kind as for
 * jd_source_open(). */
int jd_tar_fetch(const char *url, const char *dest, const dk_call *call, bool public_only,
                 jd_fail_kind *kind, char *err, size_t errlen);

/* Reads a Dockerfile of the tree: must be a regular file (a symlink could
 * make the judger read a host file), at most JD_DOCKERFILE_MAX bytes.
 * 0, or -1 with *kind JD_FAIL_PROGRAM when missing/invalid (err says
 * why) or JD_FAIL_SYSTEM. *data is NUL-terminated; the caller frees it. With
 * optional=true a missing file gives 0 and *data NULL. */
int jd_source_read_dockerfile(char **data, size_t *len, const char *dir, const char *name,
                              bool optional, jd_fail_kind *kind, char *err, size_t errlen);

#endif
