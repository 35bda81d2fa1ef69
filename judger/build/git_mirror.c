/* The per-host git mirrors: one bare mirror per URL under
 * <state_dir>/git, fetched as needed within the build's budget
 * (git_stream.h) under the mirror's lock, removed by `judger gc` once
 * unused, and held under a total cap (the least recently used go first). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "build/git_internal.h"
#include "build/git_stream.h"
#include "common/util.h"

/* Waits between two tries of a busy mirror's lock. */
#define GIT_LOCK_POLL_US (50 * 1000)

uint64_t jd_git_fetch_max = (uint64_t)512 * 1024 * 1024;
uint64_t jd_git_mirrors_max = (uint64_t)8 * 1024 * 1024 * 1024;

int jd_git_mirror_path(char *out, size_t outlen, const char *state_dir, const char *url) {
  char sha[65];
  jd_sha256_hex(sha, url, strlen(url));
  int n = snprintf(out, outlen, "%s/git/%s.git", state_dir, sha);
  return n < 0 || (size_t)n >= outlen ? -1 : 0;
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
static int budget_fail(const jd_git_budget *b, const char *doing, const char *url,
                       jd_fail_kind *kind, char *err, size_t errlen) {
  switch (b->stop) {
  case JD_GIT_STOP_DEADLINE:
    return jd_fail_as(kind, JD_FAIL_TIMEOUT, err, errlen,
                      "%s git repository '%s' passed the build's wall time", doing, url);
  case JD_GIT_STOP_CANCEL:
    return jd_fail_as(kind, JD_FAIL_SYSTEM, err, errlen, "%s git repository '%s': cancelled", doing,
                      url);
  default:
    return jd_fail_as(kind, JD_FAIL_PROGRAM, err, errlen,
                      "%s git repository '%s': more than %llu bytes received", doing, url,
                      (unsigned long long)b->max_bytes);
  }
}

/* Whether ref is a full commit id the mirror already holds (read from its
 * header: nothing inflated). */
static bool has_commit(git_repository *repo, const char *ref) {
  if (!jd_git_is_hex(ref, GIT_OID_HEXSZ, GIT_OID_HEXSZ))
    return false;
  git_oid oid;
  size_t size = 0;
  git_object_t type = GIT_OBJECT_INVALID;
  git_odb *odb = NULL;
  bool have = git_oid_fromstr(&oid, ref) == 0 && git_repository_odb(&odb, repo) == 0 &&
              git_odb_read_header(&size, &type, odb, &oid) == 0 && type == GIT_OBJECT_COMMIT;
  git_odb_free(odb);
  return have;
}

/* Opens (creating if needed) the bare mirror of url and fetches it unless
 * ref is a commit it already has, within b. The caller holds the mirror's
 * lock. An interrupted fetch leaves the mirror as it was: libgit2 writes the
 * pack under a temporary name and updates the refs only once it is
 * indexed. */
static int mirror_open(git_repository **out, const char *path, const char *url, const char *ref,
                       jd_git_budget *b, jd_fail_kind *kind, char *err, size_t errlen) {
  git_repository *repo = NULL;
  git_remote *remote = NULL;
  bool fresh = false;
  int rc = 0;
  if (git_repository_open_bare(&repo, path) != 0) {
    jd_rm_rf(path); /* a half-made mirror from an interrupted run */
    if (git_repository_init(&repo, path, 1) != 0) {
      rc = jd_fail_as(kind, JD_FAIL_SYSTEM, err, errlen, "cannot create git mirror %s: %s", path,
                      jd_git_msg());
      goto cleanup;
    }
    fresh = true;
  }
  if (!fresh && has_commit(repo, ref))
    goto cleanup; /* the commit is immutable: no network needed */
  if (mirror_remote(&remote, repo, url) != 0) {
    rc = jd_fail_as(kind, JD_FAIL_PROGRAM, err, errlen, "bad git URL '%s': %s", url, jd_git_msg());
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
    rc = budget_fail(b, "fetching", url, kind, err, errlen);
  else if (frc != 0)
    rc = jd_fail_as(kind, JD_FAIL_PROGRAM, err, errlen, "cannot fetch git repository '%s': %s", url,
                    jd_git_msg());
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
static int mirror_lock(int *fd, const char *lock, const char *url, jd_git_budget *b,
                       jd_fail_kind *kind, char *err, size_t errlen) {
  for (;;) {
    *fd = open(lock, O_CREAT | O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (*fd < 0)
      return jd_fail_as(kind, JD_FAIL_SYSTEM, err, errlen, "cannot open %s: %s", lock,
                        strerror(errno));
    while (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK && errno != EINTR)
        return jd_fail_as(kind, JD_FAIL_SYSTEM, err, errlen, "cannot lock %s: %s", lock,
                          strerror(errno));
      if (jd_git_budget_check(b) != JD_GIT_STOP_NONE)
        return budget_fail(b, "waiting for another task fetching", url, kind, err, errlen);
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

int jd_git_mirror_open(git_repository **repo, int *lockfd, const char *state_dir,
                       const jd_program_ref *ref, jd_fail_kind *kind, char *err, size_t errlen) {
  const char *url = ref->git_url;
  char path[PATH_MAX], gitdir[PATH_MAX], lock[PATH_MAX + 8];
  *lockfd = -1;
  if (!state_dir || jd_git_mirror_path(path, sizeof path, state_dir, url) != 0)
    return jd_fail_as(kind, JD_FAIL_USAGE, err, errlen,
                      "no usable state directory for the git cache");
  snprintf(gitdir, sizeof gitdir, "%s/git", state_dir);
  snprintf(lock, sizeof lock, "%s.lock", path);
  if (jd_mkdir_mode(state_dir, 0700) != 0 || jd_mkdir_mode(gitdir, 0700) != 0)
    return jd_fail_as(kind, JD_FAIL_SYSTEM, err, errlen, "cannot create %s: %s", gitdir,
                      strerror(errno));
  jd_git_budget b = {.max_bytes = jd_git_fetch_max, .public_only = ref->public_only};
  if (ref->call) {
    b.deadline_ms = ref->call->deadline_ms;
    b.cancel = ref->call->cancel;
  }
  int rc = mirror_lock(lockfd, lock, url, &b, kind, err, errlen);
  if (rc)
    return rc;
  int gitfd = open(gitdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (gitfd >= 0) {
    mirrors_make_room(gitfd, path + strlen(gitdir) + 1);
    close(gitfd);
  }
  return mirror_open(repo, path, url, ref->git_ref, &b, kind, err, errlen);
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

/* What gc did with one mirror. */
typedef enum mirror_fate {
  MIRROR_KEPT,    /* used within max_age_s (or not a mirror) */
  MIRROR_REMOVED, /* removed (or due, in a dry run) */
  MIRROR_HELD,    /* kept because a task holds its lock */
} mirror_fate;

/* One mirror (name "<hex>.git"): what became of it into *fate; 0, or -1
 * with errno when it could not be removed. */
static int gc_mirror(mirror_fate *fate, int gitfd, const char *name, time_t now, int64_t max_age_s,
                     bool dry_run) {
  char lock[128];
  snprintf(lock, sizeof lock, "%s.lock", name);
  struct stat st, ls;
  *fate = MIRROR_KEPT;
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
  if (fd < 0 && dry_run && errno == ENOENT) {
    *fate = MIRROR_REMOVED;
    return 0;
  }
  if (fd < 0)
    return -1;
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    *fate = MIRROR_HELD; /* a fetch or a resolve is using it */
    return 0;
  }
  /* Used between the look and the lock? (A lock made just now by this
   * open says nothing.) */
  if (had_lock && fstat(fd, &ls) == 0 && ls.st_mtime > used)
    used = ls.st_mtime;
  int rc = 0;
  if ((int64_t)(now - used) >= max_age_s) {
    if (!dry_run && gc_discard(gitfd, name) != 0) {
      rc = -1;
    } else {
      *fate = MIRROR_REMOVED;
      if (!dry_run)
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
    mirror_fate fate = MIRROR_KEPT;
    if (!strncmp(names[i], MIRROR_DEL_PREFIX, strlen(MIRROR_DEL_PREFIX)))
      r = dry_run ? 0 : jd_rm_rf_at(gitfd, names[i]) == 0 ? 0 : -1; /* a half removal */
    else if (mirror_name(names[i], false))
      r = gc_mirror(&fate, gitfd, names[i], now, max_age_s, dry_run);
    else if (mirror_name(names[i], true) && !dry_run)
      gc_orphan_lock(gitfd, names[i]);
    if (r < 0)
      rc = -1;
    else if (fate == MIRROR_REMOVED && removed)
      (*removed)++;
    else if (fate == MIRROR_HELD && locked)
      (*locked)++;
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
