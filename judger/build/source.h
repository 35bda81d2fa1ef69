/* Program sources: a local directory, a git repository at a ref, or a
 * tarball over HTTP(S), turned into a directory holding run.Dockerfile plus
 * an identity string that names the content (the artifacts cache key uses it).
 *
 * Git: a local repository (a path, e.g. "." inside a post-receive hook or a
 * CI checkout) is read in place; any URL (file://, http(s)://, ssh://,
 * user@host:path) goes through a per-host bare mirror under
 * <state_dir>/git/<sha256 of the URL>.git, kept across tasks, fetched when
 * the ref is not a commit already there. Either way the commit's tree is
 * exported straight from the object database (no checkout, no index).
 */
#ifndef JD_SOURCE_H
#define JD_SOURCE_H

#include <stddef.h>

#include "build/program.h"
#include "common/error.h"

#define JD_RUN_DOCKERFILE "run.Dockerfile"
#define JD_BUILD_DOCKERFILE "build.Dockerfile"
/* Largest Dockerfile accepted, and largest tarball downloaded. */
#define JD_DOCKERFILE_MAX ((size_t)1024 * 1024)
#define JD_TARBALL_MAX ((size_t)256 * 1024 * 1024)
/* Caps on a program's source tree, held while it is read (the directory's
 * hash, the tarball's extraction, the copy a build works on): the
 * artifacts' default caps (program.h), so one depth limit holds for what
 * a contestant sends and what a build leaves. Bytes are apparent sizes (a
 * sparse file counts whole); entries are of any kind; depth counts
 * directory levels below the root. A tree past one is the program's fault
 * (JD_FAIL_PROGRAM, CE), with a message naming the cap. */
#define JD_SOURCE_MAX_BYTES JD_BUILD_DEFAULT_ARTIFACTS_BYTES
#define JD_SOURCE_MAX_ENTRIES JD_BUILD_DEFAULT_ARTIFACTS_FILES
#define JD_SOURCE_MAX_DEPTH JD_BUILD_DEFAULT_ARTIFACTS_DEPTH

struct git_repository;
struct git_tree;

typedef struct jd_source {
  /* The program's tree (holds run.Dockerfile). NULL for a git source until
   * jd_source_materialize(): a cache hit never writes the files out. */
  char *dir;
  char *identity; /* "git:<tree id>" or "tree:<sha256>" */
  char *commit;   /* commit id for git sources, else NULL */
  char *work_dir; /* temporary directory removed by jd_source_free(), or NULL */
  /* private */
  const char *state_dir;
  struct git_repository *repo;
  struct git_tree *tree;
} jd_source;

/* Opens ref's source (exactly one of dir, git_url, tar_url): a directory is
 * used in place, a tarball is extracted under <state_dir>/work, a git ref is
 * resolved (exported later by jd_source_materialize()). 0, or -1 with *out
 * NULL, err holding one line naming what is wrong and *kind whose fault it
 * is: JD_FAIL_PROGRAM (bad URL, missing ref, no run.Dockerfile...),
 * JD_FAIL_TIMEOUT (the program's too: its source, a git server, took past
 * the build's wall time, jd_program_ref.call), JD_FAIL_USAGE (the request
 * is malformed: no source given, directory missing) or JD_FAIL_SYSTEM
 * (host trouble: disk, memory, state directory; a cancelled fetch). The
 * caller frees *out with jd_source_free(), which also removes the
 * exported copy. */
int jd_source_open(jd_source **out, const char *state_dir, const jd_program_ref *ref,
                   jd_fail_kind *kind, char *err, size_t errlen);

/* Inside a git pre-receive hook (docs/ci-hook.md) the pushed objects wait
 * in a quarantine directory the hook's environment names
 * (GIT_QUARANTINE_PATH, GIT_OBJECT_DIRECTORY): a repository read in place
 * sees them once the command has passed them here (cli/settings.h reads
 * them), before any source is opened. The strings must live as long as
 * the process (the environment's do); NULL = none. */
void jd_source_git_hook(const char *quarantine_path, const char *object_dir);
void jd_source_free(jd_source *s);

/* Writes a git source's tree out under <state_dir>/work (no-op for the
 * other kinds, whose dir is already there). 0, or -1 with *kind as for
 * jd_source_open(). */
int jd_source_materialize(jd_source *s, jd_fail_kind *kind, char *err, size_t errlen);

/* Reads one of the source's Dockerfiles, from the directory or straight from
 * the git tree: a regular file (a symlink could make the judger read a host
 * file), at most JD_DOCKERFILE_MAX bytes. 0, or -1 with *kind
 * JD_FAIL_PROGRAM when missing or invalid (err says why) or
 * JD_FAIL_SYSTEM. *data is NUL-terminated; the
 * caller frees it. With optional=true a missing file gives 0 and *data NULL. */
int jd_source_dockerfile(char **data, size_t *len, const jd_source *s, const char *name,
                         bool optional, jd_fail_kind *kind, char *err, size_t errlen);

/* `judger gc`: removes the git mirrors under <state_dir>/git unused for
 * max_age_s (their lock's mtime, touched at each use, or the mirror's),
 * never one whose lock a task holds; renamed away first, then removed
 * fd-relative. *removed counts those removed (or due, in a dry run),
 * *locked those kept because held (either may be NULL). 0, or -1 with
 * errno when one could not be removed (the rest are done). */
int jd_git_gc(size_t *removed, size_t *locked, const char *state_dir, int64_t max_age_s,
              bool dry_run);

#endif
