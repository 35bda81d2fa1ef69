/* Benchmark: what build safety costs, each against a baseline of the same
 * run. Figures go into docs/performance.md and docs/build.md.
 *
 *   1. Sanitising a 10 000-file artifacts tree (100 directories of 100
 *      files of 1 KiB) against copying the same tree (what every build
 *      does anyway) and against a plain lstat walk (nftw).
 *   2. An image build whose RUN installs a Debian package (apt-get update
 *      + install hello) through the build network's proxy, against the
 *      same build on the engine's plain bridge. Builds alternate; each
 *      has its own ENV mark so nothing comes from the layer cache.
 *
 *   build/bin/bench_build_safety [N]      (default N = 3 image builds each)
 *
 * Needs the engine and judger/debian:bookworm (`judger build --base-image`). */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/base_image.h"
#include "build/image_cache.h"
#include "build/sanitise.h"
#include "common/clock.h"
#include "common/tmpfile.h"
#include "common/util.h"
#include "dockerapi/dockerapi.h"

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp);
  return v[n / 2];
}

static void make_tree(const char *root) {
  char p[4096], block[1024];
  memset(block, 'x', sizeof block);
  mkdir(root, 0755);
  for (int d = 0; d < 100; d++) {
    snprintf(p, sizeof p, "%s/d%02d", root, d);
    mkdir(p, 0755);
    for (int f = 0; f < 100; f++) {
      snprintf(p, sizeof p, "%s/d%02d/f%03d", root, d, f);
      jd_write_file(p, block, sizeof block);
    }
  }
}

static int nop(const char *p, const struct stat *st, int fl, struct FTW *w) {
  (void)p, (void)st, (void)fl, (void)w;
  return 0;
}

static void bench_sanitise(void) {
  char dir[] = "/tmp/bench-safety-XXXXXX", src[64], copy[64];
  if (!mkdtemp(dir))
    return;
  snprintf(src, sizeof src, "%s/src", dir);
  snprintf(copy, sizeof copy, "%s/copy", dir);
  make_tree(src);
  double san[7], cp[7], walk[7];
  for (int i = 0; i < 7; i++) {
    int64_t t0 = jd_mono_ms();
    nftw(src, nop, 16, FTW_PHYS);
    int64_t t1 = jd_mono_ms();
    jd_copy_tree(src, copy);
    int64_t t2 = jd_mono_ms();
    jd_sanitise_report r;
    jd_sanitise_tree(&r, copy, NULL, geteuid(), getegid(), NULL);
    int64_t t3 = jd_mono_ms();
    jd_rm_rf(copy);
    walk[i] = (double)(t1 - t0);
    cp[i] = (double)(t2 - t1);
    san[i] = (double)(t3 - t2);
  }
  double s = median(san, 7), c = median(cp, 7), w = median(walk, 7);
  printf("sanitise 10000 files: %.0f ms (median of 7); copy of the same tree %.0f ms "
         "(sanitise/copy %.2f); nftw lstat walk %.0f ms (sanitise/walk %.1f)\n",
         s, c, c > 0 ? s / c : 0, w, w > 0 ? s / w : 0);
  jd_rm_rf(dir);
}

static double build_once(jd_ctx *ctx, int i, const char *network) {
  char df[512], id[64];
  snprintf(id, sizeof id, "benchnet-%d-%d", (int)getpid(), i);
  snprintf(df, sizeof df,
           "FROM " JD_BASE_IMAGE "\nENV MARK=%s\n"
           "RUN apt-get update && apt-get install -y --no-install-recommends hello\n",
           id);
  jd_build_limits lim = {.image_network = network, .wall_ms = 600000};
  jd_env_image *img = NULL;
  int64_t t0 = jd_mono_ms();
  int rc = jd_env_image_ensure(
      &img, ctx, &(jd_build_request){.ref = {.domain = JD_DOMAIN_AI, .id = id}, .limits = lim},
      JD_OP_BUILD, df, strlen(df), NULL, 0);
  double ms = (double)(jd_mono_ms() - t0);
  if (rc || img->verdict != JD_VERDICT_OK) {
    fprintf(stderr, "build on %s failed: %s\n", network ? network : "proxy",
            img && img->message ? img->message : "engine error");
    ms = -1;
  }
  jd_env_image_free(img);
  jd_image_purge(NULL, NULL, ctx, NULL, id, true, NULL, 0);
  return ms;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 3;
  if (n < 1 || n > 15)
    n = 3;
  bench_sanitise();
  dk_client *c = NULL;
  if (dk_client_new(&c, NULL) != 0) {
    fprintf(stderr, "no engine\n");
    return 1;
  }
  char state[] = "/tmp/bench-safety-state-XXXXXX";
  if (!mkdtemp(state))
    return 1;
  jd_ctx ctx = {.dk = c, .state_dir = state, .host_id = "bench"};
  build_once(&ctx, 1000, NULL); /* warm: the proxy image, network and container */
  double px[15], br[15];
  for (int i = 0; i < n; i++) {
    px[i] = build_once(&ctx, 2 * i, NULL);
    br[i] = build_once(&ctx, 2 * i + 1, "bridge");
  }
  double p = median(px, n), b = median(br, n);
  printf("image build with apt-get install hello: through the proxy %.0f ms, plain bridge %.0f ms "
         "(median of %d each; proxy/bridge %.2f)\n",
         p, b, n, b > 0 ? p / b : 0);
  jd_rm_rf(state);
  dk_client_free(c);
  return 0;
}
