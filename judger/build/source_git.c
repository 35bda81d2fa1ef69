/* Git sources: per-host bare mirrors (fetched as needed), a ref resolved to
 * a commit, its tree exported straight from the object database (libgit2:
 * no checkout, no index). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>

#include "build/source_internal.h"
#include "common/util.h"

/* Total bytes a git export may write: a guard against blob bombs. */
#define GIT_EXPORT_MAX ((size_t)1024 * 1024 * 1024)

static const char *git_msg(void) {
  const git_error *e = git_error_last();
  return e && e->message ? e->message : "unknown libgit2 error";
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

static bool is_full_oid(const char *ref) {
  if (!ref || strlen(ref) != 40)
    return false;
  for (const char *p = ref; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
      return false;
  return true;
}

/* A tree entry name is written as one path component: refuse anything that
 * could climb out of the export or clobber git metadata. */
static bool component_ok(const char *name) {
  if (!*name || !strcmp(name, ".") || !strcmp(name, "..") || strchr(name, '/') ||
      strchr(name, '\\') || !strcasecmp(name, ".git"))
    return false;
  return true;
}

static int export_tree(git_repository *repo, const git_tree *tree, const char *dest, size_t *total,
                       char *err, size_t errlen) {
  size_t count = git_tree_entrycount(tree);
  for (size_t i = 0; i < count; i++) {
    const git_tree_entry *e = git_tree_entry_byindex(tree, i);
    const char *name = git_tree_entry_name(e);
    if (!component_ok(name))
      return jd_src_fail(err, errlen, JD_SRC_EPROGRAM, "the tree holds an unsafe path '%s'", name);
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dest, name) >= (int)sizeof path)
      return jd_src_fail(err, errlen, JD_SRC_EPROGRAM, "path too long under the tree: %s", name);
    git_filemode_t mode = git_tree_entry_filemode(e);
    if (mode == GIT_FILEMODE_COMMIT)
      continue; /* submodules are not fetched: documented */
    if (mode == GIT_FILEMODE_TREE) {
      git_tree *sub = NULL;
      if (mkdir(path, 0755) != 0)
        return jd_src_fail(err, errlen, errno == EEXIST ? JD_SRC_EPROGRAM : JD_SRC_ESYSTEM,
                           "cannot create %s: %s", name, strerror(errno));
      if (git_tree_lookup(&sub, repo, git_tree_entry_id(e)) != 0)
        return jd_src_fail(err, errlen, JD_SRC_EPROGRAM, "tree %s: %s", name, git_msg());
      int rc = export_tree(repo, sub, path, total, err, errlen);
      git_tree_free(sub);
      if (rc)
        return rc;
      continue;
    }
    git_blob *blob = NULL;
    if (git_blob_lookup(&blob, repo, git_tree_entry_id(e)) != 0)
      return jd_src_fail(err, errlen, JD_SRC_EPROGRAM, "blob %s: %s", name, git_msg());
    size_t size = (size_t)git_blob_rawsize(blob);
    const char *content = git_blob_rawcontent(blob);
    int rc = 0;
    *total += size;
    if (*total > GIT_EXPORT_MAX) {
      rc = jd_src_fail(err, errlen, JD_SRC_EPROGRAM, "the tree is larger than %zu bytes",
                       GIT_EXPORT_MAX);
    } else if (mode == GIT_FILEMODE_LINK) {
      char target[PATH_MAX];
      if (size >= sizeof target || memchr(content, '\0', size)) {
        rc = jd_src_fail(err, errlen, JD_SRC_EPROGRAM, "symlink %s has an invalid target", name);
      } else {
        memcpy(target, content, size);
        target[size] = '\0';
        if (symlink(target, path) != 0)
          rc = jd_src_fail(err, errlen, errno == EEXIST ? JD_SRC_EPROGRAM : JD_SRC_ESYSTEM,
                           "cannot create %s: %s", name, strerror(errno));
      }
    } else {
      int fmode = mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0755 : 0644;
      int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, fmode);
      if (fd < 0) {
        rc = jd_src_fail(err, errlen, errno == EEXIST ? JD_SRC_EPROGRAM : JD_SRC_ESYSTEM,
                         "cannot create %s: %s", name, strerror(errno));
      } else {
        if (jd_write_all(fd, content, size) != 0)
          rc = jd_src_fail(err, errlen, JD_SRC_ESYSTEM, "cannot write %s: %s", name,
                           strerror(errno));
        close(fd);
      }
    }
    git_blob_free(blob);
    if (rc)
      return rc;
  }
  return 0;
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
static void mirror_set_head(git_repository *repo, git_remote *remote) {
  if (git_remote_connect(remote, GIT_DIRECTION_FETCH, NULL, NULL, NULL) != 0)
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

/* Opens (creating if needed) the bare mirror of url and fetches it unless
 * ref is a commit it already has. The caller holds the mirror's lock. */
static int mirror_open(git_repository **out, const char *path, const char *url, const char *ref,
                       char *err, size_t errlen) {
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
    git_commit *commit = NULL;
    if (git_oid_fromstr(&oid, ref) == 0 && git_commit_lookup(&commit, repo, &oid) == 0) {
      git_commit_free(commit);
      goto cleanup; /* the commit is immutable: no network needed */
    }
  }
  if (mirror_remote(&remote, repo, url) != 0) {
    rc = jd_src_fail(err, errlen, JD_SRC_EPROGRAM, "bad git URL '%s': %s", url, git_msg());
    goto cleanup;
  }
  if (!ref)
    mirror_set_head(repo, remote);
  char *specs[] = {"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"};
  git_strarray refspecs = {specs, 2};
  git_fetch_options fo;
  git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
  fo.prune = GIT_FETCH_PRUNE;
  fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE; /* the refspecs take them all */
  if (git_remote_fetch(remote, &refspecs, &fo, "judger fetch") != 0) {
    rc = jd_src_fail(err, errlen, JD_SRC_EPROGRAM, "cannot fetch git repository '%s': %s", url,
                     git_msg());
    goto cleanup;
  }
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

/* Opens url's mirror under state_dir, fetched as needed, with its lock
 * held: *lockfd is the lock (closing it releases it), also on failure. */
static int open_mirror(git_repository **repo, int *lockfd, const char *state_dir, const char *url,
                       const char *ref, char *err, size_t errlen) {
  char path[PATH_MAX], gitdir[PATH_MAX], lock[PATH_MAX + 8];
  *lockfd = -1;
  if (!state_dir || jd_git_mirror_path(path, sizeof path, state_dir, url) != 0)
    return jd_src_fail(err, errlen, JD_SRC_EUSAGE, "no usable state directory for the git cache");
  snprintf(gitdir, sizeof gitdir, "%s/git", state_dir);
  snprintf(lock, sizeof lock, "%s.lock", path);
  if (jd_mkdir_mode(state_dir, 0700) != 0 || jd_mkdir_mode(gitdir, 0700) != 0)
    return jd_src_fail(err, errlen, JD_SRC_ESYSTEM, "cannot create %s: %s", gitdir,
                       strerror(errno));
  /* One task at a time per mirror: fetches of the same URL would race on
   * its refs and packs. */
  *lockfd = open(lock, O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  if (*lockfd < 0 || flock(*lockfd, LOCK_EX) != 0)
    return jd_src_fail(err, errlen, JD_SRC_ESYSTEM, "cannot lock %s: %s", lock, strerror(errno));
  return mirror_open(repo, path, url, ref, err, errlen);
}

/* Resolves what (a rev-parse expression) to a commit whose tree holds
 * run.Dockerfile. */
static int resolve_commit(git_commit **commit, git_tree **tree, git_repository *repo,
                          const char *url, const char *what, char *err, size_t errlen) {
  git_object *obj = NULL;
  int rc = 0;
  if (git_revparse_single(&obj, repo, what) != 0)
    return jd_src_fail(err, errlen, JD_SRC_EPROGRAM, "ref '%s' not found in git repository '%s'",
                       what, url);
  if (git_object_peel((git_object **)commit, obj, GIT_OBJECT_COMMIT) != 0)
    rc = jd_src_fail(err, errlen, JD_SRC_EPROGRAM, "ref '%s' of '%s' does not name a commit", what,
                     url);
  else if (git_commit_tree(tree, *commit) != 0)
    rc = jd_src_fail(err, errlen, JD_SRC_EPROGRAM, "commit of '%s': %s", what, git_msg());
  git_object_free(obj);
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

/* Opens url (in place, or its mirror, fetched as needed) and resolves ref
 * to a commit whose tree holds run.Dockerfile. The mirror's lock is held
 * only while fetching and resolving: exporting reads immutable objects. The
 * caller has called git_libgit2_init() and frees the three objects. */
static int git_resolve(git_repository **repo_out, git_commit **commit_out, git_tree **tree_out,
                       const char *state_dir, const char *url, const char *ref, char *err,
                       size_t errlen) {
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
    rc = open_mirror(&repo, &lockfd, state_dir, url, ref, err, errlen);
  } else if (git_repository_open_ext(&repo, url, 0, NULL) != 0) {
    rc = jd_src_fail(err, errlen, JD_SRC_EPROGRAM, "cannot open git repository '%s': %s", url,
                     git_msg());
  } else {
    add_quarantine(repo);
  }
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
  git_libgit2_init();
  git_repository *repo = NULL;
  git_commit *commit = NULL;
  git_tree *tree = NULL;
  size_t total = 0;
  int rc = git_resolve(&repo, &commit, &tree, state_dir, url, ref, err, errlen);
  if (!rc)
    rc = export_tree(repo, tree, dest, &total, err, errlen);
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
  git_libgit2_init();
  int rc =
      git_resolve(&s->repo, &commit, &s->tree, state_dir, ref->git_url, ref->git_ref, err, errlen);
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
  size_t total = 0;
  return export_tree(s->repo, s->tree, dest, &total, err, errlen);
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
  git_blob *blob = NULL;
  if (git_blob_lookup(&blob, s->repo, git_tree_entry_id(e)) != 0)
    return jd_src_fail(err, errlen, JD_SRC_EPROGRAM, "%s: %s", name, git_msg());
  size_t n = (size_t)git_blob_rawsize(blob);
  int rc = 0;
  if (n > JD_DOCKERFILE_MAX)
    rc = jd_src_fail(err, errlen, JD_SRC_EPROGRAM, "%s is larger than %zu bytes", name,
                     JD_DOCKERFILE_MAX);
  else
    *data = malloc(n + 1);
  if (!rc && !*data)
    rc = jd_src_fail(err, errlen, JD_SRC_ESYSTEM, "out of memory");
  if (!rc) {
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
