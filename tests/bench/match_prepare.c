/* Benchmark: a match whose programs all need a cold build, with its builds
 * one after another (build_jobs 1, what a match did before) against builds
 * at once (build_jobs = the default: CPUs, at most 4).
 *
 *   bench_match_prepare [runs]   (default 3)
 *
 * Three players, each from its own Dockerfile: a fresh LABEL (no layer
 * cache), one second of sleep (a download) and about a second of shell
 * arithmetic (a compile), on the busybox test image. The game logic is the
 * test game (a given image: no build). Runs alternate; medians; every image
 * made is removed after its run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "build/image_cache.h"
#include "common/fs.h"
#include "common/tmpfile.h"
#include "common/util.h"
#include "dockerapi/dockerapi.h"
#include "match/match.h"

#define IMAGE "judger-test/busybox:1"
#define GAME JD_SOURCE_DIR "/tests/judger/programs/game"
#define NPLAYERS 3

static char host_id[64];
static char root[] = "/tmp/jdbench-prep-XXXXXX";

/* Writes the players' sources for this run and returns the spec. */
static jd_match_spec *spec_new(int run) {
  char players[4096] = "";
  for (int i = 0; i < NPLAYERS; i++) {
    char dir[300], path[400], df[512];
    snprintf(dir, sizeof dir, "%s/r%d-p%d", root, run, i);
    jd_mkdir_p(dir, 0755);
    snprintf(path, sizeof path, "%s/run.Dockerfile", dir);
    snprintf(df, sizeof df,
             "FROM " IMAGE "\nLABEL bench=%s-%d-%d\nRUN sleep 1 && i=0 && while [ $i -lt 150000 ]; "
             "do i=$((i+1)); done\nCMD [\"true\"]\n",
             host_id, run, i);
    jd_write_file(path, df, strlen(df));
    snprintf(players + strlen(players), sizeof players - strlen(players),
             "%s{\"id\":\"bp%d-%d\",\"dir\":\"%s\"}", i ? "," : "", run, i, dir);
  }
  char *json = NULL;
  if (asprintf(&json,
               "{\"id\":\"prep%d\",\"game_logic\":{\"id\":\"game\",\"image\":\"" IMAGE
               "\",\"dir\":\"" GAME "\",\"cmd\":[\"sh\",\"/app/main.sh\"]},\"players\":[%s],"
               "\"config\":{\"mode\":\"bench\",\"seed\":1,\"plan\":\"0 1 2\"}}",
               run, players) < 0)
    return NULL;
  return bench_spec_parse(json);
}

/* One cold match with build_jobs jobs; -1 on failure. */
static long long run_one(jd_ctx *ctx, int run, int jobs) {
  jd_match_spec *spec = spec_new(run);
  if (!spec)
    return -1;
  char out[300];
  snprintf(out, sizeof out, "%s/out%d", root, run);
  ctx->build_jobs = jobs;
  jd_match_result *r = NULL;
  int64_t t0 = dk_now_ms();
  int rc = jd_match_run(&r, ctx, spec, out, NULL, NULL, 0);
  long long ms = dk_now_ms() - t0;
  if (rc || r->status != JD_MATCH_STATUS_FINISHED) {
    fprintf(stderr, "match: %s\n", r && r->reason ? r->reason : "failed");
    ms = -1;
  }
  jd_match_result_free(r);
  jd_match_spec_free(spec);
  for (int i = 0; i < NPLAYERS; i++) {
    char id[64];
    snprintf(id, sizeof id, "bp%d-%d", run, i);
    jd_image_purge(NULL, NULL, ctx, NULL, id, true, NULL, 0);
  }
  return ms;
}

int main(int argc, char **argv) {
  int runs = argc > 1 ? atoi(argv[1]) : 3;
  if (runs < 1 || runs > 50 || !mkdtemp(root))
    return 2;
  snprintf(host_id, sizeof host_id, "jdbench-prep-%d", (int)getpid());
  dk_client *dk = NULL;
  if (dk_client_new(&dk, NULL))
    return 3;
  char state[320];
  snprintf(state, sizeof state, "%s/state", root);
  jd_ctx ctx = {.dk = dk, .state_dir = state, .host_id = host_id};
  long long serial[50], parallel[50];
  int ok = 1;
  for (int i = 0; i < runs && ok; i++) {
    serial[i] = run_one(&ctx, 2 * i, 1);
    parallel[i] = run_one(&ctx, 2 * i + 1, 0);
    ok = serial[i] >= 0 && parallel[i] >= 0;
    printf("run %d: one at a time %lld ms, at once (%d jobs) %lld ms\n", i, serial[i],
           jd_build_jobs_default(), parallel[i]);
  }
  if (ok) {
    long long s = bench_median(serial, runs), p = bench_median(parallel, runs);
    printf("cold match, %d programs built: one at a time %lld ms, at once %lld ms: %.2fx\n",
           NPLAYERS, s, p, (double)p / (double)s);
  }
  if (jd_rm_rf(root))
    fprintf(stderr, "could not remove %s\n", root);
  dk_client_free(dk);
  return ok ? 0 : 1;
}
