/* Git sources: per-host bare mirrors (fetched as needed), a ref resolved to
 * a commit, its tree exported straight from the object database (libgit2:
 * no checkout, no index).
 *
 * What a contestant's repository (or its server) sends is bounded while it
 * is read:
 *   1. the fetch: the build's deadline and cancel token and a byte cap at
 *      the socket (git_stream.h), the mirror's lock waited on until the
 *      same deadline, at most GIT_PACK_OBJECTS objects in a pack;
 *   2. every object: its size read from its header before it is inflated
 *      (a bounded object database in front of the repository's own), and
 *      no single allocation of libgit2's past GIT_ALLOC_MAX (a delta over
 *      a huge base);
 *   3. the export: an explicit stack of trees (no recursion), at most
 *      GIT_EXPORT_DEPTH levels, GIT_EXPORT_ENTRIES entries, GIT_FILE_MAX
 *      bytes a file and GIT_EXPORT_MAX in all, written fd-relative. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>
#include <git2/sys/alloc.h>
#include <git2/sys/odb_backend.h>
#include <git2/sys/repository.h>

#include "build/git_stream.h"
#include "build/source_internal.h"
#include "common/util.h"

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
/* Waits between two tries of a busy mirror's lock. */
#define GIT_LOCK_POLL_US (50 * 1000)

uint64_t jd_git_fetch_max = (uint64_t)512 * 1024 * 1024;
uint64_t jd_git_mirrors_max = (uint64_t)8 * 1024 * 1024 * 1024;

/* Set when the capped allocator (below) refused an allocation on this
 * thread: libgit2 does not always say why a call failed then. */
static __thread bool alloc_refused;

static const char *git_msg(void) {
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
#define GIT_ALLOC_MAX (GIT_FILE_MAX + (size_t)28 * 1024 * 1024) /* 128 MiB: git_msg() */

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
static void git_init(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  git_libgit2_init();
  pthread_once(&once, set_allocator);
  alloc_refused = false;
  jd_git_stream_install();
  git_libgit2_opts(GIT_OPT_SET_PACK_MAX_OBJECTS, GIT_PACK_OBJECTS);
}

int jd_git_mirror_path(char *out, size_t outlen, const char *state_dir, const char *url) {
  char sha[65];
  jd_sha256_hex(sha, url, strlen(url));
  int n = snprintf(out, outlen, "%s/git/%s.git", state_dir, sha);
  return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* A URL has a scheme ("file://", "https://"...) or is scp-like
 * ("git@host:repo"): a ':' before the first '/'. Anything else is a path. */
static bool is_local_path(const char *url) {
  if (strstr(url, "://"))
    return false;
  const char *colon = strchr(url, ':');
  const char *slash = strchr(url, '/');
  return !(colon && (!slash || colon < slash));
}

static bool is_hex(const char *s, size_t min, size_t max) {
  size_t n = s ? strlen(s) : 0;
  if (n < min || n > max)
    return false;
  for (const char *p = s; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
      return false;
  return true;
}

static bool is_full_oid(const char *ref) { return is_hex(ref, GIT_OID_HEXSZ, GIT_OID_HEXSZ); }

/* A tree entry name is written as one path component: refuse anything that
 * could climb out of the export or clobber git metadata. */
static bool component_ok(const char *name) {
  if (!*name || !strcmp(name, ".") || !strcmp(name, "..") || strchr(name, '/') ||
      strchr(name, '\\') || !strcasecmp(name, ".git"))
    return false;
  return true;
}

/* The size and type of id, from its header (nothing inflated). */
static int object_header(size_t *size, git_object_t *type, git_repository *repo, const git_oid *id,
                         const char *what, char *err, size_t errlen) {
  git_odb *odb = NULL;
  if (git_repository_odb(&odb, repo) != 0)
    return jd_src_fail(err, errlen, JD_SRC_ESYSTEM, "object database: %s", git_msg());
  int rc = git_odb_read_header(size, type, odb, id);
  git_odb_free(odb);
  if (rc != 0)
    return jd_src_fail(err, errlen, JD_SRC_EPROGRAM, "%s: %s", what, git_msg());
  return 0;
}

/* Looks id up as an object of type (GIT_OBJECT_ANY: any) of at most max
 * bytes, the size read from its header before it is inflated. what names
 * it in err. */
static int lookup_bounded(git_object **out, git_repository *repo, const git_oid *id,
                          git_object_t type, size_t max, const char *what, char *err,
                          size_t errlen) {
  size_t size = 0;
  git_object_t t = GIT_OBJECT_INVALID;
  *out = NULL;
  int rc = object_header(&size, &t, repo, id, what, err, errlen);
  if (rc)
    return rc;
  if (type != GIT_OBJECT_ANY && t != type)
    return jd_src_fail(err, errlen, JD_SRC_EPROGRAM, "%s is a %s, not a %s", what,
                       git_object_type2string(t), git_object_type2string(type));
  if (size > max)
    return jd_src_fail(err, errlen, JD_SRC_EPROGRAM, "%s is larger than %zu bytes", what, max);
  if (git_object_lookup(out, repo, id, t) != 0)
    return jd_src_fail(err, errlen, JD_SRC_EPROGRAM, "%s: %s", what, git_msg());
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
static int bound_repository(git_repository *repo, char *err, size_t errlen) {
  git_odb *outer = NULL;
  bounded_odb *b = calloc(1, sizeof *b);
  if (!b || git_odb_init_backend(&b->parent, GIT_ODB_BACKEND_VERSION) != 0) {
    free(b);
    return jd_src_fail(err, errlen, JD_SRC_ESYSTEM, "out of memory");
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
    return jd_src_fail(err, errlen, JD_SRC_ESYSTEM, "object database: %s", git_msg());
  }
  if (git_odb_new(&outer) != 0 || git_odb_add_backend(outer, &b->parent, 1) != 0) {
    bounded_free(&b->parent);
    git_odb_free(outer);
    return jd_src_fail(err, errlen, JD_SRC_ESYSTEM, "object database: %s", git_msg());
  }
  int rc = git_repository_set_odb(repo, outer);
  git_odb_free(outer); /* the repository holds it */
  return rc ? jd_src_fail(err, errlen, JD_SRC_ESYSTEM, "object database: %s", git_msg()) : 0;
}

/* ---- export ------------------------------------------------------------------ */

/* One tree being written: its entries go into the directory fd. */
typedef struct export_frame {
  git_tree *tree;
  size_t next; /* the next entry to write */
  int fd;
} export_frame;

typedef struct export_state {
  git_repository *repo;
  size_t bytes;   /* of the blobs written so far */
  size_t entries; /* of the trees looked up so far */
  char *err;
  size_t errlen;
} export_state;

/* Writes one blob (a file, or a symbolic link) as name under dirfd, its
 * size checked against the caps before it is inflated. */
static int export_blob(export_state *x, int dirfd, const git_tree_entry *e) {
  const char *name = git_tree_entry_name(e);
  git_filemode_t mode = git_tree_entry_filemode(e);
  char what[64 + 256];
  snprintf(what, sizeof what, "file '%s'", name);
  size_t size = 0;
  git_object_t type = GIT_OBJECT_INVALID;
  int rc = object_header(&size, &type, x->repo, git_tree_entry_id(e), what, x->err, x->errlen);
  if (rc)
    return rc;
  if (type != GIT_OBJECT_BLOB)
    return jd_src_fail(x->err, x->errlen, JD_SRC_EPROGRAM, "%s is a %s, not a blob", what,
                       git_object_type2string(type));
  if (size > GIT_FILE_MAX)
    return jd_src_fail(x->err, x->errlen, JD_SRC_EPROGRAM, "%s is larger than %zu bytes", what,
                       GIT_FILE_MAX);
  if (size > GIT_EXPORT_MAX - x->bytes)
    return jd_src_fail(x->err, x->errlen, JD_SRC_EPROGRAM, "the tree is larger than %zu bytes",
                       GIT_EXPORT_MAX);
  x->bytes += size;
  if (mode == GIT_FILEMODE_LINK && size >= PATH_MAX)
    return jd_src_fail(x->err, x->errlen, JD_SRC_EPROGRAM, "symlink %s has an invalid target",
                       name);
  git_blob *blob = NULL;
  if (git_blob_lookup(&blob, x->repo, git_tree_entry_id(e)) != 0)
    return jd_src_fail(x->err, x->errlen, JD_SRC_EPROGRAM, "blob %s: %s", name, git_msg());
  const char *content = git_blob_rawcontent(blob);
  size = (size_t)git_blob_rawsize(blob);
  if (mode == GIT_FILEMODE_LINK) {
    char target[PATH_MAX];
    if (size >= sizeof target || memchr(content, '\0', size)) {
      rc =
          jd_src_fail(x->err, x->errlen, JD_SRC_EPROGRAM, "symlink %s has an invalid target", name);
    } else {
      memcpy(target, content, size);
      target[size] = '\0';
      if (symlinkat(target, dirfd, name) != 0)
        rc = jd_src_fail(x->err, x->errlen, errno == EEXIST ? JD_SRC_EPROGRAM : JD_SRC_ESYSTEM,
                         "cannot create %s: %s", name, strerror(errno));
    }
  } else {
    int fmode = mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0755 : 0644;
    int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, fmode);
    if (fd < 0) {
      rc = jd_src_fail(x->err, x->errlen, errno == EEXIST ? JD_SRC_EPROGRAM : JD_SRC_ESYSTEM,
                       "cannot create %s: %s", name, strerror(errno));
    } else {
      if (jd_write_all(fd, content, size) != 0)
        rc = jd_src_fail(x->err, x->errlen, JD_SRC_ESYSTEM, "cannot write %s: %s", name,
                         strerror(errno));
      close(fd);
    }
  }
  git_blob_free(blob);
  return rc;
}

/* Makes the directory of a subtree entry under dirfd and looks its tree
 * up: into *sub and *subfd. depth is the subtree's level (the root's
 * entries are at level 1). */
static int export_enter(export_state *x, int dirfd, const git_tree_entry *e, size_t depth,
                        git_tree **sub, int *subfd) {
  const char *name = git_tree_entry_name(e);
  char what[64 + 256];
  snprintf(what, sizeof what, "directory '%s'", name);
  *sub = NULL;
  *subfd = -1;
  if (depth > GIT_EXPORT_DEPTH)
    return jd_src_fail(x->err, x->errlen, JD_SRC_EPROGRAM,
                       "the tree is deeper than %d directory levels (%s is at level %zu)",
                       GIT_EXPORT_DEPTH, what, depth);
  int rc = lookup_bounded((git_object **)sub, x->repo, git_tree_entry_id(e), GIT_OBJECT_TREE,
                          GIT_TREE_MAX, what, x->err, x->errlen);
  if (rc)
    return rc;
  x->entries += git_tree_entrycount(*sub);
  if (x->entries > GIT_EXPORT_ENTRIES)
    return jd_src_fail(x->err, x->errlen, JD_SRC_EPROGRAM, "the tree has more than %zu entries",
                       GIT_EXPORT_ENTRIES);
  if (mkdirat(dirfd, name, 0755) != 0)
    return jd_src_fail(x->err, x->errlen, errno == EEXIST ? JD_SRC_EPROGRAM : JD_SRC_ESYSTEM,
                       "cannot create %s: %s", name, strerror(errno));
  *subfd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (*subfd < 0)
    return jd_src_fail(x->err, x->errlen, JD_SRC_ESYSTEM, "cannot open %s: %s", name,
                       strerror(errno));
  return 0;
}

/* Writes root into dest (which exists and is empty), depth first with an
 * explicit stack of trees (no recursion: its depth is the program's), at
 * most GIT_EXPORT_DEPTH levels, GIT_EXPORT_ENTRIES entries, GIT_FILE_MAX
 * bytes a file and GIT_EXPORT_MAX in all. Files are created relative to
 * their directory's descriptor, never following a link. */
static int export_tree(git_repository *repo, const git_tree *root, const char *dest, char *err,
                       size_t errlen) {
  export_state x = {
      .repo = repo, .entries = git_tree_entrycount(root), .err = err, .errlen = errlen};
  export_frame stack[GIT_EXPORT_DEPTH + 1];
  int top = 0;
  int rc = 0;
  if (x.entries > GIT_EXPORT_ENTRIES)
    return jd_src_fail(err, errlen, JD_SRC_EPROGRAM, "the tree has more than %zu entries",
                       GIT_EXPORT_ENTRIES);
  stack[0] = (export_frame){.tree = (git_tree *)root,
                            .fd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (stack[0].fd < 0)
    return jd_src_fail(err, errlen, JD_SRC_ESYSTEM, "cannot open %s: %s", dest, strerror(errno));
  while (top >= 0 && !rc) {
    export_frame *f = &stack[top];
    if (f->next == git_tree_entrycount(f->tree)) {
      close(f->fd);
      if (top > 0)
        git_tree_free(f->tree);
      top--;
      continue;
    }
    const git_tree_entry *e = git_tree_entry_byindex(f->tree, f->next++);
    const char *name = git_tree_entry_name(e);
    git_filemode_t mode = git_tree_entry_filemode(e);
    if (!component_ok(name)) {
      rc = jd_src_fail(err, errlen, JD_SRC_EPROGRAM, "the tree holds an unsafe path '%s'", name);
    } else if (mode == GIT_FILEMODE_COMMIT) {
      continue; /* submodules are not fetched: documented */
    } else if (mode == GIT_FILEMODE_TREE) {
      export_frame sub = {0};
      rc = export_enter(&x, f->fd, e, (size_t)top + 1, &sub.tree, &sub.fd);
      if (rc) {
        git_tree_free(sub.tree);
        if (sub.fd >= 0)
          close(sub.fd);
      } else {
        stack[++top] = sub;
      }
    } else {
      rc = export_blob(&x, f->fd, e);
    }
  }
  for (; top >= 0; top--) { /* after a failure: what is still open */
    close(stack[top].fd);
    if (top > 0)
      git_tree_free(stack[top].tree);
  }
  return rc;
}

/* Inside a pre-receive hook the pushed objects sit in a quarantine
 * directory that git names in GIT_OBJECT_DIRECTORY (the repository's own
 * objects then come through GIT_ALTERNATE_OBJECT_DIRECTORIES): add them to the
 * object database so the pushed commit can be read before it is accepted. */
static void add_quarantine(git_repository *repo) {
  const char *q = getenv("GIT_QUARANTINE_PATH");
  const char *objdir = getenv("GIT_OBJECT_DIRECTORY");
  if (!q && !objdir)
    return;
  git_odb *odb = NULL;
  if (git_repository_odb(&odb, repo) != 0)
    return;
  if (objdir && *objdir)
    git_odb_add_disk_alternate(odb, objdir);
  else if (q && *q)
    git_odb_add_disk_alternate(odb, q);
  git_odb_free(odb);
}

/* Points the mirror's HEAD at the remote's default branch, so that a NULL
 * ref means what `git clone` would check out. Best effort. */
static void mirror_set_head(git_repository *repo, git_remote *remote,
                            const git_remote_callbacks *cb) {
  if (git_remote_connect(remote, GIT_DIRECTION_FETCH, cb, NULL, NULL) != 0)
    return;
  git_buf b = {0};
  if (git_remote_default_branch(&b, remote) == 0)
    git_repository_set_head(repo, b.ptr);
  git_buf_dispose(&b);
  git_remote_disconnect(remote);
}

/* The mirror's remote, anonymous: the URL is the mirror's name, and config
 * lookups are skipped (libgit2 1.5 leaks pcre2 match data when it scans the
 * config with regexes: remote lookup, url.insteadOf; fixed upstream in
 * libgit2 PR #6382). */
static int mirror_remote(git_remote **out, git_repository *repo, const char *url) {
  git_remote_create_options ro;
  git_remote_create_options_init(&ro, GIT_REMOTE_CREATE_OPTIONS_VERSION);
  ro.repository = repo;
  ro.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
  return git_remote_create_with_opts(out, url, &ro);
}

/* The fetch's progress, also checked by the socket: a transfer past the
 * budget stops here too (for transports that do not use the socket). */
static int fetch_progress(const git_indexer_progress *stats, void *payload) {
  jd_git_budget *b = payload;
  if (b->max_bytes && stats->received_bytes > b->max_bytes && b->stop == JD_GIT_STOP_NONE)
    b->stop = JD_GIT_STOP_BYTES;
  return jd_git_budget_check(b) == JD_GIT_STOP_NONE ? 0 : -1;
}

static int fetch_sideband(const char *str, int len, void *payload) {
  (void)str;
  (void)len;
  return jd_git_budget_check(payload) == JD_GIT_STOP_NONE ? 0 : -1;
}

/* A budget that stopped a fetch or a wait, as the source's error: past the
 * build's wall time is the program's (its server's) TLE, a cancel is ours
 * (UE), too many bytes the program's CE. */
static int budget_fail(const jd_git_budget *b, const char *doing, const char *url, char *err,
                       size_t errlen) {
  switch (b->stop) {
  case JD_GIT_STOP_DEADLINE:
    return jd_src_fail(err, errlen, JD_SRC_ETIMEOUT,
                       "%s git repository '%s' passed the build's wall time", doing, url);
  case JD_GIT_STOP_CANCEL:
    return jd_src_fail(err, errlen, JD_SRC_ESYSTEM, "%s git repository '%s': cancelled", doing,
                       url);
  default:
    return jd_src_fail(err, errlen, JD_SRC_EPROGRAM,
                       "%s git repository '%s': more than %llu bytes received", doing, url,
                       (unsigned long long)b->max_bytes);
  }
}

/* Opens (creating if needed) the bare mirror of url and fetches it unless
 * ref is a commit it already has, within b. The caller holds the mirror's
 * lock. An interrupted fetch leaves the mirror as it was: libgit2 writes the
 * pack under a temporary name and updates the refs only once it is
 * indexed. */
static int mirror_open(git_repository **out, const char *path, const char *url, const char *ref,
                       jd_git_budget *b, char *err, size_t errlen) {
  git_repository *repo = NULL;
  git_remote *remote = NULL;
  bool fresh = false;
  int rc = 0;
  if (git_repository_open_bare(&repo, path) != 0) {
    jd_rm_rf(path); /* a half-made mirror from an interrupted run */
    if (git_repository_init(&repo, path, 1) != 0) {
      rc = jd_src_fail(err, errlen, JD_SRC_ESYSTEM, "cannot create git mirror %s: %s", path,
                       git_msg());
      goto cleanup;
    }
    fresh = true;
  }
  if (!fresh && is_full_oid(ref)) {
    git_oid oid;
    size_t size = 0;
    git_object_t type = GIT_OBJECT_INVALID;
    git_odb *odb = NULL;
    bool have = git_oid_fromstr(&oid, ref) == 0 && git_repository_odb(&odb, repo) == 0 &&
                git_odb_read_header(&size, &type, odb, &oid) == 0 && type == GIT_OBJECT_COMMIT;
    git_odb_free(odb);
    if (have)
      goto cleanup; /* the commit is immutable: no network needed */
  }
  if (mirror_remote(&remote, repo, url) != 0) {
    rc = jd_src_fail(err, errlen, JD_SRC_EPROGRAM, "bad git URL '%s': %s", url, git_msg());
    goto cleanup;
  }
  git_fetch_options fo;
  git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
  fo.callbacks.transfer_progress = fetch_progress;
  fo.callbacks.sideband_progress = fetch_sideband;
  fo.callbacks.payload = b;
  /* The socket polls under b (http, https, git); the watcher shuts the
   * sockets down once b is spent (ssh, whose I/O is libssh2's). */
  jd_git_watch watch;
  jd_git_budget_set(b);
  jd_git_watch_start(&watch, b);
  if (!ref)
    mirror_set_head(repo, remote, &fo.callbacks);
  char *specs[] = {"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"};
  git_strarray refspecs = {specs, 2};
  fo.prune = GIT_FETCH_PRUNE;
  fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE; /* the refspecs take them all */
  int frc = git_remote_fetch(remote, &refspecs, &fo, "judger fetch");
  jd_git_watch_stop(&watch);
  jd_git_budget_set(NULL);
  if (frc != 0 && jd_git_budget_check(b) != JD_GIT_STOP_NONE)
    rc = budget_fail(b, "fetching", url, err, errlen);
  else if (frc != 0)
    rc = jd_src_fail(err, errlen, JD_SRC_EPROGRAM, "cannot fetch git repository '%s': %s", url,
                     git_msg());
cleanup:
  git_remote_free(remote);
  if (rc) {
    git_repository_free(repo);
    repo = NULL;
    if (fresh)
      jd_rm_rf(path);
  }
  *out = repo;
  return rc;
}

/* Whether the lock file fd is the one linked at path: `judger gc` unlinks
 * a mirror's lock while holding it, so a task that was waiting on the old
 * file must open the new one. */
static bool lock_current(int fd, const char *path) {
  struct stat a, b;
  return fstat(fd, &a) == 0 && fstatat(AT_FDCWD, path, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
         a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Takes the lock of a mirror, waiting while another task holds it (one
 * fetch at a time per mirror: fetches of the same URL would race on its
 * refs and packs) at most until b's deadline or cancel: a stuck fetch
 * holds nobody else for ever. Polled (flock has no timeout). The lock is
 * the judger's own file: no link is followed all the same. Its mtime
 * marks the mirror's last use (what `judger gc` ages it by). */
static int mirror_lock(int *fd, const char *lock, const char *url, jd_git_budget *b, char *err,
                       size_t errlen) {
  for (;;) {
    *fd = open(lock, O_CREAT | O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (*fd < 0)
      return jd_src_fail(err, errlen, JD_SRC_ESYSTEM, "cannot open %s: %s", lock, strerror(errno));
    while (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK && errno != EINTR)
        return jd_src_fail(err, errlen, JD_SRC_ESYSTEM, "cannot lock %s: %s", lock,
                           strerror(errno));
      if (jd_git_budget_check(b) != JD_GIT_STOP_NONE)
        return budget_fail(b, "waiting for another task fetching", url, err, errlen);
      usleep(GIT_LOCK_POLL_US);
    }
    if (lock_current(*fd, lock))
      break;
    close(*fd); /* removed while we waited: the mirror's new lock */
  }
  (void)futimens(*fd, NULL);
  return 0;
}

static void mirrors_make_room(int gitfd, const char *own);

/* Opens url's mirror under state_dir, fetched as needed within call (NULL:
 * no deadline, no cancel), with its lock held: *lockfd is the lock
 * (closing it releases it), also on failure. */
static int open_mirror(git_repository **repo, int *lockfd, const char *state_dir, const char *url,
                       const char *ref, const dk_call *call, bool public_only, char *err,
                       size_t errlen) {
  char path[PATH_MAX], gitdir[PATH_MAX], lock[PATH_MAX + 8];
  *lockfd = -1;
  if (!state_dir || jd_git_mirror_path(path, sizeof path, state_dir, url) != 0)
    return jd_src_fail(err, errlen, JD_SRC_EUSAGE, "no usable state directory for the git cache");
  snprintf(gitdir, sizeof gitdir, "%s/git", state_dir);
  snprintf(lock, sizeof lock, "%s.lock", path);
  if (jd_mkdir_mode(state_dir, 0700) != 0 || jd_mkdir_mode(gitdir, 0700) != 0)
    return jd_src_fail(err, errlen, JD_SRC_ESYSTEM, "cannot create %s: %s", gitdir,
                       strerror(errno));
  jd_git_budget b = {.max_bytes = jd_git_fetch_max, .public_only = public_only};
  if (call) {
    b.deadline_ms = call->deadline_ms;
    b.cancel = call->cancel;
  }
  int rc = mirror_lock(lockfd, lock, url, &b, err, errlen);
  if (rc)
    return rc;
  int gitfd = open(gitdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (gitfd >= 0) {
    mirrors_make_room(gitfd, path + strlen(gitdir) + 1);
    close(gitfd);
  }
  return mirror_open(repo, path, url, ref, &b, err, errlen);
}

/* What (a branch, tag, commit id or another rev-parse expression) as an
 * object id. Names and ids are resolved without inflating any object; only
 * other expressions (HEAD~2, main^{tree}...) go through libgit2's
 * rev-parse, which reads the objects it walks (through the bounded object
 * database). */
static int resolve_oid(git_oid *out, git_repository *repo, const char *what) {
  git_reference *ref = NULL, *direct = NULL;
  if (is_full_oid(what))
    return git_oid_fromstr(out, what);
  if (git_reference_dwim(&ref, repo, what) == 0) {
    int rc = git_reference_resolve(&direct, ref);
    if (rc == 0)
      git_oid_cpy(out, git_reference_target(direct));
    git_reference_free(direct);
    git_reference_free(ref);
    return rc;
  }
  if (is_hex(what, GIT_OID_MINPREFIXLEN, GIT_OID_HEXSZ)) {
    git_oid prefix;
    git_odb *odb = NULL;
    int rc = git_oid_fromstrn(&prefix, what, strlen(what));
    if (rc == 0)
      rc = git_repository_odb(&odb, repo);
    if (rc == 0)
      rc = git_odb_exists_prefix(out, odb, &prefix, strlen(what));
    git_odb_free(odb);
    return rc;
  }
  git_object *obj = NULL;
  int rc = git_revparse_single(&obj, repo, what);
  if (rc == 0)
    git_oid_cpy(out, git_object_id(obj));
  git_object_free(obj);
  return rc;
}

/* Resolves what to a commit whose tree holds run.Dockerfile: annotated
 * tags peeled one at a time, each object's size read from its header
 * before it is inflated. */
static int resolve_commit(git_commit **commit, git_tree **tree, git_repository *repo,
                          const char *url, const char *what, char *err, size_t errlen) {
  git_oid oid;
  git_object *obj = NULL;
  int rc = 0;
  char name[64 + 256];
  snprintf(name, sizeof name, "ref '%.200s'", what);
  if (resolve_oid(&oid, repo, what) != 0)
    return jd_src_fail(err, errlen, JD_SRC_EPROGRAM, "ref '%s' not found in git repository '%s'",
                       what, url);
  for (int hops = 0; !rc; hops++) {
    rc = lookup_bounded(&obj, repo, &oid, GIT_OBJECT_ANY, GIT_META_MAX, name, err, errlen);
    if (rc)
      break;
    if (git_object_type(obj) == GIT_OBJECT_COMMIT) {
      *commit = (git_commit *)obj;
      break;
    }
    if (git_object_type(obj) != GIT_OBJECT_TAG || hops >= 16) {
      git_object_free(obj);
      return jd_src_fail(err, errlen, JD_SRC_EPROGRAM, "ref '%s' of '%s' does not name a commit",
                         what, url);
    }
    git_oid_cpy(&oid, git_tag_target_id((git_tag *)obj));
    git_object_free(obj);
  }
  if (!rc)
    rc = lookup_bounded((git_object **)tree, repo, git_commit_tree_id(*commit), GIT_OBJECT_TREE,
                        GIT_TREE_MAX, "the commit's tree", err, errlen);
  if (rc)
    return rc;
  const git_tree_entry *df = git_tree_entry_byname(*tree, JD_RUN_DOCKERFILE);
  if (!df || (git_tree_entry_filemode(df) != GIT_FILEMODE_BLOB &&
              git_tree_entry_filemode(df) != GIT_FILEMODE_BLOB_EXECUTABLE)) {
    char cid[GIT_OID_HEXSZ + 1];
    git_oid_tostr(cid, sizeof cid, git_commit_id(*commit));
    return jd_src_fail(err, errlen, JD_SRC_EPROGRAM,
                       "commit %.12s ('%s') of '%s' has no %s at the root of its tree", cid, what,
                       url, JD_RUN_DOCKERFILE);
  }
  return 0;
}

/* Opens url (in place, or its mirror, fetched as needed within call) and
 * resolves ref to a commit whose tree holds run.Dockerfile. The mirror's
 * lock is held only while fetching and resolving: exporting reads
 * immutable objects. The caller has called git_init() and frees the three
 * objects. */
static int git_resolve(git_repository **repo_out, git_commit **commit_out, git_tree **tree_out,
                       const char *state_dir, const char *url, const char *ref, const dk_call *call,
                       bool public_only, char *err, size_t errlen) {
  git_repository *repo = NULL;
  git_commit *commit = NULL;
  git_tree *tree = NULL;
  int lockfd = -1;
  int rc = 0;
  *repo_out = NULL;
  *commit_out = NULL;
  *tree_out = NULL;
  if (!url || !*url)
    return jd_src_fail(err, errlen, JD_SRC_EUSAGE, "no git URL given");
  if (!is_local_path(url)) {
    rc = open_mirror(&repo, &lockfd, state_dir, url, ref, call, public_only, err, errlen);
  } else if (git_repository_open_ext(&repo, url, 0, NULL) != 0) {
    rc = jd_src_fail(err, errlen, JD_SRC_EPROGRAM, "cannot open git repository '%s': %s", url,
                     git_msg());
  } else {
    add_quarantine(repo);
  }
  if (!rc)
    rc = bound_repository(repo, err, errlen);
  if (!rc)
    rc = resolve_commit(&commit, &tree, repo, url, ref ? ref : "HEAD", err, errlen);
  if (lockfd >= 0)
    close(lockfd); /* releases the flock */
  if (rc) {
    git_tree_free(tree);
    git_commit_free(commit);
    git_repository_free(repo);
    return rc;
  }
  *repo_out = repo;
  *commit_out = commit;
  *tree_out = tree;
  return 0;
}

static char *oid_str(const git_oid *id) {
  char hex[GIT_OID_HEXSZ + 1];
  git_oid_tostr(hex, sizeof hex, id);
  return strdup(hex);
}

int jd_git_export(char **commit_out, char **tree_out, const char *state_dir, const char *url,
                  const char *ref, const char *dest, char *err, size_t errlen) {
  if (commit_out)
    *commit_out = NULL;
  if (tree_out)
    *tree_out = NULL;
  git_init();
  git_repository *repo = NULL;
  git_commit *commit = NULL;
  git_tree *tree = NULL;
  int rc = git_resolve(&repo, &commit, &tree, state_dir, url, ref, NULL, false, err, errlen);
  if (!rc)
    rc = export_tree(repo, tree, dest, err, errlen);
  if (!rc && commit_out && !(*commit_out = oid_str(git_commit_id(commit))))
    rc = jd_src_fail(err, errlen, JD_SRC_ESYSTEM, "out of memory");
  if (!rc && tree_out && !(*tree_out = oid_str(git_tree_id(tree))))
    rc = jd_src_fail(err, errlen, JD_SRC_ESYSTEM, "out of memory");
  git_tree_free(tree);
  git_commit_free(commit);
  git_repository_free(repo);
  git_libgit2_shutdown();
  if (rc && commit_out) {
    free(*commit_out);
    *commit_out = NULL;
  }
  return rc;
}

/* ---- jd_source's git side ------------------------------------------------- */

/* Resolves a git source without exporting it (see jd_source_materialize). */
int jd_src_git_open(jd_source *s, const char *state_dir, const jd_program_ref *ref, char *err,
                    size_t errlen) {
  git_commit *commit = NULL;
  git_init();
  int rc = git_resolve(&s->repo, &commit, &s->tree, state_dir, ref->git_url, ref->git_ref,
                       ref->call, ref->public_only, err, errlen);
  if (!s->repo) {
    git_libgit2_shutdown(); /* otherwise jd_source_free() does it */
    return rc;
  }
  char *tree = oid_str(git_tree_id(s->tree));
  s->commit = oid_str(git_commit_id(commit));
  git_commit_free(commit);
  if (!tree || !s->commit || asprintf(&s->identity, "git:%s", tree) < 0) {
    s->identity = NULL;
    rc = jd_src_fail(err, errlen, JD_SRC_ESYSTEM, "out of memory");
  }
  free(tree);
  return rc;
}

int jd_src_git_write(const jd_source *s, const char *dest, char *err, size_t errlen) {
  return export_tree(s->repo, s->tree, dest, err, errlen);
}

int jd_src_git_dockerfile(char **data, size_t *len, const jd_source *s, const char *name,
                          bool optional, char *err, size_t errlen) {
  *data = NULL;
  const git_tree_entry *e = git_tree_entry_byname(s->tree, name);
  if (!e)
    return optional ? 0
                    : jd_src_fail(err, errlen, JD_SRC_EPROGRAM,
                                  "the program has no %s at the root of its tree", name);
  git_filemode_t mode = git_tree_entry_filemode(e);
  if (mode != GIT_FILEMODE_BLOB && mode != GIT_FILEMODE_BLOB_EXECUTABLE)
    return jd_src_fail(err, errlen, JD_SRC_EPROGRAM,
                       "%s must be a regular file (not a symlink or directory)", name);
  /* The size from the object's header: a 600 MB blob of zeros (a 600 KB
   * pack) is refused before it is inflated. */
  git_blob *blob = NULL;
  int rc = lookup_bounded((git_object **)&blob, s->repo, git_tree_entry_id(e), GIT_OBJECT_BLOB,
                          JD_DOCKERFILE_MAX, name, err, errlen);
  if (rc)
    return rc;
  size_t n = (size_t)git_blob_rawsize(blob);
  *data = malloc(n + 1);
  if (!*data) {
    rc = jd_src_fail(err, errlen, JD_SRC_ESYSTEM, "out of memory");
  } else {
    memcpy(*data, git_blob_rawcontent(blob), n);
    (*data)[n] = '\0';
    if (len)
      *len = n;
  }
  git_blob_free(blob);
  return rc;
}

void jd_src_git_close(jd_source *s) {
  if (!s->repo)
    return;
  git_tree_free(s->tree);
  git_repository_free(s->repo);
  s->tree = NULL;
  s->repo = NULL;
  git_libgit2_shutdown();
}

/* ---- gc of the mirrors ------------------------------------------------------ */

#define MIRROR_DEL_PREFIX ".del-"

/* Whether name is "<64 hex>.git" (a mirror) or that and ".lock". */
static bool mirror_name(const char *name, bool lock) {
  size_t n = strlen(name);
  size_t want = 64 + 4 + (lock ? 5 : 0);
  return n == want && strspn(name, "0123456789abcdef") == 64 && !strncmp(name + 64, ".git", 4) &&
         (!lock || !strcmp(name + 68, ".lock"));
}

/* Removes the mirror called name under gitfd: renamed away first (never
 * opened as a mirror again, and the next gc finishes a half removal), then
 * removed fd-relative without following links. */
static int gc_discard(int gitfd, const char *name) {
  char del[96], rnd[17];
  if (jd_random_hex(rnd, 8) != 0)
    return -1;
  snprintf(del, sizeof del, MIRROR_DEL_PREFIX "%s", rnd);
  if (renameat(gitfd, name, gitfd, del) != 0)
    return errno == ENOENT ? 0 : -1;
  return jd_rm_rf_at(gitfd, del);
}

/* One mirror (name "<hex>.git"): 1 removed (or due, in a dry run), 0
 * kept, 2 kept because a task holds its lock, -1 on failure. */
static int gc_mirror(int gitfd, const char *name, time_t now, int64_t max_age_s, bool dry_run) {
  char lock[128];
  snprintf(lock, sizeof lock, "%s.lock", name);
  struct stat st, ls;
  if (fstatat(gitfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode))
    return 0;
  /* The last use: the lock's mtime (touched at each use) or the mirror's
   * (a fetch rewrites its top level), whichever is later. */
  time_t used = st.st_mtime;
  bool had_lock = fstatat(gitfd, lock, &ls, AT_SYMLINK_NOFOLLOW) == 0;
  if (had_lock && ls.st_mtime > used)
    used = ls.st_mtime;
  if ((int64_t)(now - used) < max_age_s)
    return 0;
  /* A dry run makes no lock (a new one would look like a use). */
  int fd = openat(gitfd, lock, O_RDWR | O_NOFOLLOW | O_CLOEXEC | (dry_run ? 0 : O_CREAT), 0600);
  if (fd < 0)
    return dry_run && errno == ENOENT ? 1 : -1;
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    return 2; /* a fetch or a resolve is using it */
  }
  /* Used between the look and the lock? (A lock made just now by this
   * open says nothing.) */
  if (had_lock && fstat(fd, &ls) == 0 && ls.st_mtime > used)
    used = ls.st_mtime;
  int rc = 0;
  if ((int64_t)(now - used) >= max_age_s) {
    rc = 1;
    if (!dry_run) {
      if (gc_discard(gitfd, name) != 0)
        rc = -1;
      else
        (void)unlinkat(gitfd, lock, 0); /* held: a waiter opens the next one */
    }
  }
  close(fd);
  return rc;
}

/* A lock without its mirror (a first fetch that failed, an older judger's
 * gc): unlinked while held, if nobody holds it and the mirror is still
 * missing (a task that opened it meanwhile opens the next: lock_current). */
static void gc_orphan_lock(int gitfd, const char *lock) {
  char name[128];
  struct stat st;
  size_t n = strlen(lock); /* "<mirror>.lock" */
  if (n <= 5 || n - 5 >= sizeof name)
    return;
  memcpy(name, lock, n - 5);
  name[n - 5] = '\0';
  if (fstatat(gitfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
    return;
  int fd = openat(gitfd, lock, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return;
  if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstatat(gitfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
    (void)unlinkat(gitfd, lock, 0);
  close(fd);
}

int jd_git_gc(size_t *removed, size_t *locked, const char *state_dir, int64_t max_age_s,
              bool dry_run) {
  if (removed)
    *removed = 0;
  if (locked)
    *locked = 0;
  char dir[PATH_MAX];
  if (snprintf(dir, sizeof dir, "%s/git", state_dir) >= (int)sizeof dir) {
    errno = ENAMETOOLONG;
    return -1;
  }
  int gitfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (gitfd < 0)
    return errno == ENOENT ? 0 : -1;
  char **names = NULL;
  size_t n = 0;
  int rc = jd_fs_list_names(&names, &n, gitfd);
  time_t now = time(NULL);
  for (size_t i = 0; i < n; i++) {
    int r = 0;
    if (!strncmp(names[i], MIRROR_DEL_PREFIX, strlen(MIRROR_DEL_PREFIX)))
      r = dry_run ? 0 : jd_rm_rf_at(gitfd, names[i]) == 0 ? 0 : -1; /* a half removal */
    else if (mirror_name(names[i], false))
      r = gc_mirror(gitfd, names[i], now, max_age_s, dry_run);
    else if (mirror_name(names[i], true) && !dry_run)
      gc_orphan_lock(gitfd, names[i]);
    if (r == 1 && removed)
      (*removed)++;
    else if (r == 2 && locked)
      (*locked)++;
    else if (r < 0)
      rc = -1;
  }
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
  close(gitfd);
  return rc;
}

/* ---- a total cap on the mirrors --------------------------------------------- */

/* The bytes of a mirror's packs (a fetch writes nothing else of size):
 * the regular files of <name>/objects/pack, fd-relative. */
static uint64_t mirror_bytes(int gitfd, const char *name) {
  int m = openat(gitfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  int o = m < 0 ? -1 : openat(m, "objects", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  int fd = o < 0 ? -1 : openat(o, "pack", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (m >= 0)
    close(m);
  if (o >= 0)
    close(o);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  if (!d) {
    if (fd >= 0)
      close(fd);
    return 0;
  }
  uint64_t n = 0;
  struct stat st;
  for (struct dirent *de; (de = readdir(d)) != NULL;)
    if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
      n += (uint64_t)st.st_blocks * 512 > (uint64_t)st.st_size ? (uint64_t)st.st_blocks * 512
                                                               : (uint64_t)st.st_size;
  closedir(d);
  return n;
}

typedef struct mirror_use {
  char *name;
  time_t used;
  uint64_t bytes;
} mirror_use;

static int by_use(const void *a, const void *b) {
  const mirror_use *x = a, *y = b;
  return x->used < y->used ? -1 : x->used > y->used;
}

/* Before a fetch into the mirror own: while the mirrors' packs and the
 * fetch's cap would pass jd_git_mirrors_max, the least recently used
 * mirrors nobody holds are removed (as gc does). Mirrors in use are never
 * touched: the cap can then be passed by at most their fetches. */
static void mirrors_make_room(int gitfd, const char *own) {
  char **names = NULL;
  size_t n = 0, k = 0;
  if (jd_fs_list_names(&names, &n, gitfd) != 0) {
    for (size_t i = 0; i < n; i++)
      free(names[i]);
    free(names);
    return;
  }
  mirror_use *v = calloc(n + 1, sizeof *v);
  uint64_t total = 0;
  for (size_t i = 0; v && i < n; i++) {
    if (!mirror_name(names[i], false))
      continue;
    uint64_t bytes = mirror_bytes(gitfd, names[i]);
    total += bytes;
    if (!strcmp(names[i], own))
      continue;
    char lock[128];
    struct stat st;
    snprintf(lock, sizeof lock, "%s.lock", names[i]);
    time_t used = fstatat(gitfd, names[i], &st, AT_SYMLINK_NOFOLLOW) == 0 ? st.st_mtime : 0;
    if (fstatat(gitfd, lock, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_mtime > used)
      used = st.st_mtime;
    v[k++] = (mirror_use){names[i], used, bytes};
  }
  if (v)
    qsort(v, k, sizeof *v, by_use);
  for (size_t i = 0; v && i < k && total + jd_git_fetch_max > jd_git_mirrors_max; i++) {
    char lock[128];
    snprintf(lock, sizeof lock, "%s.lock", v[i].name);
    int fd = openat(gitfd, lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
      continue;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0 && gc_discard(gitfd, v[i].name) == 0) {
      (void)unlinkat(gitfd, lock, 0); /* held: a waiter opens the next one */
      total -= v[i].bytes;
    }
    close(fd);
  }
  free(v);
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
}
