// test-labels: unit
/* Hostile git sources, each built by the test: a tree deeper than the
 * source depth limit, a tree wider than the entry cap, a 600 MB blob of
 * zeros (a 600 KB object) as run.Dockerfile and as a file, a 2 MB commit,
 * git servers that trickle a byte every 2 s (http://, git://, https://),
 * a fetch past the byte cap. Nothing here needs the engine: a source is
 * opened before any engine call. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#endif

#include "build/build.h"
#include "build/source_internal.h"
#include "common/tmpfile.h"
#include "common/util.h"
#include "support.h"

/* The kind of the last failure of a source call (common/error.h). */
static jd_fail_kind kind;

/* ---- repositories made with libgit2 ------------------------------------------ */

static git_signature *sig(void) {
  git_signature *s = NULL;
  cr_assert_eq(git_signature_new(&s, "t", "t@t", 1700000000, 0), 0);
  return s;
}

static git_repository *repo_new(const char *dir) {
  git_libgit2_init();
  git_repository *r = NULL;
  cr_assert_eq(git_repository_init(&r, dir, 1), 0, "%s", git_error_last()->message);
  cr_assert_eq(git_repository_set_head(r, "refs/heads/main"), 0);
  return r;
}

static void repo_free(git_repository *r) {
  git_repository_free(r);
  git_libgit2_shutdown();
}

static git_oid blob_text(git_repository *r, const char *text) {
  git_oid id;
  cr_assert_eq(git_blob_create_from_buffer(&id, r, text, strlen(text)), 0);
  return id;
}

/* A blob of size zero bytes, streamed into a loose object (deflated as it
 * is written: the test never holds it). */
static git_oid blob_zeros(git_repository *r, size_t size) {
  git_odb *odb = NULL;
  git_odb_stream *ws = NULL;
  cr_assert_eq(git_repository_odb(&odb, r), 0);
  cr_assert_eq(git_odb_open_wstream(&ws, odb, size, GIT_OBJECT_BLOB), 0);
  static const char zeros[1 << 20];
  for (size_t left = size; left;) {
    size_t n = left < sizeof zeros ? left : sizeof zeros;
    cr_assert_eq(git_odb_stream_write(ws, zeros, n), 0);
    left -= n;
  }
  git_oid id;
  cr_assert_eq(git_odb_stream_finalize_write(&id, ws), 0);
  git_odb_stream_free(ws);
  git_odb_free(odb);
  return id;
}

/* A blob of n random bytes (incompressible). */
static git_oid blob_random(git_repository *r, size_t n) {
  char *buf = malloc(n);
  cr_assert(buf);
  FILE *f = fopen("/dev/urandom", "rb");
  cr_assert(f && fread(buf, 1, n, f) == n);
  fclose(f);
  git_oid id;
  cr_assert_eq(git_blob_create_from_buffer(&id, r, buf, n), 0);
  free(buf);
  return id;
}

/* A tree of entries (name, id, mode) ending with a NULL name. */
typedef struct entry {
  const char *name;
  git_oid id;
  git_filemode_t mode;
} entry;

static git_oid tree_of(git_repository *r, const entry *e) {
  git_treebuilder *tb = NULL;
  cr_assert_eq(git_treebuilder_new(&tb, r, NULL), 0);
  for (; e->name; e++)
    cr_assert_eq(git_treebuilder_insert(NULL, tb, e->name, &e->id, e->mode), 0, "%s",
                 git_error_last()->message);
  git_oid id;
  cr_assert_eq(git_treebuilder_write(&id, tb), 0);
  git_treebuilder_free(tb);
  return id;
}

static git_oid tree_with_dockerfile(git_repository *r, const char *name, git_oid id,
                                    git_filemode_t mode) {
  entry e[] = {{"run.Dockerfile", blob_text(r, "FROM scratch\n"), GIT_FILEMODE_BLOB},
               {name, id, mode},
               {NULL}};
  return tree_of(r, e);
}

/* Commits tree on refs/heads/main (after its current commit, if any). */
static git_oid commit_on_main(git_repository *r, git_oid tree_id, const char *msg) {
  git_tree *tree = NULL;
  git_commit *parent = NULL;
  git_oid head, id;
  cr_assert_eq(git_tree_lookup(&tree, r, &tree_id), 0);
  if (git_reference_name_to_id(&head, r, "refs/heads/main") == 0)
    cr_assert_eq(git_commit_lookup(&parent, r, &head), 0);
  git_signature *s = sig();
  const git_commit *parents[] = {parent};
  cr_assert_eq(
      git_commit_create(&id, r, "refs/heads/main", s, s, NULL, msg, tree, parent ? 1 : 0, parents),
      0, "%s", git_error_last()->message);
  git_signature_free(s);
  git_commit_free(parent);
  git_tree_free(tree);
  return id;
}

static long peak_rss_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  cr_assert(f);
  char line[256];
  long kb = -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
      break;
  fclose(f);
  return kb;
}

/* The peak RSS of this process stayed under 100 MB (VmHWM). */
static void peak_rss_under_100_mb(long before) {
  long peak = peak_rss_kb();
  cr_assert_lt(peak, 100 * 1024, "peak RSS %ld kB (before: %ld kB)", peak, before);
  cr_log_info("peak RSS %ld kB (%ld kB before the judger read the repository)", peak, before);
}

static jd_source *open_local(const char *repo_dir, const char *state, const char *ref) {
  jd_program_ref pr = {
      .domain = JD_DOMAIN_AI, .id = "hostile-git", .git_url = repo_dir, .git_ref = ref};
  jd_source *s = NULL;
  char err[1024] = "";
  cr_assert_eq(jd_source_open(&s, state, &pr, &kind, err, sizeof err), 0, "%s", err);
  return s;
}

/* Runs the build of url (a path or a URL) at ref, as far as it goes without
 * an engine: the source is opened before any engine call. 0 or -1. */
static int build_run(jd_build_result **r, const char *state, const char *url, const char *ref,
                     int64_t wall_ms, dk_cancel *cancel) {
  /* The hostile servers are the test's own, on loopback: this host lets
   * the judger fetch there (fetch_private; tests/judger/build/hostile/
   * fetch_private.c shows the default refusing it). */
  jd_ctx ctx = {.state_dir = state, .policy = {.fetch_private = true}};
  jd_build_request req = {
      .ref = {.domain = JD_DOMAIN_AI, .id = "hostile-git", .git_url = url, .git_ref = ref},
      .limits = {.wall_ms = wall_ms},
      .cancel = cancel};
  return jd_build_run(r, &ctx, &req);
}

/* build_run() whose outcome is CE with a message holding what (and what2,
 * unless NULL). */
static void build_is_ce(const char *state, const char *url, const char *ref, const char *what,
                        const char *what2) {
  jd_build_result *res = NULL;
  cr_assert_eq(build_run(&res, state, url, ref, 0, NULL), 0);
  cr_assert_eq(res->status, JD_BUILD_STATUS_FAILED, "%s", res->message);
  cr_assert_eq(res->verdict, JD_VERDICT_CE, "%s", res->message);
  cr_assert(strstr(res->message, what), "%s", res->message);
  cr_assert(!what2 || strstr(res->message, what2), "%s", res->message);
  cr_log_info("%s: %s", url, res->message);
  jd_build_result_free(res);
}

/* A commit message of n bytes. */
static char *big_message(size_t n) {
  char *msg = malloc(n + 1);
  cr_assert(msg);
  memset(msg, 'x', n);
  msg[n] = '\0';
  return msg;
}

/* A socket listening on 127.0.0.1 at a port of the kernel's choice. */
static int listen_local(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof a;
  cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  cr_assert_eq(listen(fd, 16), 0);
  cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
  *port = ntohs(a.sin_port);
  return fd;
}

/* ---- deep and wide trees ------------------------------------------------------- */

/* root: run.Dockerfile and d/d/.../d/f, levels directories deep. */
static void deep_repo(const char *dir, int levels) {
  git_repository *r = repo_new(dir);
  entry leaf[] = {{"f", blob_text(r, "deep\n"), GIT_FILEMODE_BLOB}, {NULL}};
  git_oid t = tree_of(r, leaf);
  for (int i = 1; i < levels; i++) {
    entry up[] = {{"d", t, GIT_FILEMODE_TREE}, {NULL}};
    t = tree_of(r, up);
  }
  commit_on_main(r, tree_with_dockerfile(r, "d", t, GIT_FILEMODE_TREE), "deep");
  repo_free(r);
}

Test(git_hostile, tree_1500_levels_deep_is_refused_naming_depth_and_limit) {
  char *tmp = t_tmpdir("gitdeep");
  char repo[4200];
  snprintf(repo, sizeof repo, "%s/repo.git", tmp);
  deep_repo(repo, 1500);
  jd_source *s = open_local(repo, tmp, "main");
  char err[1024] = "";
  cr_assert_eq(jd_source_materialize(s, &kind, err, sizeof err), -1, "%s", err);
  cr_assert_eq(kind, JD_FAIL_PROGRAM);
  cr_assert(strstr(err, "deeper than 64 directory levels") && strstr(err, "level 65"), "%s", err);
  jd_source_free(s);
  t_rmdir(tmp);
}

Test(git_hostile, tree_64_levels_deep_is_exported) {
  char *tmp = t_tmpdir("git64");
  char repo[4200];
  snprintf(repo, sizeof repo, "%s/repo.git", tmp);
  deep_repo(repo, 64);
  jd_source *s = open_local(repo, tmp, "main");
  char err[1024] = "";
  cr_assert_eq(jd_source_materialize(s, &kind, err, sizeof err), 0, "%s", err);
  char path[4200] = "";
  int n = snprintf(path, sizeof path, "%s", s->dir);
  for (int i = 0; i < 64; i++)
    n += snprintf(path + n, sizeof path - (size_t)n, "/d");
  snprintf(path + n, sizeof path - (size_t)n, "/f");
  struct stat st;
  cr_assert_eq(stat(path, &st), 0, "%s: %s", path, strerror(errno));
  jd_source_free(s);
  t_rmdir(tmp);
}

Test(git_hostile, tree_with_more_entries_than_the_cap_is_refused_before_writing) {
  char *tmp = t_tmpdir("gitwide");
  char repo[4200];
  snprintf(repo, sizeof repo, "%s/repo.git", tmp);
  git_repository *r = repo_new(repo);
  git_oid empty = blob_text(r, "");
  git_treebuilder *tb = NULL;
  cr_assert_eq(git_treebuilder_new(&tb, r, NULL), 0);
  cr_assert_eq(git_treebuilder_insert(NULL, tb, "run.Dockerfile", &empty, GIT_FILEMODE_BLOB), 0);
  for (int i = 0; i < 200 * 1000; i++) {
    char name[32];
    snprintf(name, sizeof name, "f%06d", i);
    cr_assert_eq(git_treebuilder_insert(NULL, tb, name, &empty, GIT_FILEMODE_BLOB), 0);
  }
  git_oid t;
  cr_assert_eq(git_treebuilder_write(&t, tb), 0);
  git_treebuilder_free(tb);
  commit_on_main(r, t, "wide");
  repo_free(r);
  jd_source *s = open_local(repo, tmp, "main");
  char err[1024] = "";
  cr_assert_eq(jd_source_materialize(s, &kind, err, sizeof err), -1, "%s", err);
  cr_assert_eq(kind, JD_FAIL_PROGRAM);
  cr_assert(strstr(err, "more than 200000 entries"), "%s", err);
  /* Refused before anything was written. */
  struct stat st;
  char f[4200];
  snprintf(f, sizeof f, "%s/f000000", s->work_dir);
  cr_assert_neq(lstat(f, &st), 0);
  jd_source_free(s);
  t_rmdir(tmp);
}

/* ---- blobs and commits too large, refused from their headers ----------------- */

Test(git_hostile, blob_of_600_mb_is_refused_before_it_is_inflated) {
  char *tmp = t_tmpdir("gitblob");
  char repo[4200];
  snprintf(repo, sizeof repo, "%s/repo.git", tmp);
  git_repository *r = repo_new(repo);
  git_oid big = blob_zeros(r, (size_t)600 * 1000 * 1000);
  /* branch "df": the blob is run.Dockerfile; branch main: a file beside it */
  entry df[] = {{"run.Dockerfile", big, GIT_FILEMODE_BLOB}, {NULL}};
  git_oid c = commit_on_main(r, tree_of(r, df), "big dockerfile");
  git_commit *cc = NULL;
  git_reference *b = NULL;
  cr_assert_eq(git_commit_lookup(&cc, r, &c), 0);
  cr_assert_eq(git_branch_create(&b, r, "df", cc, 0), 0);
  git_reference_free(b);
  git_commit_free(cc);
  commit_on_main(r, tree_with_dockerfile(r, "model.bin", big, GIT_FILEMODE_BLOB), "big file");
  repo_free(r);
  long before = peak_rss_kb();

  /* As run.Dockerfile, through the build: CE before any engine call. */
  build_is_ce(tmp, repo, "df", "run.Dockerfile is larger than 1048576 bytes", NULL);

  /* As a file of the tree, when it is exported. */
  jd_source *s = open_local(repo, tmp, "main");
  char err[1024] = "";
  cr_assert_eq(jd_source_materialize(s, &kind, err, sizeof err), -1, "%s", err);
  cr_assert_eq(kind, JD_FAIL_PROGRAM);
  cr_assert(strstr(err, "file 'model.bin' is larger than 104857600 bytes"), "%s", err);
  jd_source_free(s);

  peak_rss_under_100_mb(before);
  t_rmdir(tmp);
}

Test(git_hostile, commit_of_2_mb_is_refused_before_it_is_inflated) {
  char *tmp = t_tmpdir("gitcommit");
  char repo[4200];
  snprintf(repo, sizeof repo, "%s/repo.git", tmp);
  git_repository *r = repo_new(repo);
  char *msg = big_message((size_t)2 * 1024 * 1024);
  commit_on_main(r, tree_with_dockerfile(r, "a", blob_text(r, "a\n"), GIT_FILEMODE_BLOB), msg);
  free(msg);
  repo_free(r);
  jd_program_ref pr = {
      .domain = JD_DOMAIN_AI, .id = "hostile-git", .git_url = repo, .git_ref = "main"};
  jd_source *s = NULL;
  char err[1024] = "";
  cr_assert_eq(jd_source_open(&s, tmp, &pr, &kind, err, sizeof err), -1, "%s", err);
  cr_assert_eq(kind, JD_FAIL_PROGRAM);
  cr_assert(strstr(err, "is larger than 1048576 bytes"), "%s", err);
  t_rmdir(tmp);
}

/* ---- servers that trickle ------------------------------------------------------ */

/* A TCP server on 127.0.0.1 that reads whatever its clients send and
 * answers each with one byte of script every 2 s (the last byte again
 * once the script is spent). */
typedef struct trickle {
  int lfd, port;
  const char *script;
  size_t len;
  int wake[2];
  atomic_int conns;
  pthread_t th;
} trickle;

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *trickle_main(void *ud) {
  trickle *t = ud;
  int fds[32];
  size_t pos[32];
  int n = 0;
  int64_t tick = now_ms() + 2000;
  for (;;) {
    struct pollfd p[34] = {{.fd = t->lfd, .events = POLLIN}, {.fd = t->wake[0], .events = POLLIN}};
    for (int i = 0; i < n; i++)
      p[2 + i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
    int64_t left = tick - now_ms();
    int rc = poll(p, (nfds_t)(2 + n), left < 0 ? 0 : (int)left);
    if (rc < 0 && errno != EINTR)
      break;
    if (p[1].revents)
      break;
    if (now_ms() >= tick) {
      for (int i = 0; i < n; i++) {
        size_t at = pos[i] < t->len ? pos[i]++ : t->len - 1;
        (void)send(fds[i], t->script + at, 1, MSG_NOSIGNAL);
      }
      tick = now_ms() + 2000;
    }
    for (int i = n - 1; i >= 0; i--) {
      if (!(p[2 + i].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      char junk[4096];
      if (recv(fds[i], junk, sizeof junk, MSG_DONTWAIT) <= 0) {
        close(fds[i]);
        fds[i] = fds[n - 1];
        pos[i] = pos[n - 1];
        n--;
      }
    }
    if ((p[0].revents & POLLIN) && n < 32) {
      int c = accept4(t->lfd, NULL, NULL, SOCK_CLOEXEC);
      if (c >= 0) {
        fds[n] = c;
        pos[n++] = 0;
        atomic_fetch_add(&t->conns, 1);
      }
    }
  }
  for (int i = 0; i < n; i++)
    close(fds[i]);
  return NULL;
}

static trickle *trickle_start(const char *script, size_t len) {
  trickle *t = calloc(1, sizeof *t);
  cr_assert(t);
  t->script = script;
  t->len = len;
  t->lfd = listen_local(&t->port);
  cr_assert_eq(pipe(t->wake), 0);
  cr_assert_eq(pthread_create(&t->th, NULL, trickle_main, t), 0);
  return t;
}

static void trickle_stop(trickle *t) {
  cr_assert_eq(write(t->wake[1], "x", 1), 1);
  pthread_join(t->th, NULL);
  close(t->lfd);
  close(t->wake[0]);
  close(t->wake[1]);
  free(t);
}

static const char HTTP_SCRIPT[] =
    "HTTP/1.1 200 OK\r\nContent-Type: application/x-git-upload-pack-advertisement\r\n\r\n";
static const char GIT_SCRIPT[] = "001e# service=git-upload-pack\n0000";
/* A TLS record header announcing 16 KiB of handshake, then its body. */
static const char TLS_SCRIPT[] = "\x16\x03\x03\x40\x00"
                                 "AAAAAAAA";

/* The mirror of url is not locked, and no half-made mirror is left. */
static void mirror_released(const char *state, const char *url) {
  char path[4200], lock[4300];
  cr_assert_eq(jd_git_mirror_path(path, sizeof path, state, url), 0);
  snprintf(lock, sizeof lock, "%s.lock", path);
  int fd = open(lock, O_RDWR | O_CLOEXEC);
  cr_assert_geq(fd, 0, "%s: %s", lock, strerror(errno));
  cr_assert_eq(flock(fd, LOCK_EX | LOCK_NB), 0, "the mirror's lock is still held");
  close(fd);
  struct stat st;
  cr_assert_neq(stat(path, &st), 0, "a half-made mirror is left at %s", path);
}

static void trickle_ends_at_wall_time(const char *scheme, const char *script, size_t len) {
  char *tmp = t_tmpdir("gittrickle");
  trickle *t = trickle_start(script, len);
  char url[256];
  snprintf(url, sizeof url, "%s://127.0.0.1:%d/repo.git", scheme, t->port);
  int64_t t0 = now_ms();
  jd_build_result *r = NULL;
  cr_assert_eq(build_run(&r, tmp, url, NULL, 5000, NULL), 0);
  int64_t took = now_ms() - t0;
  cr_assert_eq(r->status, JD_BUILD_STATUS_FAILED, "%s", r->message);
  cr_assert_eq(r->verdict, JD_VERDICT_TLE, "%s", r->message);
  cr_assert_str_eq(r->stage, "source");
  cr_assert(strstr(r->message, "passed the build's wall time"), "%s", r->message);
  cr_assert_geq(took, 4900, "ended after %lld ms", (long long)took);
  cr_assert_lt(took, 8000, "ended after %lld ms", (long long)took);
  cr_assert_geq(atomic_load(&t->conns), 1, "the server never saw the fetch");
  cr_log_info("%s: TLE after %lld ms: %s", scheme, (long long)took, r->message);
  jd_build_result_free(r);
  mirror_released(tmp, url);
  trickle_stop(t);
  t_rmdir(tmp);
}

Test(git_hostile, trickling_http_server_ends_at_the_builds_wall_time) {
  trickle_ends_at_wall_time("http", HTTP_SCRIPT, sizeof HTTP_SCRIPT - 1);
}

Test(git_hostile, trickling_git_daemon_ends_at_the_builds_wall_time) {
  trickle_ends_at_wall_time("git", GIT_SCRIPT, sizeof GIT_SCRIPT - 1);
}

Test(git_hostile, trickling_tls_handshake_ends_at_the_builds_wall_time) {
  trickle_ends_at_wall_time("https", TLS_SCRIPT, sizeof TLS_SCRIPT - 1);
}

/* ssh: libssh2 reads the banner itself; the watcher shuts the socket. */
static const char SSH_SCRIPT[] = "SSH-2.0-OpenSSH_9.2\r\n";

Test(git_hostile, trickling_ssh_banner_ends_at_the_builds_wall_time) {
#ifdef __SANITIZE_ADDRESS__
  /* libgit2 1.5's ssh transport leaks 32 bytes of its own when a connect
   * fails: not this test's subject (the socket is checked for leaks by the
   * http, git and https cases). */
  __lsan_disable();
#endif
  trickle_ends_at_wall_time("ssh", SSH_SCRIPT, sizeof SSH_SCRIPT - 1);
#ifdef __SANITIZE_ADDRESS__
  __lsan_enable();
#endif
}

typedef struct build_thread {
  const char *state, *url;
  int64_t wall_ms;
  dk_cancel *cancel;
  jd_build_result *r;
  int64_t took;
} build_thread;

static void *build_main(void *ud) {
  build_thread *b = ud;
  int64_t t0 = now_ms();
  if (build_run(&b->r, b->state, b->url, NULL, b->wall_ms, b->cancel) != 0)
    b->r = NULL;
  b->took = now_ms() - t0;
  return NULL;
}

static void wait_conns(trickle *t, int n) {
  int64_t until = now_ms() + 10000;
  while (atomic_load(&t->conns) < n && now_ms() < until)
    usleep(10 * 1000);
  cr_assert_geq(atomic_load(&t->conns), n, "the server never saw the fetch");
}

Test(git_hostile, second_build_of_a_stuck_url_waits_for_the_lock_only_until_its_wall_time) {
  char *tmp = t_tmpdir("gitlock");
  trickle *t = trickle_start(HTTP_SCRIPT, sizeof HTTP_SCRIPT - 1);
  char url[256];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/repo.git", t->port);
  build_thread a = {.state = tmp, .url = url, .wall_ms = 6000};
  build_thread b = {.state = tmp, .url = url, .wall_ms = 2000};
  pthread_t ta, tb;
  cr_assert_eq(pthread_create(&ta, NULL, build_main, &a), 0);
  wait_conns(t, 1); /* a holds the mirror's lock and is fetching */
  cr_assert_eq(pthread_create(&tb, NULL, build_main, &b), 0);
  pthread_join(tb, NULL);
  cr_assert(b.r);
  cr_assert_eq(b.r->verdict, JD_VERDICT_TLE, "%s", b.r->message);
  cr_assert(strstr(b.r->message, "waiting for another task fetching"), "%s", b.r->message);
  cr_assert_lt(b.took, 4000, "the waiter ended after %lld ms", (long long)b.took);
  pthread_join(ta, NULL);
  cr_assert(a.r);
  cr_assert_eq(a.r->verdict, JD_VERDICT_TLE, "%s", a.r->message);
  cr_assert_lt(a.took, 9000, "the fetch ended after %lld ms", (long long)a.took);
  cr_assert_eq(atomic_load(&t->conns), 1, "the waiter fetched too");
  jd_build_result_free(a.r);
  jd_build_result_free(b.r);
  mirror_released(tmp, url);
  trickle_stop(t);
  t_rmdir(tmp);
}

Test(git_hostile, cancel_stops_a_stuck_fetch_at_once) {
  char *tmp = t_tmpdir("gitcancel");
  trickle *t = trickle_start(GIT_SCRIPT, sizeof GIT_SCRIPT - 1);
  char url[256];
  snprintf(url, sizeof url, "git://127.0.0.1:%d/repo.git", t->port);
  dk_cancel *c = NULL;
  cr_assert_eq(dk_cancel_new(&c), 0);
  build_thread a = {.state = tmp, .url = url, .wall_ms = 120000, .cancel = c};
  pthread_t ta;
  cr_assert_eq(pthread_create(&ta, NULL, build_main, &a), 0);
  wait_conns(t, 1);
  int64_t fired = now_ms();
  dk_cancel_fire(c);
  pthread_join(ta, NULL);
  int64_t after = now_ms() - fired;
  cr_assert(a.r);
  cr_assert_eq(a.r->status, JD_BUILD_STATUS_ERROR, "%s", a.r->message);
  cr_assert_eq(a.r->verdict, JD_VERDICT_UE, "%s", a.r->message);
  cr_assert(strstr(a.r->message, "cancelled"), "%s", a.r->message);
  cr_assert_lt(after, 1000, "ended %lld ms after the cancel", (long long)after);
  jd_build_result_free(a.r);
  dk_cancel_free(c);
  mirror_released(tmp, url);
  trickle_stop(t);
  t_rmdir(tmp);
}

/* ---- the byte cap, against a real git daemon ---------------------------------- */

static pid_t git_daemon(const char *base, int *port) {
  close(listen_local(port)); /* a free port, for git daemon to listen on */
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                          .sin_port = htons((uint16_t)*port)};
  char bp[4300], pp[64];
  snprintf(bp, sizeof bp, "--base-path=%s", base);
  snprintf(pp, sizeof pp, "--port=%d", *port);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM); /* a failed test leaves no daemon behind */
    int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 1);
    dup2(devnull, 2);
    execlp("git", "git", "daemon", "--reuseaddr", "--export-all", bp, "--listen=127.0.0.1", pp,
           base, (char *)NULL);
    _exit(127);
  }
  /* Ready once it accepts a connection. */
  int64_t until = now_ms() + 15000;
  for (;;) {
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int ok = connect(c, (struct sockaddr *)&a, sizeof a) == 0;
    close(c);
    if (ok)
      break;
    cr_assert_lt(now_ms(), until, "git daemon did not start");
    cr_assert_eq(waitpid(pid, NULL, WNOHANG), 0, "git daemon exited");
    usleep(20 * 1000);
  }
  return pid;
}

static char *commit_of(const char *state, const char *url) {
  jd_program_ref pr = {
      .domain = JD_DOMAIN_AI, .id = "hostile-git", .git_url = url, .git_ref = "main"};
  jd_source *s = NULL;
  char err[1024] = "";
  cr_assert_eq(jd_source_open(&s, state, &pr, &kind, err, sizeof err), 0, "%s", err);
  char *c = strdup(s->commit);
  jd_source_free(s);
  return c;
}

Test(git_hostile, fetch_past_the_byte_cap_is_refused_and_the_mirror_still_works) {
  char *tmp = t_tmpdir("gitcap");
  char base[4200], repo[4300], state[4300], url[256];
  snprintf(base, sizeof base, "%s/srv", tmp);
  snprintf(repo, sizeof repo, "%s/repo.git", base);
  snprintf(state, sizeof state, "%s/state", tmp);
  cr_assert_eq(mkdir(base, 0755), 0);
  git_repository *r = repo_new(repo);
  git_oid c1 = commit_on_main(
      r, tree_with_dockerfile(r, "a.c", blob_text(r, "int x;\n"), GIT_FILEMODE_BLOB), "small");
  int port = 0;
  pid_t d = git_daemon(base, &port);
  snprintf(url, sizeof url, "git://127.0.0.1:%d/repo.git", port);

  /* A first fetch, under the cap. */
  char hex[GIT_OID_HEXSZ + 1];
  char *got = commit_of(state, url);
  cr_assert_str_eq(got, git_oid_tostr(hex, sizeof hex, &c1));
  free(got);

  /* A commit of 1 MiB of random bytes, fetched with a 256 KiB cap. */
  git_oid c2 = commit_on_main(
      r, tree_with_dockerfile(r, "noise.bin", blob_random(r, 1 << 20), GIT_FILEMODE_BLOB), "big");
  jd_git_fetch_max = 256 * 1024;
  jd_program_ref pr = {
      .domain = JD_DOMAIN_AI, .id = "hostile-git", .git_url = url, .git_ref = "main"};
  jd_source *s = NULL;
  char err[1024] = "";
  cr_assert_eq(jd_source_open(&s, state, &pr, &kind, err, sizeof err), -1, "%s", err);
  cr_assert_eq(kind, JD_FAIL_PROGRAM);
  cr_assert(strstr(err, "more than 262144 bytes received"), "%s", err);
  /* Nothing of the interrupted pack is left on disk: the first fetch's
   * pack and its index only. */
  char mirror[4300], packdir[4400];
  cr_assert_eq(jd_git_mirror_path(mirror, sizeof mirror, state, url), 0);
  snprintf(packdir, sizeof packdir, "%s/objects/pack", mirror);
  DIR *dir = opendir(packdir);
  cr_assert(dir, "%s", packdir);
  int files = 0;
  for (struct dirent *de; (de = readdir(dir));)
    if (de->d_name[0] != '.') {
      files++;
      cr_assert(!strncmp(de->d_name, "pack-", 5), "left in the mirror: %s", de->d_name);
    }
  closedir(dir);
  cr_assert_eq(files, 2, "%d files in %s", files, packdir);

  /* The interrupted fetch left the mirror usable: with the cap back, the
   * next fetch gets the new commit. */
  jd_git_fetch_max = (uint64_t)512 * 1024 * 1024;
  got = commit_of(state, url);
  cr_assert_str_eq(got, git_oid_tostr(hex, sizeof hex, &c2));
  free(got);

  repo_free(r);
  kill(d, SIGTERM);
  waitpid(d, NULL, 0);
  t_rmdir(tmp);
}

Test(git_hostile, rev_parse_expressions_read_objects_through_the_caps) {
  char *tmp = t_tmpdir("gitrevparse");
  char repo[4200];
  snprintf(repo, sizeof repo, "%s/repo.git", tmp);
  git_repository *r = repo_new(repo);
  char *msg = big_message((size_t)2 * 1024 * 1024);
  git_oid t = tree_with_dockerfile(r, "a", blob_text(r, "a\n"), GIT_FILEMODE_BLOB);
  git_oid c1 = commit_on_main(r, t, "first");
  commit_on_main(r, t, msg); /* main~1: reaching main~2 (c1) parses it */
  free(msg);
  git_oid c3 = commit_on_main(r, t, "third");
  repo_free(r);
  char hex[GIT_OID_HEXSZ + 1];
  /* An expression over small commits resolves as before. */
  jd_source *s = open_local(repo, tmp, "main^{commit}");
  cr_assert_str_eq(s->commit, git_oid_tostr(hex, sizeof hex, &c3));
  jd_source_free(s);
  /* One that walks the 2 MB commit is refused, never inflating it (read
   * whole, it would resolve to c1). */
  jd_program_ref pr = {
      .domain = JD_DOMAIN_AI, .id = "hostile-git", .git_url = repo, .git_ref = "main~2"};
  char err[1024] = "";
  cr_assert_eq(jd_source_open(&s, tmp, &pr, &kind, err, sizeof err), -1, "%s", err);
  cr_assert_eq(kind, JD_FAIL_PROGRAM);
  cr_assert_null(s, "resolved to c1 %s", git_oid_tostr(hex, sizeof hex, &c1));
  t_rmdir(tmp);
}

Test(git_hostile, blob_of_300_mb_fetched_from_a_server_stays_under_the_rss_cap) {
  char *tmp = t_tmpdir("gitblobnet");
  char base[4200], repo[4300], state[4300], url[256];
  snprintf(base, sizeof base, "%s/srv", tmp);
  snprintf(repo, sizeof repo, "%s/repo.git", base);
  snprintf(state, sizeof state, "%s/state", tmp);
  cr_assert_eq(mkdir(base, 0755), 0);
  git_repository *r = repo_new(repo);
  /* 300 MB: three times the RSS cap, and half the work of the local
   * case for git daemon and the indexer (both inflate it to hash it). */
  git_oid big = blob_zeros(r, (size_t)300 * 1000 * 1000);
  entry df[] = {{"run.Dockerfile", big, GIT_FILEMODE_BLOB}, {NULL}};
  commit_on_main(r, tree_of(r, df), "big dockerfile");
  repo_free(r);
  int port = 0;
  pid_t d = git_daemon(base, &port);
  snprintf(url, sizeof url, "git://127.0.0.1:%d/repo.git", port);
  long before = peak_rss_kb();
  build_is_ce(state, url, "main", "run.Dockerfile is larger than 1048576 bytes", NULL);
  peak_rss_under_100_mb(before);
  kill(d, SIGTERM);
  waitpid(d, NULL, 0);
  t_rmdir(tmp);
}

/* ---- a delta over a huge base ------------------------------------------------- */

/* Writes into dir a pack (and its index) of two blobs: n zero bytes, and
 * "FROM scratch\n" as a delta over them (the delta's header says 13 bytes;
 * applying it inflates the base whole). Prints the small blob's id. Written
 * by python3's zlib: the C tests link no zlib of their own. */
static const char DELTA_PACK_PY[] =
    "import sys, zlib, hashlib, struct\n"
    "out, n = sys.argv[1], int(sys.argv[2])\n"
    "df = b'FROM scratch\\n'\n"
    "def objhdr(t, size):\n"
    "    c = (t << 4) | (size & 15); size >>= 4; b = bytearray()\n"
    "    while size:\n"
    "        b.append(c | 0x80); c = size & 0x7f; size >>= 7\n"
    "    b.append(c); return bytes(b)\n"
    "def varint(v):\n"
    "    b = bytearray()\n"
    "    while True:\n"
    "        c = v & 0x7f; v >>= 7\n"
    "        if not v:\n"
    "            b.append(c); return bytes(b)\n"
    "        b.append(c | 0x80)\n"
    "def oid(kind, body):\n"
    "    return hashlib.sha1(b'%s %d\\0' % (kind, len(body)) + body).digest()\n"
    "chunk = bytes(1 << 20)\n"
    "oid2 = oid(b'blob', df)\n"
    "tree = b'100644 run.Dockerfile\\0' + oid2\n"
    "commit = b'tree %s\\nauthor t <t@t> 0 +0000\\ncommitter t <t@t> 0 +0000\\n\\nx\\n' % "
    "oid(b'tree', tree).hex().encode()\n"
    "full = len(sys.argv) > 3\n"
    "ents = []\n"
    "pack = bytearray(b'PACK' + struct.pack('>II', 2, 4 if full else 2))\n"
    "def put(o, e):\n"
    "    ents.append((o, zlib.crc32(e), len(pack))); pack.extend(e)\n"
    "if full:\n"
    "    put(oid(b'commit', commit), objhdr(1, len(commit)) + zlib.compress(commit))\n"
    "    put(oid(b'tree', tree), objhdr(2, len(tree)) + zlib.compress(tree))\n"
    "off1 = len(pack)\n"
    "co = zlib.compressobj(1); body = bytearray(); left = n\n"
    "h = hashlib.sha1(b'blob %d\\0' % n)\n"
    "while left:\n"
    "    k = min(left, len(chunk)); body += co.compress(chunk[:k]); h.update(chunk[:k]); left -= "
    "k\n"
    "body += co.flush()\n"
    "put(h.digest(), objhdr(3, n) + bytes(body))\n"
    "off2 = len(pack)\n"
    "delta = varint(n) + varint(len(df)) + bytes([len(df)]) + df\n"
    "ofs = off2 - off1; ob = bytearray([ofs & 127]); ofs >>= 7\n"
    "while ofs:\n"
    "    ofs -= 1; ob.insert(0, 128 | (ofs & 127)); ofs >>= 7\n"
    "put(oid2, objhdr(6, len(delta)) + bytes(ob) + zlib.compress(delta))\n"
    "psum = hashlib.sha1(pack).digest(); pack += psum\n"
    "ents.sort()\n"
    "idx = bytearray(b'\\377tOc' + struct.pack('>I', 2))\n"
    "for i in range(256):\n"
    "    idx += struct.pack('>I', sum(1 for o, _, _ in ents if o[0] <= i))\n"
    "for o, _, _ in ents: idx += o\n"
    "for _, c, _ in ents: idx += struct.pack('>I', c & 0xffffffff)\n"
    "for _, _, f in ents: idx += struct.pack('>I', f)\n"
    "idx += psum; idx += hashlib.sha1(idx).digest()\n"
    "open('%s/pack-%s.pack' % (out, psum.hex()), 'wb').write(pack)\n"
    "open('%s/pack-%s.idx' % (out, psum.hex()), 'wb').write(idx)\n"
    "print(oid2.hex()); print(oid(b'commit', commit).hex()); print('%s/pack-%s.pack' % (out, "
    "psum.hex()))\n";

/* What DELTA_PACK_PY made. */
typedef struct delta_pack_out {
  git_oid dockerfile; /* the 13-byte blob, a delta */
  char commit[64];    /* with full: a commit of a tree holding it */
  char pack[4600];    /* the pack's path */
} delta_pack_out;

/* Writes the pack into dir: the two blobs, and with full a commit and its
 * tree before them (a whole history to serve). */
static delta_pack_out delta_pack(const char *tmp, const char *dir, size_t n, bool full) {
  char script[4300], cmd[9000];
  snprintf(script, sizeof script, "%s/delta_pack.py", tmp);
  cr_assert_eq(jd_write_file(script, DELTA_PACK_PY, sizeof DELTA_PACK_PY - 1), 0);
  snprintf(cmd, sizeof cmd, "python3 %s %s %zu%s", script, dir, n, full ? " full" : "");
  FILE *p = popen(cmd, "r");
  cr_assert(p);
  char hex[128] = "";
  delta_pack_out out = {0};
  cr_assert(fgets(hex, sizeof hex, p), "%s printed nothing", cmd);
  cr_assert(fgets(out.commit, sizeof out.commit, p), "%s printed no commit", cmd);
  cr_assert(fgets(out.pack, sizeof out.pack, p), "%s printed no pack", cmd);
  cr_assert_eq(pclose(p), 0, "%s failed", cmd);
  hex[strcspn(hex, "\n")] = '\0';
  out.commit[strcspn(out.commit, "\n")] = '\0';
  out.pack[strcspn(out.pack, "\n")] = '\0';
  cr_assert_eq(git_oid_fromstr(&out.dockerfile, hex), 0, "%s", hex);
  return out;
}

Test(git_hostile, delta_over_a_1_gib_base_is_refused_when_read) {
  char *tmp = t_tmpdir("gitdelta");
  char repo[4300], state[4300];
  snprintf(repo, sizeof repo, "%s/repo.git", tmp);
  snprintf(state, sizeof state, "%s/state", tmp);
  git_repository *r = repo_new(repo);
  char packdir[4400];
  snprintf(packdir, sizeof packdir, "%s/objects/pack", repo);
  git_oid df = delta_pack(tmp, packdir, (size_t)1 << 30, false).dockerfile;
  /* The pack came in after the repository was opened. */
  git_odb *odb = NULL;
  cr_assert_eq(git_repository_odb(&odb, r), 0);
  cr_assert_eq(git_odb_refresh(odb), 0);
  size_t size = 0;
  git_object_t type = GIT_OBJECT_INVALID;
  cr_assert_eq(git_odb_read_header(&size, &type, odb, &df), 0, "%s", git_error_last()->message);
  cr_assert_eq(size, 13);
  git_odb_free(odb);
  entry e[] = {{"run.Dockerfile", df, GIT_FILEMODE_BLOB}, {NULL}};
  commit_on_main(r, tree_of(r, e), "delta");
  repo_free(r);
  long before = peak_rss_kb();

  /* Read in place: the header passes (13 bytes), applying the delta does not. */
  build_is_ce(state, repo, "main",
              "run.Dockerfile: an object needs more than 128 MiB of memory at once", NULL);

  peak_rss_under_100_mb(before);
  t_rmdir(tmp);
}

/* A git:// server that answers every fetch with one pack as it is (a real
 * server's pack-objects would rewrite it): protocol v0, no side band. */
typedef struct pack_server {
  int lfd, port;
  const char *commit;
  char *pack;
  size_t len;
  pthread_t th;
  atomic_bool stop;
} pack_server;

/* Reads one pkt-line into buf (NUL-terminated): its length, 0 for a flush,
 * -1 at the end of the stream. */
static int pkt_read(int fd, char *buf, size_t cap) {
  char hdr[5] = "";
  if (recv(fd, hdr, 4, MSG_WAITALL) != 4)
    return -1;
  int n = (int)strtol(hdr, NULL, 16);
  if (n == 0)
    return 0;
  if (n < 4 || (size_t)(n - 4) >= cap || recv(fd, buf, (size_t)n - 4, MSG_WAITALL) != n - 4)
    return -1;
  buf[n - 4] = '\0';
  return n - 4;
}

static void pkt_write(int fd, const char *data, size_t len) {
  char hdr[5];
  snprintf(hdr, sizeof hdr, "%04zx", len + 4);
  (void)send(fd, hdr, 4, MSG_NOSIGNAL);
  (void)send(fd, data, len, MSG_NOSIGNAL);
}

static void *pack_server_main(void *ud) {
  pack_server *ps = ud;
  while (!atomic_load(&ps->stop)) {
    int c = accept4(ps->lfd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0)
      break;
    char buf[65536];
    if (pkt_read(c, buf, sizeof buf) > 0) { /* git-upload-pack /repo.git\0host=...\0 */
      char line[256];
      int n = snprintf(line, sizeof line, "%s HEAD%cofs-delta\n", ps->commit, '\0');
      pkt_write(c, line, (size_t)n);
      n = snprintf(line, sizeof line, "%s refs/heads/main\n", ps->commit);
      pkt_write(c, line, (size_t)n);
      (void)send(c, "0000", 4, MSG_NOSIGNAL);
      int got;
      while ((got = pkt_read(c, buf, sizeof buf)) >= 0)
        if (got > 0 && !strncmp(buf, "done", 4)) {
          (void)send(c, "0008NAK\n", 8, MSG_NOSIGNAL);
          (void)send(c, ps->pack, ps->len, MSG_NOSIGNAL);
          break;
        }
    }
    close(c);
  }
  return NULL;
}

Test(git_hostile, delta_over_a_1_gib_base_is_refused_when_fetched) {
  char *tmp = t_tmpdir("gitdeltanet");
  char state[4300];
  snprintf(state, sizeof state, "%s/state", tmp);
  delta_pack_out dp = delta_pack(tmp, tmp, (size_t)1 << 30, true);
  pack_server ps = {.commit = dp.commit};
  cr_assert_eq(jd_read_file(&ps.pack, &ps.len, dp.pack, 64 << 20), 0, "%s", dp.pack);
  ps.lfd = listen_local(&ps.port);
  cr_assert_eq(pthread_create(&ps.th, NULL, pack_server_main, &ps), 0);
  char url[256];
  snprintf(url, sizeof url, "git://127.0.0.1:%d/repo.git", ps.port);
  long before = peak_rss_kb();

  build_is_ce(state, url, "main", "cannot fetch git repository",
              "more than 128 MiB of memory at once");
  peak_rss_under_100_mb(before);

  atomic_store(&ps.stop, true);
  shutdown(ps.lfd, SHUT_RDWR);
  pthread_join(ps.th, NULL);
  close(ps.lfd);
  free(ps.pack);
  t_rmdir(tmp);
}
