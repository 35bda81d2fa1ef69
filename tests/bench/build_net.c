/* Benchmark: what a network of each build's own costs (build/build_net.h).
 *
 *   1. jd_build_net_open() + jd_build_net_free() with the proxy image made:
 *      the image checked (under the state dir's lock), the network created,
 *      the build's proxy created, connected to it, started and found
 *      listening; then the proxy removed and the network removed.
 *   2. In context: an image build `FROM judger/debian:bookworm` + `RUN true`
 *      (a unique ENV mark each: nothing from the layer cache) on its own
 *      network behind its own proxy, against the same build on one network
 *      and proxy kept for every build (what builds shared before), and
 *      with no network (image_network "none"). Builds alternate.
 *
 *   build/bin/bench_build_net [N]      (default N = 10, builds N/2 each)
 *
 * Needs the engine and judger/debian:bookworm (`judger build --base-image`). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "build/base_image.h"
#include "build/build_net.h"
#include "build/image_cache.h"
#include "common/clock.h"
#include "common/util.h"
#include "dockerapi/dockerapi.h"

static int build_once(jd_ctx *ctx, const char *id, const char *mark, const char *network,
                      long long *ms) {
  char df[256];
  snprintf(df, sizeof df, "FROM " JD_BASE_IMAGE "\nENV MARK=%s\nRUN true\n", mark);
  jd_build_limits lim = {.image_network = network};
  jd_env_image *img = NULL;
  int64_t t0 = jd_mono_ms();
  int rc = jd_env_image_ensure(
      &img, ctx, &(jd_build_request){.ref = {.domain = JD_DOMAIN_AI, .id = id}, .limits = lim},
      JD_OP_BUILD, df, strlen(df), NULL, 0);
  *ms = jd_mono_ms() - t0;
  if (!rc && img->verdict != JD_VERDICT_OK) {
    fprintf(stderr, "build: %s\n%s\n", img->message, img->log);
    rc = -1;
  }
  jd_env_image_free(img);
  return rc;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 10;
  if (n < 2)
    n = 2;
  dk_client *dk = NULL;
  if (dk_client_new(&dk, NULL) != 0) {
    fprintf(stderr, "no engine\n");
    return 1;
  }
  char state[] = "/tmp/bench-bnet-XXXXXX", host[32], id[64];
  if (!mkdtemp(state))
    return 1;
  snprintf(host, sizeof host, "bench-bnet-%d", (int)getpid());
  snprintf(id, sizeof id, "bench-bnet-%d", (int)getpid());
  jd_ctx ctx = {.dk = dk, .state_dir = state, .host_id = host};
  char err[512];
  jd_build_net *net = NULL;
  /* Warm: the proxy image made. */
  if (jd_build_net_open(&net, &ctx, NULL, err, sizeof err) != 0) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  jd_build_net_free(net);

  long long *open_ms = calloc((size_t)n, sizeof *open_ms),
            *free_ms = calloc((size_t)n, sizeof *free_ms);
  for (int i = 0; i < n; i++) {
    int64_t t0 = jd_mono_ms();
    if (jd_build_net_open(&net, &ctx, NULL, err, sizeof err) != 0) {
      fprintf(stderr, "%s\n", err);
      return 1;
    }
    int64_t t1 = jd_mono_ms();
    jd_build_net_free(net);
    open_ms[i] = t1 - t0;
    free_ms[i] = jd_mono_ms() - t1;
  }
  long long sum[6] = {0};
  for (int i = 0; i < n; i++) {
    sum[0] += open_ms[i];
    sum[1] += free_ms[i];
  }
  printf("per-build network, N=%d (median ms, mean in brackets)\n", n);
  printf("  jd_build_net_open (network, proxy created, connected, started)   %lld (%.1f)\n",
         bench_median(open_ms, n), (double)sum[0] / n);
  printf("  jd_build_net_free (proxy removed, network removed)               %lld (%.1f)\n",
         bench_median(free_ms, n), (double)sum[1] / n);

  /* In context: RUN true on its own network, on one network kept for all
   * builds (as before per-build networks: the proxy on it), and with none;
   * alternated. */
  jd_build_net *shared = NULL;
  if (jd_build_net_open(&shared, &ctx, NULL, err, sizeof err) != 0) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  int m = n / 2 > 0 ? n / 2 : 1;
  long long *with = calloc((size_t)m, sizeof *with), *kept = calloc((size_t)m, sizeof *kept),
            *without = calloc((size_t)m, sizeof *without);
  for (int i = 0; i < m; i++) {
    char mark[96];
    snprintf(mark, sizeof mark, "%s-net-%d", id, i);
    if (build_once(&ctx, id, mark, NULL, &with[i]) != 0)
      return 1;
    snprintf(mark, sizeof mark, "%s-kept-%d", id, i);
    if (build_once(&ctx, id, mark, shared->network, &kept[i]) != 0)
      return 1;
    snprintf(mark, sizeof mark, "%s-none-%d", id, i);
    if (build_once(&ctx, id, mark, "none", &without[i]) != 0)
      return 1;
  }
  jd_build_net_free(shared);
  long long w = bench_median(with, m), k = bench_median(kept, m), wo = bench_median(without, m);
  printf("image build FROM base + RUN true, N=%d each (median ms): own network %lld, one network "
         "kept for all %lld (own: +%lld, x%.2f), none %lld\n",
         m, w, k, w - k, k ? (double)w / (double)k : 0.0, wo);
  free(kept);
  jd_image_purge(NULL, NULL, &ctx, NULL, id, true, NULL, 0);
  jd_rm_rf(state);
  free(open_ms);
  free(free_ms);
  free(with);
  free(without);
  dk_client_free(dk);
  return 0;
}
