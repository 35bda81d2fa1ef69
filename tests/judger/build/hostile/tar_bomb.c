// test-labels: engine
/* Tarball bombs: a .tgz of a few hundred bytes holding a 2 GiB sparse
 * file, and a .tgz of a few MB holding many files of zeros, each within
 * the caps but together past them. The judger used to extract the first
 * and then copy it byte for byte (1.9 GB of the state dir's disk) before
 * its post-build check refused it. Now extraction counts apparent bytes
 * as it reads: the sparse one is refused from its header, the other stops
 * at the cap; the disk use of the state dir is sampled while the judger
 * runs and never passes the cap. */
#include <stdatomic.h>

#include "build/source.h"
#include "tarball.h"

#define GIB ((int64_t)1 << 30)
#define MIB ((int64_t)1 << 20)

/* A program whose one other file is `size` bytes (sparse: a hole after
 * its first bytes). */
static void bomb_tgz(h_tgz *t, int64_t size, int sparse) {
  h_tgz_begin(t, 16 << 20);
  h_tgz_file(t, "run.Dockerfile", "FROM scratch\n");
  h_tgz_entry(t, "bomb", AE_IFREG, size, "boom", 4, sparse);
  h_tgz_end(t);
}

/* Runs `judger build --tar` on the tarball while sampling the disk use of
 * state; *peak gets the most it saw. */
static h_run build_sampled(const char *state, const h_tgz *t, int64_t *peak, int *samples) {
  h_srv srv;
  char *url;
  h_srv_start(&srv, t->buf, t->used, &url);
  char *id = t_unique("bomb");
  h_run r = h_judger_start(
      state, (const char *[]){"build", "--domain", "ai", "--id", id, "--tar", url, "--json", NULL});
  *peak = 0;
  *samples = 0;
  do {
    int64_t use = h_disk_use(state);
    if (use > *peak)
      *peak = use;
    (*samples)++;
    usleep(5000); /* the sampling period */
  } while (!h_judger_done(&r, false));
  h_srv_stop(&srv);
  free(id);
  free(url);
  return r;
}

static void assert_ce(const h_run *r) {
  cr_assert(!WIFSIGNALED(r->status), "killed by signal %d\n%s", WTERMSIG(r->status), r->err);
  cr_assert(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 1, "exit %d\nstdout: %s\nstderr: %s",
            WEXITSTATUS(r->status), r->out, r->err);
  cr_assert(strstr(r->out, "\"verdict\":\"CE\""), "%s", r->out);
}

Test(tar_bomb, a_sparse_2_gib_entry_is_refused_from_its_header, .timeout = 120) {
  h_tgz t;
  bomb_tgz(&t, 2 * GIB, 1);
  cr_assert_lt(t.used, 1024, "the bomb is %zu bytes", t.used);
  char *state = t_tmpdir("bombstate");
  int64_t before = h_disk_use(state), peak;
  int samples;
  h_run r = build_sampled(state, &t, &peak, &samples);
  assert_ce(&r);
  cr_assert(strstr(r.out, "an entry of 2147483648 bytes passes the cap of 1073741824 bytes"), "%s",
            r.out);
  /* Nothing of it was written: a few KB of directories at most. */
  cr_assert_lt(peak - before, MIB, "the state dir grew by %lld bytes (%d samples)",
               (long long)(peak - before), samples);
  char cmd[4400];
  snprintf(cmd, sizeof cmd, "test -z \"$(ls -A %s/work 2>/dev/null)\"", state);
  cr_assert_eq(system(cmd), 0, "a work directory was left in %s/work", state);
  h_run_free(&r);
  h_tgz_free(&t);
  t_rmdir(state);
}

/* ---- the library's caps, lowered so the test writes little ------------------- */

typedef struct extraction {
  const h_tgz *t;
  const char *dest;
  dk_tar_extract_options o;
  int rc;
  char message[512];
  atomic_bool done;
} extraction;

static void *extract_main(void *ud) {
  extraction *x = ud;
  x->rc = dk_tar_extract_opts(x->t->buf, x->t->used, x->dest, &x->o);
  if (x->rc && dk_error_last())
    snprintf(x->message, sizeof x->message, "%s", dk_error_last()->message);
  atomic_store(&x->done, true);
  return NULL;
}

/* Extracts t under o in a thread while sampling the disk use of dest. */
static int64_t extract_sampled(extraction *x) {
  pthread_t th;
  int64_t peak = 0;
  cr_assert_eq(pthread_create(&th, NULL, extract_main, x), 0);
  while (!atomic_load(&x->done)) {
    int64_t use = h_disk_use(x->dest);
    if (use > peak)
      peak = use;
    usleep(2000); /* the sampling period */
  }
  pthread_join(th, NULL);
  int64_t use = h_disk_use(x->dest);
  return use > peak ? use : peak;
}

/* 40 files of 4 MiB of zeros (a few hundred KB gzip'd), each within a
 * 64 MiB cap, together 160 MiB: the extraction stops at the cap, having
 * written at most the cap. */
Test(tar_bomb, files_of_zeros_past_the_bytes_cap_stop_at_the_cap) {
  h_tgz t;
  h_tgz_begin(&t, 16 << 20);
  for (int i = 0; i < 40; i++) {
    char name[32];
    snprintf(name, sizeof name, "zeros%02d", i);
    h_tgz_entry(&t, name, AE_IFREG, 4 * MIB, NULL, 0, 0);
  }
  h_tgz_end(&t);
  cr_assert_lt(t.used, 2 * MIB, "the bomb is %zu bytes", t.used);
  char *dest = t_tmpdir("bombx");
  extraction x = {.t = &t, .dest = dest, .o = {.max_bytes = 64 * MIB}};
  int64_t peak = extract_sampled(&x);
  cr_assert_eq(x.rc, DK_ETOOBIG, "%s", x.message);
  cr_assert(strstr(x.message, "an entry of 4194304 bytes passes the cap of 67108864 bytes "
                              "(67108864 before it"),
            "%s", x.message);
  cr_assert_leq(peak, 64 * MIB + MIB, "%lld bytes on disk", (long long)peak);
  char p[4200];
  snprintf(p, sizeof p, "%s/zeros16", dest);
  cr_assert(!jd_path_exists(p), "the 17th file was written");
  h_tgz_free(&t);
  t_rmdir(dest);
}

/* Within the caps, a sparse entry keeps its holes: 1 GiB apparent, a few
 * KB of disk. */
Test(tar_bomb, a_sparse_entry_within_the_caps_keeps_its_holes) {
  h_tgz t;
  bomb_tgz(&t, GIB, 1);
  char *dest = t_tmpdir("sparsex");
  extraction x = {.t = &t, .dest = dest, .o = {.max_bytes = GIB + MIB}};
  int64_t peak = extract_sampled(&x);
  cr_assert_eq(x.rc, 0, "%s", x.message);
  char p[4200];
  snprintf(p, sizeof p, "%s/bomb", dest);
  struct stat st;
  cr_assert_eq(stat(p, &st), 0);
  cr_assert_eq(st.st_size, GIB);
  cr_assert_lt(peak, MIB, "%lld bytes on disk", (long long)peak);
  h_tgz_free(&t);
  t_rmdir(dest);
}
