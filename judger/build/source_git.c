/* Git sources: a ref resolved to a commit (in a local repository, or in
 * its per-host bare mirror: git_mirror.c), its tree exported straight from
 * the object database (libgit2: no checkout, no index).
 *
 * What a contestant's repository (or its server) sends is bounded while it
 * is read:
 *   1. the fetch (git_mirror.c): the build's deadline and cancel token and
 *      a byte cap at the socket (git_stream.h), the mirror's lock waited
 *      on until the same deadline, at most GIT_PACK_OBJECTS objects in a
 *      pack;
 *   2. every object (git_bounds.c): its size read from its header before
 *      it is inflated (a bounded object database in front of the
 *      repository's own), and no single allocation of libgit2's past
 *      GIT_ALLOC_MAX (a delta over a huge base);
 *   3. the export (here): an explicit stack of trees (no recursion), at most
 *      GIT_EXPORT_DEPTH levels, GIT_EXPORT_ENTRIES entries, GIT_FILE_MAX
 *      bytes a file and GIT_EXPORT_MAX in all, written fd-relative. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/git_internal.h"
#include "common/util.h"

/* A URL has a scheme ("file://", "https://"...) or is scp-like
 * ("git@host:repo"): a ':' before the first '/'. Anything else is a path. */
static bool is_local_path(const char *url) {
  if (strstr(url, "://"))
    return false;
  const char *colon = strchr(url, ':');
  const char *slash = strchr(url, '/');
  return !(colon && (!slash || colon < slash));
}

bool jd_git_is_hex(const char *s, size_t min, size_t max) {
  size_t n = s ? strlen(s) : 0;
  if (n < min || n > max)
    return false;
  for (const char *p = s; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
      return false;
  return true;
}

static bool is_full_oid(const char *ref) {
  return jd_git_is_hex(ref, GIT_OID_HEXSZ, GIT_OID_HEXSZ);
}

/* A tree entry name is written as one path component: refuse anything that
 * could climb out of the export or clobber git metadata. */
static bool component_ok(const char *name) {
  if (!*name || !strcmp(name, ".") || !strcmp(name, "..") || strchr(name, '/') ||
      strchr(name, '\\') || !strcasecmp(name, ".git"))
    return false;
  return true;
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
  jd_fail_kind *kind;
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
  int rc = jd_git_object_header(&size, &type, x->repo, git_tree_entry_id(e), what, x->kind, x->err,
                                x->errlen);
  if (rc)
    return rc;
  if (type != GIT_OBJECT_BLOB)
    return jd_fail_as(x->kind, JD_FAIL_PROGRAM, x->err, x->errlen, "%s is a %s, not a blob", what,
                      git_object_type2string(type));
  if (size > GIT_FILE_MAX)
    return jd_fail_as(x->kind, JD_FAIL_PROGRAM, x->err, x->errlen, "%s is larger than %zu bytes",
                      what, GIT_FILE_MAX);
  if (size > GIT_EXPORT_MAX - x->bytes)
    return jd_fail_as(x->kind, JD_FAIL_PROGRAM, x->err, x->errlen,
                      "the tree is larger than %zu bytes", GIT_EXPORT_MAX);
  x->bytes += size;
  if (mode == GIT_FILEMODE_LINK && size >= PATH_MAX)
    return jd_fail_as(x->kind, JD_FAIL_PROGRAM, x->err, x->errlen,
                      "symlink %s has an invalid target", name);
  git_blob *blob = NULL;
  if (git_blob_lookup(&blob, x->repo, git_tree_entry_id(e)) != 0)
    return jd_fail_as(x->kind, JD_FAIL_PROGRAM, x->err, x->errlen, "blob %s: %s", name,
                      jd_git_msg());
  const char *content = git_blob_rawcontent(blob);
  size = (size_t)git_blob_rawsize(blob);
  if (mode == GIT_FILEMODE_LINK) {
    char target[PATH_MAX];
    if (size >= sizeof target || memchr(content, '\0', size)) {
      rc = jd_fail_as(x->kind, JD_FAIL_PROGRAM, x->err, x->errlen,
                      "symlink %s has an invalid target", name);
    } else {
      memcpy(target, content, size);
      target[size] = '\0';
      if (symlinkat(target, dirfd, name) != 0)
        rc = jd_fail_as(x->kind, errno == EEXIST ? JD_FAIL_PROGRAM : JD_FAIL_SYSTEM, x->err,
                        x->errlen, "cannot create %s: %s", name, strerror(errno));
    }
  } else {
    int fmode = mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0755 : 0644;
    int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, fmode);
    if (fd < 0) {
      rc = jd_fail_as(x->kind, errno == EEXIST ? JD_FAIL_PROGRAM : JD_FAIL_SYSTEM, x->err,
                      x->errlen, "cannot create %s: %s", name, strerror(errno));
    } else {
      if (jd_write_all(fd, content, size) != 0)
        rc = jd_fail_as(x->kind, JD_FAIL_SYSTEM, x->err, x->errlen, "cannot write %s: %s", name,
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
    return jd_fail_as(x->kind, JD_FAIL_PROGRAM, x->err, x->errlen,
                      "the tree is deeper than %d directory levels (%s is at level %zu)",
                      GIT_EXPORT_DEPTH, what, depth);
  int rc = jd_git_lookup_bounded((git_object **)sub, x->repo, git_tree_entry_id(e), GIT_OBJECT_TREE,
                                 GIT_TREE_MAX, what, x->kind, x->err, x->errlen);
  if (rc)
    return rc;
  x->entries += git_tree_entrycount(*sub);
  if (x->entries > GIT_EXPORT_ENTRIES)
    return jd_fail_as(x->kind, JD_FAIL_PROGRAM, x->err, x->errlen,
                      "the tree has more than %zu entries", GIT_EXPORT_ENTRIES);
  if (mkdirat(dirfd, name, 0755) != 0)
    return jd_fail_as(x->kind, errno == EEXIST ? JD_FAIL_PROGRAM : JD_FAIL_SYSTEM, x->err,
                      x->errlen, "cannot create %s: %s", name, strerror(errno));
  *subfd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (*subfd < 0)
    return jd_fail_as(x->kind, JD_FAIL_SYSTEM, x->err, x->errlen, "cannot open %s: %s", name,
                      strerror(errno));
  return 0;
}

/* Writes root into dest (which exists and is empty), depth first with an
 * explicit stack of trees (no recursion: its depth is the program's), at
 * most GIT_EXPORT_DEPTH levels, GIT_EXPORT_ENTRIES entries, GIT_FILE_MAX
 * bytes a file and GIT_EXPORT_MAX in all. Files are created relative to
 * their directory's descriptor, never following a link. */
static int export_tree(git_repository *repo, const git_tree *root, const char *dest,
                       jd_fail_kind *kind, char *err, size_t errlen) {
  export_state x = {.repo = repo,
                    .entries = git_tree_entrycount(root),
                    .kind = kind,
                    .err = err,
                    .errlen = errlen};
  export_frame stack[GIT_EXPORT_DEPTH + 1];
  int top = 0;
  int rc = 0;
  if (x.entries > GIT_EXPORT_ENTRIES)
    return jd_fail_as(kind, JD_FAIL_PROGRAM, err, errlen, "the tree has more than %zu entries",
                      GIT_EXPORT_ENTRIES);
  stack[0] = (export_frame){.tree = (git_tree *)root,
                            .fd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (stack[0].fd < 0)
    return jd_fail_as(kind, JD_FAIL_SYSTEM, err, errlen, "cannot open %s: %s", dest,
                      strerror(errno));
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
      rc = jd_fail_as(kind, JD_FAIL_PROGRAM, err, errlen, "the tree holds an unsafe path '%s'",
                      name);
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

/* The hook's directories, as jd_source_git_hook() was given them. */
static const char *hook_quarantine, *hook_objdir;

void jd_source_git_hook(const char *quarantine_path, const char *object_dir) {
  hook_quarantine = quarantine_path;
  hook_objdir = object_dir;
}

/* Inside a pre-receive hook the pushed objects sit in a quarantine
 * directory that git names in GIT_OBJECT_DIRECTORY (the repository's own
 * objects then come through GIT_ALTERNATE_OBJECT_DIRECTORIES): add them to the
 * object database so the pushed commit can be read before it is accepted. */
static void add_quarantine(git_repository *repo) {
  const char *q = hook_quarantine, *objdir = hook_objdir;
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

/* What (a branch, tag, commit id or another rev-parse expression) as an
 * object id. Names and ids are resolved without inflating any object; only
 * other expressions (HEAD~2, main^{tree}...) go through libgit2's
 * rev-parse, which reads the objects it walks (through the bounded object
 * database). 0, or -1 with libgit2's error set. */
static int resolve_oid(git_oid *out, git_repository *repo, const char *what) {
  git_reference *ref = NULL, *direct = NULL;
  if (is_full_oid(what))
    return git_oid_fromstr(out, what) == 0 ? 0 : -1;
  if (git_reference_dwim(&ref, repo, what) == 0) {
    int rc = git_reference_resolve(&direct, ref);
    if (rc == 0)
      git_oid_cpy(out, git_reference_target(direct));
    git_reference_free(direct);
    git_reference_free(ref);
    return rc == 0 ? 0 : -1;
  }
  if (jd_git_is_hex(what, GIT_OID_MINPREFIXLEN, GIT_OID_HEXSZ)) {
    git_oid prefix;
    git_odb *odb = NULL;
    int rc = git_oid_fromstrn(&prefix, what, strlen(what));
    if (rc == 0)
      rc = git_repository_odb(&odb, repo);
    if (rc == 0)
      rc = git_odb_exists_prefix(out, odb, &prefix, strlen(what));
    git_odb_free(odb);
    return rc == 0 ? 0 : -1;
  }
  git_object *obj = NULL;
  int rc = git_revparse_single(&obj, repo, what);
  if (rc == 0)
    git_oid_cpy(out, git_object_id(obj));
  git_object_free(obj);
  return rc == 0 ? 0 : -1;
}

/* Resolves what to a commit whose tree holds run.Dockerfile: annotated
 * tags peeled one at a time, each object's size read from its header
 * before it is inflated. */
static int resolve_commit(git_commit **commit, git_tree **tree, git_repository *repo,
                          const char *url, const char *what, jd_fail_kind *kind, char *err,
                          size_t errlen) {
  git_oid oid;
  git_object *obj = NULL;
  int rc = 0;
  char name[64 + 256];
  snprintf(name, sizeof name, "ref '%.200s'", what);
  if (resolve_oid(&oid, repo, what) != 0)
    return jd_fail_as(kind, JD_FAIL_PROGRAM, err, errlen,
                      "ref '%s' not found in git repository '%s'", what, url);
  for (int hops = 0; !rc; hops++) {
    rc = jd_git_lookup_bounded(&obj, repo, &oid, GIT_OBJECT_ANY, GIT_META_MAX, name, kind, err,
                               errlen);
    if (rc)
      break;
    if (git_object_type(obj) == GIT_OBJECT_COMMIT) {
      *commit = (git_commit *)obj;
      break;
    }
    if (git_object_type(obj) != GIT_OBJECT_TAG || hops >= 16) {
      git_object_free(obj);
      return jd_fail_as(kind, JD_FAIL_PROGRAM, err, errlen,
                        "ref '%s' of '%s' does not name a commit", what, url);
    }
    git_oid_cpy(&oid, git_tag_target_id((git_tag *)obj));
    git_object_free(obj);
  }
  if (!rc)
    rc = jd_git_lookup_bounded((git_object **)tree, repo, git_commit_tree_id(*commit),
                               GIT_OBJECT_TREE, GIT_TREE_MAX, "the commit's tree", kind, err,
                               errlen);
  if (rc)
    return rc;
  const git_tree_entry *df = git_tree_entry_byname(*tree, JD_RUN_DOCKERFILE);
  if (!df || (git_tree_entry_filemode(df) != GIT_FILEMODE_BLOB &&
              git_tree_entry_filemode(df) != GIT_FILEMODE_BLOB_EXECUTABLE)) {
    char cid[GIT_OID_HEXSZ + 1];
    git_oid_tostr(cid, sizeof cid, git_commit_id(*commit));
    return jd_fail_as(kind, JD_FAIL_PROGRAM, err, errlen,
                      "commit %.12s ('%s') of '%s' has no %s at the root of its tree", cid, what,
                      url, JD_RUN_DOCKERFILE);
  }
  return 0;
}

/* Opens ref->git_url (in place, or its mirror, fetched as needed within
 * ref->call) and resolves ref->git_ref (NULL: HEAD) to a commit whose tree
 * holds run.Dockerfile. The mirror's
 * lock is held only while fetching and resolving: exporting reads
 * immutable objects. The caller has called jd_git_init() and frees the three
 * objects. */
static int git_resolve(git_repository **repo_out, git_commit **commit_out, git_tree **tree_out,
                       const char *state_dir, const jd_program_ref *ref, jd_fail_kind *kind,
                       char *err, size_t errlen) {
  const char *url = ref->git_url;
  git_repository *repo = NULL;
  git_commit *commit = NULL;
  git_tree *tree = NULL;
  int lockfd = -1;
  int rc = 0;
  *repo_out = NULL;
  *commit_out = NULL;
  *tree_out = NULL;
  if (!url || !*url)
    return jd_fail_as(kind, JD_FAIL_USAGE, err, errlen, "no git URL given");
  if (!is_local_path(url)) {
    rc = jd_git_mirror_open(&repo, &lockfd, state_dir, ref, kind, err, errlen);
  } else if (git_repository_open_ext(&repo, url, 0, NULL) != 0) {
    rc = jd_fail_as(kind, JD_FAIL_PROGRAM, err, errlen, "cannot open git repository '%s': %s", url,
                    jd_git_msg());
  } else {
    add_quarantine(repo);
  }
  if (!rc)
    rc = jd_git_bound_repository(repo, kind, err, errlen);
  if (!rc)
    rc = resolve_commit(&commit, &tree, repo, url, ref->git_ref ? ref->git_ref : "HEAD", kind, err,
                        errlen);
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
                  const char *ref, const char *dest, jd_fail_kind *kind, char *err, size_t errlen) {
  if (commit_out)
    *commit_out = NULL;
  if (tree_out)
    *tree_out = NULL;
  jd_git_init();
  git_repository *repo = NULL;
  git_commit *commit = NULL;
  git_tree *tree = NULL;
  jd_program_ref pr = {.git_url = url, .git_ref = ref};
  int rc = git_resolve(&repo, &commit, &tree, state_dir, &pr, kind, err, errlen);
  if (!rc)
    rc = export_tree(repo, tree, dest, kind, err, errlen);
  if (!rc && commit_out && !(*commit_out = oid_str(git_commit_id(commit))))
    rc = jd_fail_as(kind, JD_FAIL_SYSTEM, err, errlen, "out of memory");
  if (!rc && tree_out && !(*tree_out = oid_str(git_tree_id(tree))))
    rc = jd_fail_as(kind, JD_FAIL_SYSTEM, err, errlen, "out of memory");
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
int jd_src_git_open(jd_source *s, const char *state_dir, const jd_program_ref *ref,
                    jd_fail_kind *kind, char *err, size_t errlen) {
  git_commit *commit = NULL;
  jd_git_init();
  int rc = git_resolve(&s->repo, &commit, &s->tree, state_dir, ref, kind, err, errlen);
  if (!s->repo) {
    git_libgit2_shutdown(); /* otherwise jd_source_free() does it */
    return rc;
  }
  char *tree = oid_str(git_tree_id(s->tree));
  s->commit = oid_str(git_commit_id(commit));
  git_commit_free(commit);
  if (!tree || !s->commit || asprintf(&s->identity, "git:%s", tree) < 0) {
    s->identity = NULL;
    rc = jd_fail_as(kind, JD_FAIL_SYSTEM, err, errlen, "out of memory");
  }
  free(tree);
  return rc;
}

int jd_src_git_write(const jd_source *s, const char *dest, jd_fail_kind *kind, char *err,
                     size_t errlen) {
  return export_tree(s->repo, s->tree, dest, kind, err, errlen);
}

int jd_src_git_dockerfile(char **data, size_t *len, const jd_source *s, const char *name,
                          bool optional, jd_fail_kind *kind, char *err, size_t errlen) {
  *data = NULL;
  const git_tree_entry *e = git_tree_entry_byname(s->tree, name);
  if (!e)
    return optional ? 0
                    : jd_fail_as(kind, JD_FAIL_PROGRAM, err, errlen,
                                 "the program has no %s at the root of its tree", name);
  git_filemode_t mode = git_tree_entry_filemode(e);
  if (mode != GIT_FILEMODE_BLOB && mode != GIT_FILEMODE_BLOB_EXECUTABLE)
    return jd_fail_as(kind, JD_FAIL_PROGRAM, err, errlen,
                      "%s must be a regular file (not a symlink or directory)", name);
  /* The size from the object's header: a 600 MB blob of zeros (a 600 KB
   * pack) is refused before it is inflated. */
  git_blob *blob = NULL;
  int rc = jd_git_lookup_bounded((git_object **)&blob, s->repo, git_tree_entry_id(e),
                                 GIT_OBJECT_BLOB, JD_DOCKERFILE_MAX, name, kind, err, errlen);
  if (rc)
    return rc;
  size_t n = (size_t)git_blob_rawsize(blob);
  *data = malloc(n + 1);
  if (!*data) {
    rc = jd_fail_as(kind, JD_FAIL_SYSTEM, err, errlen, "out of memory");
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
