// test-labels: engine
/* A program build that fills /app. /app used to be a host directory with
 * no quota, checked only after the build: 20 GB written there filled the
 * disk /var/lib/docker shares, and builds beside it failed with ENOSPC as
 * their own CE. /app is now a tmpfs of the build's artifacts cap, counted
 * in its memory (build/artifacts.c, match/hold/hold_build.h): the writes
 * stop at the cap inside the container, and the state dir's disk use,
 * sampled every 100 ms while the build runs, never grows past the cap plus
 * a margin. Builds of a busybox image whose CMD is the hostile script. */
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "build/artifacts.h"
#include "build/image_cache.h"
#include "build/source_internal.h"
#include "common/tmpfile.h"
#include "common/util.h"
#include "match/hold.h"
#include "support.h"

#define CAP (64LL << 20)
/* What the state dir may hold beyond the artifacts: the copy of the
 * source, result.json, directories. */
#define MARGIN (8LL << 20)

typedef struct fixture {
  dk_client *c;
  jd_ctx ctx;
  char *id, *state, *src, *image_id;
  dk_kv labels[2];
} fixture;

/* A build image whose CMD is `sh -c SCRIPT`, a source of one file. */
static void fx_init(fixture *f, const char *prefix, const char *script) {
  f->c = t_client();
  t_busybox_image(f->c);
  f->id = t_unique(prefix);
  f->state = t_tmpdir("fillstate");
  f->src = t_tmpdir("fillsrc");
  f->ctx = (jd_ctx){.dk = f->c, .state_dir = f->state, .host_id = "test"};
  f->labels[0] = (dk_kv){T_LABEL_KEY, "1"};
  f->labels[1] = (dk_kv){"judger.test.id", f->id};
  char p[4200], df[2048];
  snprintf(p, sizeof p, "%s/main.txt", f->src);
  cr_assert_eq(jd_write_file(p, "hello\n", 6), 0);
  snprintf(df, sizeof df, "FROM " T_BUSYBOX_IMAGE "\nENV MARK=%s\nCMD [\"sh\", \"-c\", \"%s\"]\n",
           f->id, script);
  jd_env_image *img = NULL;
  t_ok(jd_env_image_ensure(&img, &f->ctx,
                           &(jd_build_request){.ref = {.domain = JD_DOMAIN_AI, .id = f->id},
                                               .labels = f->labels,
                                               .nlabels = 2},
                           JD_OP_BUILD, df, strlen(df), NULL, 0));
  cr_assert_str_eq(jd_verdict_name(img->verdict), "OK", "%s", img->message ? img->message : "");
  f->image_id = strdup(img->image_id);
  jd_env_image_free(img);
  /* judger-hold is installed before the sampling starts: it is no artifact. */
  char *hold = NULL;
  cr_assert_eq(jd_hold_install(&hold, f->state), 0);
  free(hold);
}

static void fx_fini(fixture *f) {
  jd_image_purge(NULL, NULL, &f->ctx, NULL, f->id, true, NULL, 0);
  t_rmdir(f->state);
  t_rmdir(f->src);
  free(f->image_id);
  free(f->id);
  dk_client_free(f->c);
}

/* ---- the state dir's disk use, sampled while the build runs ------------- */

static _Atomic long long du_sum;
static int du_add(const char *path, const struct stat *st, int flag, struct FTW *w) {
  (void)path, (void)flag, (void)w;
  du_sum += (long long)st->st_blocks * 512;
  return 0;
}

/* Bytes on disk under dir (entries vanishing under the walk are left out). */
static long long disk_use(const char *dir) {
  du_sum = 0;
  (void)nftw(dir, du_add, 16, FTW_PHYS);
  return du_sum;
}

typedef struct sampler {
  const char *dir;
  atomic_bool stop;
  long long base, peak;
  int samples;
  pthread_t thread;
} sampler;

static void *sample(void *ud) {
  sampler *s = ud;
  while (!atomic_load(&s->stop)) {
    long long use = disk_use(s->dir) - s->base;
    if (use > s->peak)
      s->peak = use;
    s->samples++;
    struct timespec ts = {0, 100 * 1000 * 1000}; /* a sampling period, not a wait */
    nanosleep(&ts, NULL);
  }
  return NULL;
}

/* Builds f's source under lim while the state dir's growth is sampled;
 * *peak gets the largest growth seen, *took_ms the build's time. */
static jd_artifacts *build_sampled(fixture *f, const jd_build_limits *lim, long long *peak,
                                   int64_t *took_ms) {
  char h[65], ident[80];
  cr_assert_eq(jd_tree_hash(h, f->src), 0);
  snprintf(ident, sizeof ident, "tree:%s", h);
  sampler s = {.dir = f->state};
  s.base = disk_use(f->state);
  cr_assert_eq(pthread_create(&s.thread, NULL, sample, &s), 0);
  jd_artifacts *a = NULL;
  int64_t t0 = dk_now_ms();
  int rc = jd_artifacts_ensure(&a, &f->ctx,
                               &(jd_build_request){.ref = {.domain = JD_DOMAIN_AI, .id = f->id},
                                                   .limits = lim ? *lim : (jd_build_limits){0},
                                                   .labels = f->labels,
                                                   .nlabels = 2},
                               f->src, ident, f->image_id, NULL, 0);
  *took_ms = dk_now_ms() - t0;
  atomic_store(&s.stop, true);
  pthread_join(s.thread, NULL);
  t_ok(rc);
  cr_assert_not_null(a);
  cr_assert(s.samples > 0);
  *peak = s.peak;
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

Test(app_fill, a_build_writing_20_gb_stops_at_its_cap_with_ce, .timeout = 300) {
  fixture f;
  fx_init(&f, "fillgb", "dd if=/dev/zero of=big bs=1048576 count=20480 && echo wrote-20-gb");
  jd_build_limits lim = {.artifacts_bytes = CAP, .wall_ms = 240000};
  long long peak = 0;
  int64_t took = 0;
  jd_artifacts *a = build_sampled(&f, &lim, &peak, &took);
  cr_assert_str_eq(jd_verdict_name(a->verdict), "CE", "%s: %s\n%s", jd_verdict_name(a->verdict),
                   a->message, a->log);
  cr_assert(a->log && strstr(a->log, "No space left on device"), "log: %s", a->log);
  cr_assert(!strstr(a->log, "wrote-20-gb"), "log: %s", a->log);
  cr_assert_null(a->dir);
  cr_assert(peak <= CAP + MARGIN, "the state dir grew by %lld bytes (cap %lld)", peak, CAP);
  /* Stopped at the cap, not after 20 GB: well within the wall time. */
  cr_assert(took < 120000, "the build took %lld ms", (long long)took);
  assert_no_build_container(&f);
  jd_artifacts_free(a);
  fx_fini(&f);
}

Test(app_fill, a_build_that_ignores_the_full_app_keeps_at_most_its_cap, .timeout = 300) {
  fixture f;
  fx_init(&f, "fillok", "dd if=/dev/zero of=big bs=1048576 count=20480; echo went-on");
  jd_build_limits lim = {.artifacts_bytes = CAP, .wall_ms = 240000};
  long long peak = 0;
  int64_t took = 0;
  jd_artifacts *a = build_sampled(&f, &lim, &peak, &took);
  /* What fitted in /app is within the cap: a build that goes on is OK. */
  cr_assert_str_eq(jd_verdict_name(a->verdict), "OK", "%s: %s\n%s", jd_verdict_name(a->verdict),
                   a->message, a->log);
  cr_assert(strstr(a->log, "went-on"), "log: %s", a->log);
  char p[4200];
  snprintf(p, sizeof p, "%s/big", a->dir);
  struct stat st;
  cr_assert_eq(lstat(p, &st), 0);
  cr_assert(st.st_size > 0 && st.st_size <= CAP, "big is %lld bytes", (long long)st.st_size);
  cr_assert(peak <= CAP + MARGIN, "the state dir grew by %lld bytes (cap %lld)", peak, CAP);
  assert_no_build_container(&f);
  jd_artifacts_free(a);
  fx_fini(&f);
}

Test(app_fill, a_sparse_20_gb_file_is_ce_at_its_header, .timeout = 300) {
  fixture f;
  fx_init(&f, "fillsparse", "truncate -s 20G big && echo made");
  jd_build_limits lim = {.artifacts_bytes = CAP, .wall_ms = 240000};
  long long peak = 0;
  int64_t took = 0;
  jd_artifacts *a = build_sampled(&f, &lim, &peak, &took);
  cr_assert_str_eq(jd_verdict_name(a->verdict), "CE", "%s: %s\n%s", jd_verdict_name(a->verdict),
                   a->message, a->log);
  cr_assert(a->message && strstr(a->message, "more than 67108864 bytes"), "%s", a->message);
  cr_assert(peak <= MARGIN, "the state dir grew by %lld bytes", peak);
  cr_assert(took < 120000, "the build took %lld ms", (long long)took);
  assert_no_build_container(&f);
  jd_artifacts_free(a);
  fx_fini(&f);
}

Test(app_fill, files_past_the_cap_cannot_be_made, .timeout = 300) {
  fixture f;
  fx_init(&f, "fillfiles",
          "i=0; while [ $i -lt 3000 ]; do touch f$i || exit 3; i=$((i+1)); done; echo made-all");
  jd_build_limits lim = {.artifacts_files = 1000, .wall_ms = 240000};
  long long peak = 0;
  int64_t took = 0;
  jd_artifacts *a = build_sampled(&f, &lim, &peak, &took);
  cr_assert_str_eq(jd_verdict_name(a->verdict), "CE", "%s: %s\n%s", jd_verdict_name(a->verdict),
                   a->message, a->log);
  cr_assert_eq(a->exit_code, 3, "exit %lld: %s", (long long)a->exit_code, a->log);
  cr_assert(!strstr(a->log, "made-all"), "log: %s", a->log);
  assert_no_build_container(&f);
  jd_artifacts_free(a);
  fx_fini(&f);
}

Test(app_fill, app_counts_in_the_builds_memory, .timeout = 300) {
  fixture f;
  /* 128 MiB into a 256 MiB /app with 32 MiB of memory: tmpfs pages are
   * the build's memory, there is no swap, the writer is OOM-killed. */
  fx_init(&f, "fillmem", "dd if=/dev/zero of=big bs=1048576 count=128 && echo wrote-128");
  jd_build_limits lim = {.memory = 32 << 20, .artifacts_bytes = 256 << 20, .wall_ms = 240000};
  long long peak = 0;
  int64_t took = 0;
  jd_artifacts *a = build_sampled(&f, &lim, &peak, &took);
  cr_assert_str_eq(jd_verdict_name(a->verdict), "MLE", "%s: %s\n%s", jd_verdict_name(a->verdict),
                   a->message, a->log);
  cr_assert(!strstr(a->log, "wrote-128"), "log: %s", a->log);
  cr_assert(peak <= MARGIN, "the state dir grew by %lld bytes", peak);
  assert_no_build_container(&f);
  jd_artifacts_free(a);
  fx_fini(&f);
}
