// test-labels: unit
/* Git mirrors are not kept for ever (issue 19, its review): a new
 * repository path per build is a new mirror under <state>/git, each up to
 * the fetch cap. `judger gc` removes the mirrors unused for --max-age (the
 * lock's mtime, touched at each use), never one whose lock a task holds;
 * a first fetch that fails (past the byte cap...) leaves no mirror, and gc
 * takes its empty lock. Nothing here needs the engine. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "build/source.h"
#include "build/source_internal.h"
#include "common/util.h"
#include "support.h"

/* The kind of the last failure of a source call (common/error.h). */
static jd_fail_kind kind;

#define GIT "git -c user.name=t -c user.email=t@t -c init.defaultBranch=main"
#define DAY (24 * 3600)

static void sh(const char *fmt, const char *a, const char *b) {
  char cmd[8192];
  snprintf(cmd, sizeof cmd, fmt, a, b);
  cr_assert_eq(system(cmd), 0, "%s", cmd);
}

/* A repository with run.Dockerfile and n bytes of random data. */
static char *make_repo(const char *tmp, const char *name, const char *kib) {
  char *w = NULL;
  cr_assert(asprintf(&w, "%s/%s", tmp, name) > 0);
  sh("mkdir -p %s && cd %s && " GIT " init -q . && printf 'FROM scratch\\n' > run.Dockerfile", w,
     w);
  sh("cd %s && head -c %sK /dev/urandom > noise.bin && " GIT " add -A && " GIT " commit -qm one", w,
     kib);
  return w;
}

/* Exports url's main into a fresh directory under tmp: 0 or the source
 * error (err filled). */
static int export(const char *tmp, const char *state, const char *url, char *err, size_t errlen) {
  static int n;
  char dest[4200];
  snprintf(dest, sizeof dest, "%s/out%d", tmp, n++);
  cr_assert_eq(mkdir(dest, 0755), 0);
  return jd_git_export(NULL, NULL, state, url, "main", dest, &kind, err, errlen);
}

static void mirror_of(char *out, size_t len, const char *state, const char *url) {
  cr_assert_eq(jd_git_mirror_path(out, len, state, url), 0);
}

/* Sets path's times to days ago (no link followed). */
static void age(const char *path, int days) {
  struct timespec ts[2] = {{.tv_sec = time(NULL) - (time_t)days * DAY},
                           {.tv_sec = time(NULL) - (time_t)days * DAY}};
  cr_assert_eq(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0, "%s", path);
}

static void age_mirror(const char *mirror, int days) {
  char lock[4500];
  snprintf(lock, sizeof lock, "%s.lock", mirror);
  age(mirror, days);
  age(lock, days);
}

/* Names in dir (but . and ..). */
static int entries(const char *dir) {
  DIR *d = opendir(dir);
  if (!d)
    return 0;
  int n = 0;
  for (struct dirent *e; (e = readdir(d));)
    n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
  closedir(d);
  return n;
}

Test(git_mirrors, gc_removes_an_old_mirror_and_keeps_a_fresh_one_and_a_locked_one) {
  char *tmp = t_tmpdir("gitgc");
  char *w = make_repo(tmp, "work", "64");
  char state[4200], u_old[4300], u_fresh[4300], u_locked[4300], err[1024] = "";
  snprintf(state, sizeof state, "%s/state", tmp);
  /* Three URLs of one repository: three mirrors. */
  snprintf(u_old, sizeof u_old, "file://%s", w);
  snprintf(u_fresh, sizeof u_fresh, "file://%s/", w);
  snprintf(u_locked, sizeof u_locked, "file://%s/.", w);
  cr_assert_eq(export(tmp, state, u_old, err, sizeof err), 0, "%s", err);
  cr_assert_eq(export(tmp, state, u_fresh, err, sizeof err), 0, "%s", err);
  cr_assert_eq(export(tmp, state, u_locked, err, sizeof err), 0, "%s", err);
  char m_old[4400], m_fresh[4400], m_locked[4400], lock[4500], gitdir[4300];
  mirror_of(m_old, sizeof m_old, state, u_old);
  mirror_of(m_fresh, sizeof m_fresh, state, u_fresh);
  mirror_of(m_locked, sizeof m_locked, state, u_locked);
  snprintf(gitdir, sizeof gitdir, "%s/git", state);
  cr_assert_eq(entries(gitdir), 6, "three mirrors and their locks");
  age_mirror(m_old, 10);
  age_mirror(m_locked, 10);
  /* A task holds the locked one's lock (a fetch in progress). */
  snprintf(lock, sizeof lock, "%s.lock", m_locked);
  int held = open(lock, O_RDWR);
  cr_assert(held >= 0);
  cr_assert_eq(flock(held, LOCK_EX), 0);

  size_t removed = 0, locked = 0;
  /* A dry run says so and removes nothing. */
  cr_assert_eq(jd_git_gc(&removed, &locked, state, 7 * DAY, true), 0);
  cr_assert_eq(removed, 1);
  cr_assert(jd_path_exists(m_old));
  cr_assert_eq(jd_git_gc(&removed, &locked, state, 7 * DAY, false), 0);
  cr_assert_eq(removed, 1, "%zu removed", removed);
  cr_assert_eq(locked, 1, "%zu in use", locked);
  cr_assert(!jd_path_exists(m_old), "the old mirror is left");
  snprintf(lock, sizeof lock, "%s.lock", m_old);
  cr_assert(!jd_path_exists(lock), "the old mirror's lock is left");
  cr_assert(jd_path_exists(m_fresh), "the fresh mirror was removed");
  cr_assert(jd_path_exists(m_locked), "the locked mirror was removed");
  cr_assert_eq(entries(gitdir), 4, "nothing else is left (renamed copies)");

  /* Released, the locked one goes too; the old URL is fetched again. */
  close(held);
  cr_assert_eq(jd_git_gc(&removed, &locked, state, 7 * DAY, false), 0);
  cr_assert_eq(removed, 1);
  cr_assert(!jd_path_exists(m_locked));
  cr_assert_eq(export(tmp, state, u_old, err, sizeof err), 0, "%s", err);
  cr_assert(jd_path_exists(m_old));
  free(w);
  t_rmdir(tmp);
}

Test(git_mirrors, a_mirror_used_without_a_fetch_is_fresh_again) {
  char *tmp = t_tmpdir("gitgc");
  char *w = make_repo(tmp, "work", "4");
  char state[4200], url[4300], err[1024] = "", cmd[4400];
  snprintf(state, sizeof state, "%s/state", tmp);
  snprintf(url, sizeof url, "file://%s", w);
  cr_assert_eq(export(tmp, state, url, err, sizeof err), 0, "%s", err);
  char m[4400];
  mirror_of(m, sizeof m, state, url);
  age_mirror(m, 10);
  /* By commit id: served from the mirror, no fetch, still a use. */
  snprintf(cmd, sizeof cmd, "git -C %s rev-parse main", w);
  FILE *p = popen(cmd, "r");
  char head[64] = "";
  cr_assert(p && fgets(head, sizeof head, p));
  pclose(p);
  head[strcspn(head, "\n")] = '\0';
  char dest[4400];
  snprintf(dest, sizeof dest, "%s/bycommit", tmp);
  cr_assert_eq(mkdir(dest, 0755), 0);
  cr_assert_eq(jd_git_export(NULL, NULL, state, url, head, dest, &kind, err, sizeof err), 0, "%s",
               err);
  size_t removed = 9, locked = 9;
  cr_assert_eq(jd_git_gc(&removed, &locked, state, 7 * DAY, false), 0);
  cr_assert_eq(removed, 0);
  cr_assert_eq(locked, 0);
  cr_assert(jd_path_exists(m));
  free(w);
  t_rmdir(tmp);
}

Test(git_mirrors, a_first_fetch_past_the_byte_cap_leaves_no_mirror) {
  char *tmp = t_tmpdir("gitgc");
  char *w = make_repo(tmp, "big", "1024"); /* 1 MiB of random bytes */
  char state[4200], url[4300], err[1024] = "";
  snprintf(state, sizeof state, "%s/state", tmp);
  snprintf(url, sizeof url, "file://%s", w);
  uint64_t saved = jd_git_fetch_max;
  jd_git_fetch_max = 256 * 1024;
  int rc = export(tmp, state, url, err, sizeof err);
  jd_git_fetch_max = saved;
  cr_assert_eq(rc, -1, "%d: %s", rc, err);
  cr_assert_eq(kind, JD_FAIL_PROGRAM);
  cr_assert(strstr(err, "more than 262144 bytes"), "%s", err);
  char gitdir[4300], m[4400];
  snprintf(gitdir, sizeof gitdir, "%s/git", state);
  mirror_of(m, sizeof m, state, url);
  cr_assert(!jd_path_exists(m), "the CE fetch left its mirror");
  /* Its empty lock stays (a task may be waiting on it); gc takes it. */
  size_t removed = 0, locked = 0;
  cr_assert_eq(jd_git_gc(&removed, &locked, state, 7 * DAY, false), 0);
  cr_assert_eq(entries(gitdir), 0, "%d entries left in %s", entries(gitdir), gitdir);
  free(w);
  t_rmdir(tmp);
}

/* A mirror an older judger left without its lock file goes by its own
 * mtime; a stray renamed copy (a gc killed half way) goes too. */
Test(git_mirrors, gc_removes_an_old_mirror_without_a_lock_and_a_half_removed_one) {
  char *tmp = t_tmpdir("gitgc");
  char gitdir[4200], m[4400], half[4400];
  snprintf(gitdir, sizeof gitdir, "%s/state/git", tmp);
  snprintf(m, sizeof m, "%s/%064d.git", gitdir, 0);
  snprintf(half, sizeof half, "%s/.del-0123456789abcdef", gitdir);
  sh("mkdir -p %s/objects %s/sub/sub", m, half);
  age(m, 30);
  char state[4300];
  snprintf(state, sizeof state, "%s/state", tmp);
  size_t removed = 0, locked = 0;
  cr_assert_eq(jd_git_gc(&removed, &locked, state, 7 * DAY, false), 0);
  cr_assert_eq(removed, 1);
  cr_assert_eq(entries(gitdir), 0, "%d entries left in %s", entries(gitdir), gitdir);
  t_rmdir(tmp);
}

/* What mirrors_make_room counts of a mirror: its packs' bytes on disk. */
static uint64_t pack_bytes(const char *mirror) {
  char dir[4500], f[4800];
  snprintf(dir, sizeof dir, "%s/objects/pack", mirror);
  DIR *d = opendir(dir);
  cr_assert_not_null(d, "%s", dir);
  uint64_t n = 0;
  struct stat st;
  for (struct dirent *e; (e = readdir(d));) {
    snprintf(f, sizeof f, "%s/%s", dir, e->d_name);
    if (lstat(f, &st) == 0 && S_ISREG(st.st_mode))
      n += (uint64_t)st.st_blocks * 512 > (uint64_t)st.st_size ? (uint64_t)st.st_blocks * 512
                                                               : (uint64_t)st.st_size;
  }
  closedir(d);
  return n;
}

/* The mirrors' total cap: a new URL's fetch that would pass it removes the
 * least recently used mirror nobody holds (a held one stays, even older). */
Test(git_mirrors, a_fetch_past_the_total_cap_removes_the_least_recently_used_mirror) {
  char *tmp = t_tmpdir("gitcap");
  char *w = make_repo(tmp, "work", "64");
  char state[4200], ua[4300], ub[4300], uc[4300], ud[4300], err[1024] = "";
  snprintf(state, sizeof state, "%s/state", tmp);
  snprintf(ua, sizeof ua, "file://%s", w);
  snprintf(ub, sizeof ub, "file://%s/", w);
  snprintf(uc, sizeof uc, "file://%s/.", w);
  snprintf(ud, sizeof ud, "file://%s/./", w);
  cr_assert_eq(export(tmp, state, ua, err, sizeof err), 0, "%s", err);
  cr_assert_eq(export(tmp, state, ub, err, sizeof err), 0, "%s", err);
  cr_assert_eq(export(tmp, state, uc, err, sizeof err), 0, "%s", err);
  char ma[4400], mb[4400], mc[4400], md[4400], lock[4500];
  mirror_of(ma, sizeof ma, state, ua);
  mirror_of(mb, sizeof mb, state, ub);
  mirror_of(mc, sizeof mc, state, uc);
  mirror_of(md, sizeof md, state, ud);
  age_mirror(ma, 30); /* the least recently used */
  age_mirror(mb, 40); /* older still, but held */
  snprintf(lock, sizeof lock, "%s.lock", mb);
  int held = open(lock, O_RDWR);
  cr_assert(held >= 0 && flock(held, LOCK_EX) == 0);
  uint64_t saved_fetch = jd_git_fetch_max, saved_total = jd_git_mirrors_max;
  jd_git_fetch_max = 256 * 1024;
  /* One byte short of room for the three and a fetch. */
  jd_git_mirrors_max = pack_bytes(ma) + pack_bytes(mb) + pack_bytes(mc) + jd_git_fetch_max - 1;
  int rc = export(tmp, state, ud, err, sizeof err);
  jd_git_fetch_max = saved_fetch;
  jd_git_mirrors_max = saved_total;
  close(held);
  cr_assert_eq(rc, 0, "%s", err);
  cr_assert(!jd_path_exists(ma), "the least recently used mirror is left");
  cr_assert(jd_path_exists(mb), "the held mirror was removed");
  cr_assert(jd_path_exists(mc), "a mirror was removed past the room needed");
  cr_assert(jd_path_exists(md), "the new mirror is missing");
  free(w);
  t_rmdir(tmp);
}
