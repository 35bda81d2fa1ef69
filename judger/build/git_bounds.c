/* libgit2 with the judger's bounds on what a git source sends: no single
 * allocation past GIT_ALLOC_MAX (a delta over a huge base), every object's
 * size read from its header before it is inflated, and a bounded object
 * database in front of each repository's own (git_internal.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2/sys/alloc.h>
#include <git2/sys/odb_backend.h>
#include <git2/sys/repository.h>

#include "build/git_internal.h"
#include "build/git_stream.h"

/* Set when the capped allocator (below) refused an allocation on this
 * thread: libgit2 does not always say why a call failed then. */
static __thread bool alloc_refused;

const char *jd_git_msg(void) {
  const git_error *e = git_error_last();
  if (alloc_refused || (e && e->klass == GIT_ERROR_NOMEMORY)) {
    alloc_refused = false;
    return "an object needs more than 128 MiB of memory at once to be read (a delta over a "
           "larger object?)";
  }
  return e && e->message ? e->message : "unknown libgit2 error";
}

/* ---- libgit2's allocator, capped --------------------------------------------- */

/* The largest single allocation libgit2 may make for the judger. A header
 * check bounds what an object inflates to, not what inflating it costs: a
 * delta is applied to its base, inflated whole, and a pack can hold a
 * 13-byte run.Dockerfile as a delta over a gigabyte of zeros (a few
 * megabytes compressed), which the fetch's indexer and every read would
 * inflate. No allocation of libgit2's is that large otherwise: the largest
 * object read is GIT_FILE_MAX, the indexer's tables for GIT_PACK_OBJECTS
 * objects are tens of megabytes. A refused allocation fails the libgit2
 * call ("out of memory"): the fetch or the read is the program's fault. */
#define GIT_ALLOC_MAX (GIT_FILE_MAX + (size_t)28 * 1024 * 1024) /* 128 MiB: jd_git_msg() */

/* Whether n bytes (or nelem * elsize) may be allocated; notes a refusal. */
static bool cap_ok(size_t nelem, size_t elsize) {
  if (elsize && nelem > GIT_ALLOC_MAX / elsize) {
    alloc_refused = true;
    return false;
  }
  return true;
}

static void *cap_malloc(size_t n, const char *file, int line) {
  (void)file;
  (void)line;
  return cap_ok(n, 1) ? malloc(n) : NULL;
}

static void *cap_calloc(size_t nelem, size_t elsize, const char *file, int line) {
  (void)file;
  (void)line;
  return cap_ok(nelem, elsize) ? calloc(nelem, elsize) : NULL;
}

static char *cap_strdup(const char *str, const char *file, int line) {
  (void)file;
  (void)line;
  return strdup(str);
}

static char *cap_strndup(const char *str, size_t n, const char *file, int line) {
  (void)file;
  (void)line;
  return cap_ok(n, 1) ? strndup(str, n) : NULL;
}

static char *cap_substrdup(const char *str, size_t n, const char *file, int line) {
  (void)file;
  (void)line;
  char *p = cap_ok(n, 1) ? malloc(n + 1) : NULL;
  if (p) {
    memcpy(p, str, n);
    p[n] = '\0';
  }
  return p;
}

static void *cap_realloc(void *ptr, size_t size, const char *file, int line) {
  (void)file;
  (void)line;
  return cap_ok(size, 1) ? realloc(ptr, size) : NULL;
}

static void *cap_reallocarray(void *ptr, size_t nelem, size_t elsize, const char *file, int line) {
  (void)file;
  (void)line;
  return cap_ok(nelem, elsize) ? realloc(ptr, nelem * elsize) : NULL;
}

static void *cap_mallocarray(size_t nelem, size_t elsize, const char *file, int line) {
  (void)file;
  (void)line;
  return cap_ok(nelem, elsize) ? malloc(nelem * elsize) : NULL;
}

static void cap_free(void *ptr) { free(ptr); }

static void set_allocator(void) {
  static git_allocator a = {cap_malloc,       cap_calloc,      cap_strdup,
                            cap_strndup,      cap_substrdup,   cap_realloc,
                            cap_reallocarray, cap_mallocarray, cap_free};
  git_libgit2_opts(GIT_OPT_SET_ALLOCATOR, &a);
}

/* git_libgit2_init() with the judger's settings: the bounded socket
 * (git_stream.h), the pack object cap, the allocation cap (set once: it
 * outlives shutdowns, and libgit2's own allocator is malloc's too). */
void jd_git_init(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  git_libgit2_init();
  pthread_once(&once, set_allocator);
  alloc_refused = false;
  jd_git_stream_install();
  git_libgit2_opts(GIT_OPT_SET_PACK_MAX_OBJECTS, GIT_PACK_OBJECTS);
}

/* The size and type of id, from its header (nothing inflated). */
int jd_git_object_header(size_t *size, git_object_t *type, git_repository *repo, const git_oid *id,
                         const char *what, jd_fail_kind *kind, char *err, size_t errlen) {
  git_odb *odb = NULL;
  if (git_repository_odb(&odb, repo) != 0)
    return jd_fail_as(kind, JD_FAIL_SYSTEM, err, errlen, "object database: %s", jd_git_msg());
  int rc = git_odb_read_header(size, type, odb, id);
  git_odb_free(odb);
  if (rc != 0)
    return jd_fail_as(kind, JD_FAIL_PROGRAM, err, errlen, "%s: %s", what, jd_git_msg());
  return 0;
}

/* Looks id up as an object of type (GIT_OBJECT_ANY: any) of at most max
 * bytes, the size read from its header before it is inflated. what names
 * it in err. */
int jd_git_lookup_bounded(git_object **out, git_repository *repo, const git_oid *id,
                          git_object_t type, size_t max, const char *what, jd_fail_kind *kind,
                          char *err, size_t errlen) {
  size_t size = 0;
  git_object_t t = GIT_OBJECT_INVALID;
  *out = NULL;
  int rc = jd_git_object_header(&size, &t, repo, id, what, kind, err, errlen);
  if (rc)
    return rc;
  if (type != GIT_OBJECT_ANY && t != type)
    return jd_fail_as(kind, JD_FAIL_PROGRAM, err, errlen, "%s is a %s, not a %s", what,
                      git_object_type2string(t), git_object_type2string(type));
  if (size > max)
    return jd_fail_as(kind, JD_FAIL_PROGRAM, err, errlen, "%s is larger than %zu bytes", what, max);
  if (git_object_lookup(out, repo, id, t) != 0)
    return jd_fail_as(kind, JD_FAIL_PROGRAM, err, errlen, "%s: %s", what, jd_git_msg());
  return 0;
}

/* ---- a bounded object database ---------------------------------------------- */

/* An object database in front of a repository's own: every object's size is
 * read from its header before one of the repository's backends inflates it,
 * and an object past its type's cap is refused. Everything libgit2 reads
 * for the judger goes through it once the repository is opened (rev-parse
 * expressions such as HEAD~2 walk commits the judger never names); the
 * lookups below also check sizes themselves, to name what is too large. */
typedef struct bounded_odb {
  git_odb_backend parent;
  git_odb *inner; /* the repository's own (a reference held) */
} bounded_odb;

static size_t object_cap(git_object_t type) {
  switch (type) {
  case GIT_OBJECT_BLOB:
    return GIT_FILE_MAX;
  case GIT_OBJECT_TREE:
    return GIT_TREE_MAX;
  default:
    return GIT_META_MAX;
  }
}

static int bounded_read(void **data, size_t *len, git_object_t *type, git_odb_backend *be,
                        const git_oid *id) {
  bounded_odb *b = (bounded_odb *)be;
  size_t size = 0;
  git_object_t t = GIT_OBJECT_INVALID;
  int rc = git_odb_read_header(&size, &t, b->inner, id);
  if (rc)
    return rc;
  if (size > object_cap(t)) {
    char msg[128];
    snprintf(msg, sizeof msg, "a %s larger than %zu bytes", git_object_type2string(t),
             object_cap(t));
    git_error_set_str(GIT_ERROR_ODB, msg);
    return -1;
  }
  /* Straight from the backend that has it: no copy of the bytes. */
  rc = GIT_ENOTFOUND;
  for (size_t i = 0; i < git_odb_num_backends(b->inner) && rc == GIT_ENOTFOUND; i++) {
    git_odb_backend *inner = NULL;
    if (git_odb_get_backend(&inner, b->inner, i) == 0 && inner->read)
      rc = inner->read(data, len, type, inner, id);
    if (rc == GIT_PASSTHROUGH)
      rc = GIT_ENOTFOUND;
  }
  return rc;
}

static int bounded_read_prefix(git_oid *out, void **data, size_t *len, git_object_t *type,
                               git_odb_backend *be, const git_oid *prefix, size_t n) {
  bounded_odb *b = (bounded_odb *)be;
  int rc = git_odb_exists_prefix(out, b->inner, prefix, n);
  return rc ? rc : bounded_read(data, len, type, be, out);
}

static int bounded_read_header(size_t *len, git_object_t *type, git_odb_backend *be,
                               const git_oid *id) {
  return git_odb_read_header(len, type, ((bounded_odb *)be)->inner, id);
}

static int bounded_exists(git_odb_backend *be, const git_oid *id) {
  return git_odb_exists(((bounded_odb *)be)->inner, id);
}

static int bounded_exists_prefix(git_oid *out, git_odb_backend *be, const git_oid *prefix,
                                 size_t n) {
  return git_odb_exists_prefix(out, ((bounded_odb *)be)->inner, prefix, n);
}

static int bounded_refresh(git_odb_backend *be) {
  return git_odb_refresh(((bounded_odb *)be)->inner);
}

static void bounded_free(git_odb_backend *be) {
  git_odb_free(((bounded_odb *)be)->inner);
  free(be);
}

/* Puts the bounded database in front of repo's own. */
int jd_git_bound_repository(git_repository *repo, jd_fail_kind *kind, char *err, size_t errlen) {
  git_odb *outer = NULL;
  bounded_odb *b = calloc(1, sizeof *b);
  if (!b || git_odb_init_backend(&b->parent, GIT_ODB_BACKEND_VERSION) != 0) {
    free(b);
    return jd_fail_as(kind, JD_FAIL_SYSTEM, err, errlen, "out of memory");
  }
  b->parent.read = bounded_read;
  b->parent.read_prefix = bounded_read_prefix;
  b->parent.read_header = bounded_read_header;
  b->parent.exists = bounded_exists;
  b->parent.exists_prefix = bounded_exists_prefix;
  b->parent.refresh = bounded_refresh;
  b->parent.free = bounded_free;
  if (git_repository_odb(&b->inner, repo) != 0) {
    free(b);
    return jd_fail_as(kind, JD_FAIL_SYSTEM, err, errlen, "object database: %s", jd_git_msg());
  }
  if (git_odb_new(&outer) != 0 || git_odb_add_backend(outer, &b->parent, 1) != 0) {
    bounded_free(&b->parent);
    git_odb_free(outer);
    return jd_fail_as(kind, JD_FAIL_SYSTEM, err, errlen, "object database: %s", jd_git_msg());
  }
  int rc = git_repository_set_odb(repo, outer);
  git_odb_free(outer); /* the repository holds it */
  return rc ? jd_fail_as(kind, JD_FAIL_SYSTEM, err, errlen, "object database: %s", jd_git_msg())
            : 0;
}
