// test-labels: engine
/* Program builds against the real engine: OK + cache hit, compile error,
 * wall time, memory, network off, and hostile builds (set-uid files,
 * devices, FIFOs, links to host files, deep trees, many files, sparse
 * giants). Build images are busybox-based. */
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/artifacts.h"
#include "build/image_cache.h"
#include "build/source_internal.h"
#include "common/tmpfile.h"
#include "common/util.h"
#include "support.h"

typedef struct fixture {
  dk_client *c;
  jd_ctx ctx;
  char *id;
  char *state;
  char *src;
  char *image_id;
  char label[160];
  dk_kv labels[2];
} fixture;

static void put(const char *dir, const char *name, const char *text) {
  char p[4096];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  cr_assert_eq(jd_write_file(p, text, strlen(text)), 0);
}

/* A build image from the Dockerfile text df ("%s" = a mark unique to the
 * test). */
static void fx_init_df(fixture *f, const char *prefix, const char *df_fmt);

/* A build image whose CMD is `sh -c SCRIPT`. */
static void fx_init(fixture *f, const char *prefix, const char *script) {
  char df[4096];
  snprintf(df, sizeof df, "FROM " T_BUSYBOX_IMAGE "\nENV MARK=%%s\nCMD [\"sh\", \"-c\", \"%s\"]\n",
           script);
  fx_init_df(f, prefix, df);
}

static void fx_init_df(fixture *f, const char *prefix, const char *df_fmt) {
  f->c = t_client();
  t_busybox_image(f->c);
  f->id = t_unique(prefix);
  f->state = t_tmpdir("artstate");
  f->src = t_tmpdir("artsrc");
  f->ctx = (jd_ctx){.dk = f->c, .state_dir = f->state, .host_id = "test"};
  snprintf(f->label, sizeof f->label, "%s", f->id);
  f->labels[0] = (dk_kv){T_LABEL_KEY, "1"};
  f->labels[1] = (dk_kv){"judger.test.id", f->label};
  put(f->src, "run.Dockerfile", "FROM " T_BUSYBOX_IMAGE "\n");
  put(f->src, "main.txt", "hello\n");
  char df[4200];
  /* Unique per test: concurrent tests must not share build-cache layers
   * that another test's clean-up removes. */
  snprintf(df, sizeof df, df_fmt, f->id);
  jd_env_image *img = NULL;
  t_ok(jd_env_image_ensure(&img, &f->ctx,
                           &(jd_build_request){.ref = {.domain = JD_DOMAIN_AI, .id = f->id},
                                               .labels = f->labels,
                                               .nlabels = 2},
                           JD_OP_BUILD, df, strlen(df), NULL, 0));
  cr_assert_str_eq(jd_verdict_name(img->verdict), "OK", "%s", img->message ? img->message : "");
  f->image_id = strdup(img->image_id);
  jd_env_image_free(img);
}

static void fx_fini(fixture *f) {
  jd_image_purge(NULL, NULL, &f->ctx, NULL, f->id, true, NULL, 0);
  t_rmdir(f->state);
  t_rmdir(f->src);
  free(f->image_id);
  free(f->id);
  dk_client_free(f->c);
}

static jd_artifacts *build(fixture *f, const jd_build_limits *lim) {
  char h[65], ident[80];
  cr_assert_eq(jd_tree_hash(h, f->src), 0);
  snprintf(ident, sizeof ident, "tree:%s", h);
  jd_artifacts *a = NULL;
  t_ok(jd_artifacts_ensure(&a, &f->ctx,
                           &(jd_build_request){.ref = {.domain = JD_DOMAIN_AI, .id = f->id},
                                               .limits = lim ? *lim : (jd_build_limits){0},
                                               .labels = f->labels,
                                               .nlabels = 2},
                           f->src, ident, f->image_id, NULL, 0));
  cr_assert_not_null(a);
  return a;
}

/* No container of this test is left, in any state. */
static void assert_no_build_container(fixture *f) {
  char filter[200];
  snprintf(filter, sizeof filter, "judger.test.id=%s", f->id);
  const char *labels[] = {filter, NULL};
  dk_container_list *l = NULL;
  t_ok(dk_container_list_by_label(&l, f->c, true, labels));
  cr_assert_eq(l->count, 0, "%zu build container(s) left behind", l->count);
  dk_container_list_free(l);
}

/* The cache key as docs/programs.md and artifacts.h give it. */
static void documented_key(char out[65], const char *identity, const char *image_id) {
  char text[512];
  int n = snprintf(text, sizeof text, "judger-artifacts-v1\n%s\n%s\n", identity,
                   image_id ? image_id : "none");
  jd_sha256_hex(out, text, (size_t)n);
}

Test(artifacts, build_then_cache_hit_and_source_stays_pristine) {
  fixture f;
  fx_init(&f, "artok", "cat main.txt main.txt > out.txt && echo compiled-ok");
  jd_artifacts *a = build(&f, NULL);
  cr_assert_str_eq(jd_verdict_name(a->verdict), "OK", "%s\n%s", a->message, a->log);
  cr_assert(!a->cached);
  cr_assert(a->log && strstr(a->log, "compiled-ok"), "log: %s", a->log);
  char p[4200], *data = NULL;
  snprintf(p, sizeof p, "%s/out.txt", a->dir);
  cr_assert_eq(jd_read_file(&data, NULL, p, 100), 0, "no artifact at %s", p);
  cr_assert_str_eq(data, "hello\nhello\n");
  free(data);
  snprintf(p, sizeof p, "%s/out.txt", f.src);
  cr_assert(!jd_path_exists(p), "the build wrote into the source");
  /* The key is the documented one. */
  char h[65], ident[80], key[65];
  jd_tree_hash(h, f.src);
  snprintf(ident, sizeof ident, "tree:%s", h);
  documented_key(key, ident, f.image_id);
  cr_assert_str_eq(a->key, key);
  snprintf(p, sizeof p, "%s/artifacts/%s/app", f.state, key);
  cr_assert_str_eq(a->dir, p);

  jd_artifacts *b = build(&f, NULL);
  cr_assert(b->cached, "same source and image: must be a cache hit");
  cr_assert_str_eq(b->dir, a->dir);
  /* Another image id is another key. */
  char other[65];
  documented_key(other, ident, "sha256:0000");
  cr_assert_str_neq(other, key);
  assert_no_build_container(&f);
  jd_artifacts_free(a);
  jd_artifacts_free(b);
  fx_fini(&f);
}

Test(artifacts, compile_error_is_ce_with_the_compilers_message) {
  fixture f;
  fx_init(&f, "artce", "echo 'main.c:3:5: error: expected ; before }' >&2; exit 1");
  jd_artifacts *a = build(&f, NULL);
  cr_assert_str_eq(jd_verdict_name(a->verdict), "CE");
  cr_assert_eq(a->exit_code, 1);
  cr_assert(a->log && strstr(a->log, "main.c:3:5: error: expected ; before }"), "log: %s", a->log);
  cr_assert_null(a->dir);
  /* Failures are not cached. */
  char p[4200];
  snprintf(p, sizeof p, "%s/artifacts/%s", f.state, a->key);
  cr_assert(!jd_path_exists(p), "a failed build was cached");
  assert_no_build_container(&f);
  jd_artifacts_free(a);
  fx_fini(&f);
}

Test(artifacts, build_past_its_wall_time_is_tle_and_leaves_no_container) {
  fixture f;
  fx_init(&f, "arttle", "echo started; sleep 60");
  jd_build_limits lim = {.wall_ms = 2500};
  int64_t t0 = dk_now_ms();
  jd_artifacts *a = build(&f, &lim);
  int64_t took = dk_now_ms() - t0;
  cr_assert_str_eq(jd_verdict_name(a->verdict), "TLE", "%s", a->message);
  cr_assert(took < 8000, "TLE took %lld ms", (long long)took);
  cr_assert(a->log && strstr(a->log, "started"), "log: %s", a->log);
  assert_no_build_container(&f);
  jd_artifacts_free(a);
  fx_fini(&f);
}

Test(artifacts, build_over_its_memory_is_mle) {
  fixture f;
  /* A shell variable of ~64 MiB against a 16 MiB limit (no swap). */
  fx_init(&f, "artmle", "x=$(head -c 67108864 /dev/zero | tr '\\\\0' a); echo ${#x}");
  jd_build_limits lim = {.memory = 16 << 20, .wall_ms = 20000};
  jd_artifacts *a = build(&f, &lim);
  cr_assert_str_eq(jd_verdict_name(a->verdict), "MLE", "%s: %s\n%s", jd_verdict_name(a->verdict),
                   a->message, a->log);
  assert_no_build_container(&f);
  jd_artifacts_free(a);
  fx_fini(&f);
}

Test(artifacts, network_is_off_by_default) {
  fixture f;
  /* /proc/net/route lists only its header line without a default route. */
  fx_init(&f, "artnet", "cat /proc/net/route; test $(wc -l < /proc/net/route) -le 1");
  jd_artifacts *a = build(&f, NULL);
  cr_assert_str_eq(jd_verdict_name(a->verdict), "OK", "the build had a route out: %s", a->log);
  jd_artifacts_free(a);
  fx_fini(&f);
}

Test(artifacts, program_without_build_image_uses_its_source) {
  fixture f;
  fx_init(&f, "artnob", "true");
  char h[65], ident[80];
  jd_tree_hash(h, f.src);
  snprintf(ident, sizeof ident, "tree:%s", h);
  jd_artifacts *a = NULL;
  t_ok(jd_artifacts_ensure(&a, &f.ctx,
                           &(jd_build_request){.ref = {.domain = JD_DOMAIN_AI, .id = f.id}}, f.src,
                           ident, NULL, NULL, 0));
  cr_assert_str_eq(jd_verdict_name(a->verdict), "OK");
  char p[4200];
  snprintf(p, sizeof p, "%s/main.txt", a->dir);
  cr_assert(jd_path_exists(p), "source not in the artifacts");
  jd_artifacts_free(a);
  fx_fini(&f);
}

Test(artifacts, gc_removes_old_entries_only) {
  fixture f;
  fx_init(&f, "artgc", "true");
  jd_artifacts *a = build(&f, NULL);
  cr_assert_str_eq(jd_verdict_name(a->verdict), "OK");
  size_t n = 99;
  cr_assert_eq(jd_artifacts_gc(&n, f.state, 3600, false), 0);
  cr_assert_eq(n, 0, "a fresh entry was removed");
  cr_assert_eq(jd_artifacts_gc(&n, f.state, 0, true), 0);
  cr_assert_eq(n, 1);
  cr_assert(jd_path_exists(a->dir), "dry run removed something");
  cr_assert_eq(jd_artifacts_gc(&n, f.state, 0, false), 0);
  cr_assert_eq(n, 1);
  cr_assert(!jd_path_exists(a->dir));
  jd_artifacts_free(a);
  fx_fini(&f);
}

/* ---- hostile builds ------------------------------------------------------ */

static int unsafe_entries;
static int count_unsafe(const char *path, const struct stat *st, int flag, struct FTW *w) {
  (void)path, (void)flag, (void)w;
  if ((st->st_mode & (S_ISUID | S_ISGID)) || S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode) ||
      S_ISFIFO(st->st_mode) || S_ISSOCK(st->st_mode))
    unsafe_entries++;
  return 0;
}

/* Nothing under the state dir is set-uid, set-gid, a device or a FIFO. */
static void assert_state_dir_safe(const fixture *f) {
  unsafe_entries = 0;
  cr_assert_eq(nftw(f->state, count_unsafe, 16, FTW_PHYS), 0);
  cr_assert_eq(unsafe_entries, 0, "%d unsafe entries under the state dir", unsafe_entries);
  struct stat st;
  cr_assert_eq(stat(f->state, &st), 0);
  cr_assert_eq(st.st_mode & 0777, 0700, "state dir mode %o", st.st_mode & 0777);
}

/* Nothing is left under <state>/artifacts: no entry, no partial copy. */
static void assert_no_entries(const fixture *f) {
  char p[4200];
  snprintf(p, sizeof p, "%s/artifacts", f->state);
  DIR *d = opendir(p);
  cr_assert_not_null(d);
  struct dirent *de;
  int n = 0;
  while ((de = readdir(d)))
    n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
  closedir(d);
  cr_assert_eq(n, 0, "%d entries left under %s", n, p);
}

static char *read_artifact(const jd_artifacts *a, const char *name) {
  char p[4200], *data = NULL;
  snprintf(p, sizeof p, "%s/%s", a->dir, name);
  return jd_read_file(&data, NULL, p, 4096) == 0 ? data : NULL;
}

Test(artifacts, hostile_build_is_unprivileged_and_leaves_nothing_unsafe) {
  fixture f;
  char *canary_dir = t_tmpdir("artcanary"), canary[1024], script[3000];
  snprintf(canary, sizeof canary, "%s/canary", canary_dir);
  cr_assert_eq(jd_write_file(canary, "host secret\n", 12), 0);
  cr_assert_eq(chmod(canary, 0600), 0);
  snprintf(script, sizeof script,
           "id -u > uid.txt; grep CapEff /proc/self/status > caps.txt;"
           " touch /rootfs-write 2>/dev/null && echo yes > rootfs-writable.txt;"
           " cp /bin/busybox suid && chmod 4755 suid && chmod 2755 . ;"
           " mknod disk b 7 0 2>/dev/null && echo yes > mknod-worked.txt;"
           " mkfifo fifo; ln /etc/passwd passwd-hard 2>/dev/null;"
           " ln -s %s canary-link; ln -s / root-link; echo hostile-done",
           canary);
  fx_init(&f, "arthost", script);
  jd_artifacts *a = build(&f, NULL);
  cr_assert_str_eq(jd_verdict_name(a->verdict), "OK", "%s\n%s", a->message, a->log);
  cr_assert(strstr(a->log, "hostile-done"), "log: %s", a->log);
  cr_assert(strstr(a->log, "removed FIFO 'fifo'"), "the log does not say: %s", a->log);
  char *uid = read_artifact(a, "uid.txt"), *caps = read_artifact(a, "caps.txt");
  cr_assert(uid && !strcmp(uid, "65534\n"), "build ran as %s", uid);
  cr_assert(caps && strstr(caps, "0000000000000000"), "build had capabilities: %s", caps);
  free(uid);
  free(caps);
  char *w = read_artifact(a, "rootfs-writable.txt"), *m = read_artifact(a, "mknod-worked.txt");
  cr_assert_null(w, "the build container's root is writable");
  cr_assert_null(m, "mknod worked in the build container");
  assert_state_dir_safe(&f);
  /* The host file behind a link: unchanged, and it was never copied. */
  struct stat st;
  cr_assert_eq(lstat(canary, &st), 0);
  cr_assert_eq(st.st_mode & 07777, 0600);
  cr_assert_eq(st.st_uid, 0);
  char p[4200];
  snprintf(p, sizeof p, "%s/canary-link", a->dir);
  cr_assert_eq(lstat(p, &st), 0);
  cr_assert(S_ISLNK(st.st_mode));
  /* gc removes the entry without following its links. */
  size_t n = 0;
  cr_assert_eq(jd_artifacts_gc(&n, f.state, 0, false), 0);
  cr_assert_eq(n, 1);
  assert_no_entries(&f);
  cr_assert(jd_path_exists(canary), "gc followed a link");
  assert_no_build_container(&f);
  jd_artifacts_free(a);
  t_rmdir(canary_dir);
  fx_fini(&f);
}

Test(artifacts, deep_tree_is_ce_and_removed) {
  fixture f;
  fx_init(&f, "artdeep",
          "i=0; while [ $i -lt 2000 ]; do mkdir d && cd d || exit 1; i=$((i+1)); done; echo deep");
  jd_build_limits lim = {.wall_ms = 120000};
  jd_artifacts *a = build(&f, &lim);
  cr_assert_str_eq(jd_verdict_name(a->verdict), "CE", "%s\n%s", a->message, a->log);
  cr_assert(a->message && strstr(a->message, "levels deep"), "%s", a->message);
  cr_assert_null(a->dir);
  assert_no_entries(&f);
  jd_artifacts_free(a);
  fx_fini(&f);
}

Test(artifacts, sparse_giant_is_ce_and_removed) {
  fixture f;
  fx_init(&f, "artsparse", "truncate -s 2G big && echo made");
  jd_artifacts *a = build(&f, NULL);
  cr_assert_str_eq(jd_verdict_name(a->verdict), "CE", "%s\n%s", a->message, a->log);
  cr_assert(a->message && strstr(a->message, "bytes"), "%s", a->message);
  assert_no_entries(&f);
  jd_artifacts_free(a);
  fx_fini(&f);
}

Test(artifacts, hundred_thousand_files_are_kept_then_collected) {
  fixture f;
  fx_init(&f, "artmany", "mkdir many && cd many && seq 1 100000 | xargs touch && echo made");
  jd_build_limits lim = {.wall_ms = 120000};
  jd_artifacts *a = build(&f, &lim);
  cr_assert_str_eq(jd_verdict_name(a->verdict), "OK", "%s\n%s", a->message, a->log);
  assert_state_dir_safe(&f);
  size_t n = 0;
  cr_assert_eq(jd_artifacts_gc(&n, f.state, 0, false), 0);
  cr_assert_eq(n, 1);
  assert_no_entries(&f);
  jd_artifacts_free(a);
  fx_fini(&f);
}

Test(artifacts, half_removed_entry_is_no_hit_and_gc_finishes_it) {
  fixture f;
  fx_init(&f, "arthalf", "echo built > out.txt");
  jd_artifacts *a = build(&f, NULL);
  cr_assert_str_eq(jd_verdict_name(a->verdict), "OK");
  /* An older judger died half way through removing it: marker gone. */
  char p[4200];
  snprintf(p, sizeof p, "%s/artifacts/%s/result.json", f.state, a->key);
  cr_assert_eq(unlink(p), 0);
  jd_artifacts *b = NULL;
  char h[65], ident[80];
  jd_tree_hash(h, f.src);
  snprintf(ident, sizeof ident, "tree:%s", h);
  t_ok(jd_artifacts_lookup(&b, &f.ctx, ident, f.image_id, NULL, 0));
  cr_assert_null(b, "a half-removed entry was a cache hit");
  size_t n = 0;
  cr_assert_eq(jd_artifacts_gc(&n, f.state, 3600, false), 0);
  cr_assert_eq(n, 1, "gc left the half-removed entry");
  assert_no_entries(&f);
  jd_artifacts_free(a);
  fx_fini(&f);
}

/* ---- /app: a tmpfs of the artifacts cap, filled and emptied by judger-hold */

Test(artifacts, entrypoint_and_cmd_run_over_the_source_with_its_links_and_modes) {
  fixture f;
  fx_init_df(&f, "artep",
             "FROM " T_BUSYBOX_IMAGE "\nENV MARK=%s\nENTRYPOINT [\"sh\", \"-c\"]\n"
             "CMD [\"./build.sh > out.txt && test -L link && echo ep-ok\"]\n");
  put(f.src, "build.sh", "#!/bin/sh\necho built-by-script\n");
  char p[4200];
  snprintf(p, sizeof p, "%s/build.sh", f.src);
  cr_assert_eq(chmod(p, 0755), 0);
  snprintf(p, sizeof p, "%s/link", f.src);
  cr_assert_eq(symlink("main.txt", p), 0);
  jd_artifacts *a = build(&f, NULL);
  cr_assert_str_eq(jd_verdict_name(a->verdict), "OK", "%s\n%s", a->message, a->log);
  cr_assert(strstr(a->log, "ep-ok"), "log: %s", a->log);
  char *out = read_artifact(a, "out.txt"), target[64] = "";
  cr_assert(out && !strcmp(out, "built-by-script\n"), "out.txt: %s", out);
  free(out);
  struct stat st;
  snprintf(p, sizeof p, "%s/build.sh", a->dir);
  cr_assert_eq(lstat(p, &st), 0);
  cr_assert_eq(st.st_mode & 07777, 0755);
  snprintf(p, sizeof p, "%s/link", a->dir);
  cr_assert_eq(lstat(p, &st), 0);
  cr_assert(S_ISLNK(st.st_mode));
  cr_assert_eq(readlink(p, target, sizeof target - 1), 8);
  cr_assert_str_eq(target, "main.txt");
  assert_no_build_container(&f);
  jd_artifacts_free(a);
  fx_fini(&f);
}

Test(artifacts, source_past_the_artifacts_cap_is_ce_before_any_container) {
  fixture f;
  fx_init(&f, "artsrcbig", "echo ran");
  static char big[2 << 20];
  memset(big, 'x', sizeof big);
  char p[4200];
  snprintf(p, sizeof p, "%s/big.bin", f.src);
  cr_assert_eq(jd_write_file(p, big, sizeof big), 0);
  jd_build_limits lim = {.artifacts_bytes = 1 << 20};
  jd_artifacts *a = build(&f, &lim);
  cr_assert_str_eq(jd_verdict_name(a->verdict), "CE", "%s\n%s", a->message, a->log);
  cr_assert(a->message && strstr(a->message, "the source tree"), "%s", a->message);
  cr_assert(!a->log || !strstr(a->log, "ran"), "the build ran: %s", a->log);
  assert_no_entries(&f);
  jd_artifacts_free(a);
  fx_fini(&f);
}

Test(artifacts, a_build_that_locks_its_own_tree_still_gives_its_artifacts) {
  fixture f;
  fx_init(
      &f, "artlock",
      "mkdir d && echo kept > d/f && chmod 000 d/f && chmod 400 d && chmod 000 . && echo locked");
  jd_artifacts *a = build(&f, NULL);
  cr_assert_str_eq(jd_verdict_name(a->verdict), "OK", "%s\n%s", a->message, a->log);
  char *kept = read_artifact(a, "d/f");
  cr_assert(kept && !strcmp(kept, "kept\n"), "d/f: %s\n%s", kept, a->log);
  free(kept);
  assert_state_dir_safe(&f);
  jd_artifacts_free(a);
  fx_fini(&f);
}
