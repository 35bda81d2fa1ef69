// test-labels: unit
/* match/input_cache.c and input_fetch.c: a URL fetched once into
 * <state>/inputs/<sha256> (a second fetch and concurrent ones do not ask
 * the server again), a wrong hash or an oversized body refused while
 * reading with nothing kept, a link or a planted file at the cache path
 * neither followed nor trusted, the policy (schemes, private addresses),
 * put, open (a shared lock gc respects), gc, and `judger gc --inputs`. A
 * loopback server of the test's own (tests/support/file_server.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/tmpfile.h"
#include "common/util.h"
#include "file_server.h"
#include "match/input_cache.h"
#include "support.h"

#define BODY "the boot file: 42 cells, 7 walls\n"

/* The policy the loopback server needs: http and private addresses. */
static const jd_policy loopback = {.git_schemes = "https,http", .fetch_private = true};

static void sha_of(char out[65], const void *data, size_t len) { jd_sha256_hex(out, data, len); }

/* The names in <state>/inputs other than locks, as one string. */
static char *cache_names(const char *state) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "ls -A %s/inputs | grep -v '\\.lock$' | tr '\\n' ' '", state);
  FILE *p = popen(cmd, "r");
  cr_assert_not_null(p);
  static char buf[4096];
  size_t n = fread(buf, 1, sizeof buf - 1, p);
  buf[n] = '\0';
  pclose(p);
  return buf;
}

static char *cache_path(const char *state, const char *sha) {
  static char p[600];
  snprintf(p, sizeof p, "%s/inputs/%s", state, sha);
  return p;
}

static void assert_cached(const char *state, const char *sha, const char *want) {
  struct stat st;
  cr_assert_eq(lstat(cache_path(state, sha), &st), 0);
  cr_assert(S_ISREG(st.st_mode), "the cache file is not a regular file");
  cr_assert_eq(st.st_mode & 07777, 0444);
  char *d = NULL;
  size_t n = 0;
  cr_assert_eq(jd_read_file(&d, &n, cache_path(state, sha), 1 << 20), 0);
  cr_assert_eq(n, strlen(want));
  cr_assert_eq(memcmp(d, want, n), 0);
  free(d);
}

Test(input_cache, fetched_once_then_a_hit_without_asking_the_server) {
  char *state = t_tmpdir("incache");
  char sha[65], err[512] = "";
  sha_of(sha, BODY, strlen(BODY));
  t_file_server srv;
  t_file_server_start(&srv, BODY, strlen(BODY), false, 0);
  bool fetched = false;
  jd_fail_kind kind = JD_FAIL_SYSTEM;
  cr_assert_eq(jd_input_fetch(&fetched, state, &loopback, srv.url, sha, 1 << 20, NULL, &kind, err,
                              sizeof err),
               0, "%s", err);
  cr_assert(fetched);
  assert_cached(state, sha, BODY);
  cr_assert_eq(jd_input_fetch(&fetched, state, &loopback, srv.url, sha, 1 << 20, NULL, &kind, err,
                              sizeof err),
               0, "%s", err);
  cr_assert_not(fetched, "a hit fetched again");
  t_file_server_stop(&srv);
  cr_assert_eq(atomic_load(&srv.requests), 1);
  struct stat st;
  char dir[600];
  snprintf(dir, sizeof dir, "%s/inputs", state);
  cr_assert_eq(stat(dir, &st), 0);
  cr_assert_eq(st.st_mode & 0777, 0700);
  t_rmdir(state);
}

typedef struct racer {
  const char *state, *url, *sha;
  bool fetched;
  int rc;
  char err[256];
} racer;

static void *race(void *ud) {
  racer *r = ud;
  jd_fail_kind kind;
  r->rc = jd_input_fetch(&r->fetched, r->state, &loopback, r->url, r->sha, 1 << 20, NULL, &kind,
                         r->err, sizeof r->err);
  return NULL;
}

Test(input_cache, concurrent_fetches_of_one_hash_fetch_once) {
  char *state = t_tmpdir("inrace");
  char sha[65];
  sha_of(sha, BODY, strlen(BODY));
  t_file_server srv;
  t_file_server_start(&srv, BODY, strlen(BODY), false, 300); /* slow: they overlap */
  racer r[4];
  pthread_t th[4];
  for (int i = 0; i < 4; i++) {
    r[i] = (racer){.state = state, .url = srv.url, .sha = sha};
    cr_assert_eq(pthread_create(&th[i], NULL, race, &r[i]), 0);
  }
  int fetched = 0;
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    cr_assert_eq(r[i].rc, 0, "%s", r[i].err);
    fetched += r[i].fetched;
  }
  t_file_server_stop(&srv);
  cr_assert_eq(fetched, 1);
  cr_assert_eq(atomic_load(&srv.requests), 1);
  assert_cached(state, sha, BODY);
  t_rmdir(state);
}

Test(input_cache, a_wrong_hash_is_refused_and_nothing_kept) {
  char *state = t_tmpdir("inbad");
  char sha[65], want[65], err[512] = "";
  sha_of(sha, BODY, strlen(BODY));
  sha_of(want, "something else", 14);
  t_file_server srv;
  t_file_server_start(&srv, BODY, strlen(BODY), false, 0);
  bool fetched = true;
  jd_fail_kind kind = JD_FAIL_SYSTEM;
  cr_assert_eq(jd_input_fetch(&fetched, state, &loopback, srv.url, want, 1 << 20, NULL, &kind, err,
                              sizeof err),
               -1);
  t_file_server_stop(&srv);
  cr_assert_not(fetched);
  cr_assert_eq(kind, JD_FAIL_PROGRAM);
  char msg[128];
  snprintf(msg, sizeof msg, "sha256 mismatch: got %s", sha);
  cr_assert(strstr(err, msg), "%s", err);
  cr_assert_str_eq(cache_names(state), "", "kept: %s", cache_names(state));
  t_rmdir(state);
}

/* A body of n bytes over the cap, with or without its length announced. */
static void oversized(bool no_length) {
  char *state = t_tmpdir("inbig");
  size_t n = 3u << 20;
  char *big = malloc(n);
  memset(big, 'x', n);
  char sha[65], err[512] = "";
  sha_of(sha, big, n);
  t_file_server srv;
  t_file_server_start(&srv, big, n, no_length, 0);
  bool fetched = true;
  jd_fail_kind kind = JD_FAIL_SYSTEM;
  cr_assert_eq(jd_input_fetch(&fetched, state, &loopback, srv.url, sha, 1 << 20, NULL, &kind, err,
                              sizeof err),
               -1);
  t_file_server_stop(&srv);
  cr_assert_eq(kind, JD_FAIL_PROGRAM);
  cr_assert(strstr(err, "is larger than 1048576 bytes"), "%s", err);
  cr_assert_str_eq(cache_names(state), "", "kept: %s", cache_names(state));
  free(big);
  t_rmdir(state);
}

Test(input_cache, an_oversized_body_is_cut_while_reading) { oversized(true); }
Test(input_cache, an_oversized_length_is_refused) { oversized(false); }

Test(input_cache, a_link_at_the_cache_path_is_not_followed) {
  char *state = t_tmpdir("inlink");
  char sha[65], err[512] = "", dir[600], target[600];
  sha_of(sha, BODY, strlen(BODY));
  snprintf(dir, sizeof dir, "%s/inputs", state);
  cr_assert_eq(mkdir(dir, 0700), 0);
  /* The link's target holds the right bytes: still not trusted. */
  snprintf(target, sizeof target, "%s/target", state);
  cr_assert_eq(jd_write_file(target, BODY, strlen(BODY)), 0);
  cr_assert_eq(chmod(target, 0444), 0);
  cr_assert_eq(symlink(target, cache_path(state, sha)), 0);
  t_file_server srv;
  t_file_server_start(&srv, BODY, strlen(BODY), false, 0);
  bool fetched = false;
  jd_fail_kind kind;
  cr_assert_eq(jd_input_fetch(&fetched, state, &loopback, srv.url, sha, 1 << 20, NULL, &kind, err,
                              sizeof err),
               0, "%s", err);
  t_file_server_stop(&srv);
  cr_assert(fetched, "the link was trusted");
  cr_assert_eq(atomic_load(&srv.requests), 1);
  assert_cached(state, sha, BODY); /* lstat: a regular file now */
  struct stat st;
  cr_assert_eq(lstat(target, &st), 0, "the link's target was touched");
  /* The open refuses a link too. */
  cr_assert_eq(unlink(cache_path(state, sha)), 0);
  cr_assert_eq(symlink(target, cache_path(state, sha)), 0);
  int fd = -1;
  bool missing = false;
  char path[700];
  cr_assert_eq(jd_input_open(&fd, &missing, path, sizeof path, state, sha, err, sizeof err), -1);
  cr_assert_not(missing);
  t_rmdir(state);
}

Test(input_cache, a_planted_file_is_not_trusted) {
  char *state = t_tmpdir("inplant");
  char sha[65], err[512] = "", dir[600];
  sha_of(sha, BODY, strlen(BODY));
  snprintf(dir, sizeof dir, "%s/inputs", state);
  cr_assert_eq(mkdir(dir, 0700), 0);
  /* Another content under the hash's name, with the cache's own mode. */
  cr_assert_eq(jd_write_file(cache_path(state, sha), "planted\n", 8), 0);
  cr_assert_eq(chmod(cache_path(state, sha), 0444), 0);
  t_file_server srv;
  t_file_server_start(&srv, BODY, strlen(BODY), false, 0);
  bool fetched = false;
  jd_fail_kind kind;
  cr_assert_eq(jd_input_fetch(&fetched, state, &loopback, srv.url, sha, 1 << 20, NULL, &kind, err,
                              sizeof err),
               0, "%s", err);
  cr_assert(fetched, "the planted file was trusted");
  assert_cached(state, sha, BODY);
  /* The right bytes with another mode: not what the cache writes either. */
  cr_assert_eq(chmod(cache_path(state, sha), 0644), 0);
  cr_assert_eq(jd_input_fetch(&fetched, state, &loopback, srv.url, sha, 1 << 20, NULL, &kind, err,
                              sizeof err),
               0, "%s", err);
  cr_assert(fetched);
  t_file_server_stop(&srv);
  cr_assert_eq(atomic_load(&srv.requests), 2);
  assert_cached(state, sha, BODY);
  t_rmdir(state);
}

Test(input_cache, an_inputs_directory_others_may_write_is_refused) {
  char *state = t_tmpdir("inperm");
  char dir[600], sha[65], err[512] = "";
  sha_of(sha, BODY, strlen(BODY));
  snprintf(dir, sizeof dir, "%s/inputs", state);
  cr_assert_eq(mkdir(dir, 0700), 0);
  cr_assert_eq(chmod(dir, 0777), 0);
  jd_fail_kind kind = JD_FAIL_PROGRAM;
  cr_assert_eq(jd_input_put(state, sha, BODY, strlen(BODY), &kind, err, sizeof err), -1);
  cr_assert_eq(kind, JD_FAIL_SYSTEM);
  /* A link in its place is not followed either. */
  cr_assert_eq(rmdir(dir), 0);
  cr_assert_eq(symlink("/tmp", dir), 0);
  cr_assert_eq(jd_input_put(state, sha, BODY, strlen(BODY), &kind, err, sizeof err), -1);
  t_rmdir(state);
}

Test(input_cache, the_policy_holds_the_url) {
  char *state = t_tmpdir("inpolicy");
  char sha[65], err[512] = "";
  sha_of(sha, BODY, strlen(BODY));
  t_file_server srv;
  t_file_server_start(&srv, BODY, strlen(BODY), false, 0);
  bool fetched = true;
  jd_fail_kind kind = JD_FAIL_SYSTEM;
  /* The default policy: https only. */
  jd_policy none = {0};
  cr_assert_eq(
      jd_input_fetch(&fetched, state, &none, srv.url, sha, 1 << 20, NULL, &kind, err, sizeof err),
      -1);
  cr_assert_eq(kind, JD_FAIL_PROGRAM);
  cr_assert(strstr(err, "url: "), "%s", err);
  /* http allowed, private addresses not: loopback refused. */
  jd_policy http = {.git_schemes = "https,http"};
  cr_assert_eq(
      jd_input_fetch(&fetched, state, &http, srv.url, sha, 1 << 20, NULL, &kind, err, sizeof err),
      -1);
  cr_assert_eq(kind, JD_FAIL_PROGRAM);
  cr_assert(strstr(err, "fetch_private"), "%s", err);
  cr_assert_eq(jd_input_fetch(&fetched, state, &loopback, "file:///etc/passwd", sha, 1 << 20, NULL,
                              &kind, err, sizeof err),
               -1);
  cr_assert_eq(kind, JD_FAIL_PROGRAM);
  t_file_server_stop(&srv);
  cr_assert_eq(atomic_load(&srv.requests), 0);
  cr_assert_str_eq(cache_names(state), "");
  t_rmdir(state);
}

Test(input_cache, put_checks_the_hash) {
  char *state = t_tmpdir("input");
  char sha[65], other[65], err[512] = "";
  sha_of(sha, BODY, strlen(BODY));
  sha_of(other, "x", 1);
  jd_fail_kind kind = JD_FAIL_SYSTEM;
  cr_assert_eq(jd_input_put(state, other, BODY, strlen(BODY), &kind, err, sizeof err), -1);
  cr_assert_eq(kind, JD_FAIL_PROGRAM);
  cr_assert(strstr(err, "sha256 mismatch: got "), "%s", err);
  cr_assert_str_eq(cache_names(state), "");
  cr_assert_eq(jd_input_put(state, sha, BODY, strlen(BODY), &kind, err, sizeof err), 0, "%s", err);
  assert_cached(state, sha, BODY);
  cr_assert_eq(jd_input_put(state, sha, BODY, strlen(BODY), &kind, err, sizeof err), 0, "%s", err);
  cr_assert_eq(jd_input_put(state, "../../etc/passwd", BODY, 3, &kind, err, sizeof err), -1);
  t_rmdir(state);
}

Test(input_cache, gc_keeps_what_a_match_holds_and_removes_junk) {
  char *state = t_tmpdir("ingc");
  char sha[65], err[512] = "", path[700], junk[700];
  sha_of(sha, BODY, strlen(BODY));
  jd_fail_kind kind;
  cr_assert_eq(jd_input_put(state, sha, BODY, strlen(BODY), &kind, err, sizeof err), 0, "%s", err);
  int fd = -1;
  bool missing = true;
  cr_assert_eq(jd_input_open(&fd, &missing, path, sizeof path, state, sha, err, sizeof err), 0,
               "%s", err);
  cr_assert_str_eq(path, cache_path(state, sha));
  snprintf(junk, sizeof junk, "%s/inputs/junk-link", state);
  cr_assert_eq(symlink("/etc/passwd", junk), 0);
  size_t removed = 9;
  int64_t bytes = -1;
  /* Every file is older than 0 ms: the held one stays, the link goes. */
  cr_assert_eq(jd_input_gc(&removed, &bytes, state, -1000, false, err, sizeof err), 0, "%s", err);
  cr_assert_eq(removed, 0);
  struct stat st;
  cr_assert_eq(lstat(cache_path(state, sha), &st), 0, "a held file was removed");
  cr_assert_neq(lstat(junk, &st), 0, "junk kept");
  cr_assert_eq(stat("/etc/passwd", &st), 0);
  close(fd);
  /* A fresh file stays; a dry run removes nothing; then it goes. */
  cr_assert_eq(jd_input_gc(&removed, &bytes, state, JD_INPUT_GC_AGE_MS, false, err, sizeof err), 0);
  cr_assert_eq(removed, 0);
  cr_assert_eq(jd_input_gc(&removed, &bytes, state, -1000, true, err, sizeof err), 0);
  cr_assert_eq(removed, 1);
  cr_assert_eq(lstat(cache_path(state, sha), &st), 0);
  cr_assert_eq(jd_input_gc(&removed, &bytes, state, -1000, false, err, sizeof err), 0);
  cr_assert_eq(removed, 1);
  cr_assert_eq(bytes, (int64_t)strlen(BODY));
  cr_assert_neq(lstat(cache_path(state, sha), &st), 0);
  char names[800];
  snprintf(names, sizeof names, "%s", cache_names(state));
  cr_assert_str_eq(names, "");
  cr_assert_eq(jd_input_open(&fd, &missing, path, sizeof path, state, sha, err, sizeof err), -1);
  cr_assert(missing);
  t_rmdir(state);
}

Test(input_cache, judger_gc_inputs_says_what_it_removed) {
  char *state = t_tmpdir("ingccli");
  char sha[65], err[512] = "", cmd[900];
  sha_of(sha, BODY, strlen(BODY));
  jd_fail_kind kind;
  cr_assert_eq(jd_input_put(state, sha, BODY, strlen(BODY), &kind, err, sizeof err), 0, "%s", err);
  /* Used two days ago. */
  snprintf(cmd, sizeof cmd, "touch -h -d '2 days ago' %s", cache_path(state, sha));
  cr_assert_eq(system(cmd), 0);
  snprintf(cmd, sizeof cmd, "%s/bin/judger gc --inputs --json --state-dir %s", JD_BINARY_DIR,
           state);
  FILE *p = popen(cmd, "r");
  char out[1024] = "";
  size_t n = fread(out, 1, sizeof out - 1, p);
  out[n] = '\0';
  cr_assert_eq(pclose(p), 0, "%s", out);
  json_object *o = json_tokener_parse(out), *i, *v;
  cr_assert(o && json_object_object_get_ex(o, "inputs", &i) &&
                json_object_object_get_ex(i, "removed", &v),
            "%s", out);
  cr_assert_eq(json_object_get_int(v), 1, "%s", out);
  json_object_put(o);
  t_rmdir(state);
}

Test(input_cache, a_fetch_waiting_for_anothers_lock_stops_on_cancel) {
  char *state = t_tmpdir("inwait");
  char sha[65], err[512] = "", dir[600], lock[700];
  sha_of(sha, BODY, strlen(BODY));
  snprintf(dir, sizeof dir, "%s/inputs", state);
  cr_assert_eq(mkdir(dir, 0700), 0);
  /* Another slot's fetch of the same hash, holding its lock. */
  snprintf(lock, sizeof lock, "%s/%s.lock", dir, sha);
  int other = open(lock, O_RDWR | O_CREAT, 0600);
  cr_assert(other >= 0);
  cr_assert_eq(flock(other, LOCK_EX), 0);
  dk_cancel *cancel = NULL;
  cr_assert_eq(dk_cancel_new(&cancel), 0);
  dk_cancel_fire(cancel);
  bool fetched = true;
  jd_fail_kind kind = JD_FAIL_PROGRAM;
  cr_assert_eq(jd_input_fetch(&fetched, state, &loopback, "http://127.0.0.1:9/x", sha, 1 << 20,
                              cancel, &kind, err, sizeof err),
               -1);
  cr_assert_eq(kind, JD_FAIL_SYSTEM);
  cr_assert(strstr(err, "cancelled"), "%s", err);
  cr_assert_not(fetched);
  dk_cancel_free(cancel);
  close(other);
  t_rmdir(state);
}
