/* Benchmark: the cost of per-player networks, and how many players one host
 * holds at once with them.
 *
 *   bench_match_isolation [runs]     (default 5)
 *     A trivial 2- and 4-player match (the test game logic in "bench" mode,
 *     players that exit at once) with "isolation": "player" against the
 *     same spec with "isolation": "match", runs alternating, medians.
 *   bench_match_isolation --alive N  (default 40)
 *     N three-player matches at once, players that sleep: the time until
 *     all 3N players are running together, then every match cancelled, and
 *     the networks left with this run's label counted (must be 0).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "common/labels.h"
#include "common/util.h"
#include "dockerapi/dockerapi.h"
#include "match/match.h"

#define IMAGE "judger-test/busybox:1"
#define GAME JD_SOURCE_DIR "/tests/judger/programs/game"
#define TRIVIAL JD_SOURCE_DIR "/tests/judger/programs/trivial"

static char host_id[64];
static char state_dir[] = "/tmp/jdbench-state-XXXXXX";
static char out_root[] = "/tmp/jdbench-out-XXXXXX";

/* A spec of n players running player (a JSON program without its id),
 * the game in mode, with isolation. */
static jd_match_spec *spec_new(const char *id, int n, const char *player, const char *mode,
                               const char *isolation, const char *limits) {
  char players[8192] = "", plan[256] = "";
  for (int i = 0; i < n; i++) {
    snprintf(players + strlen(players), sizeof players - strlen(players), "%s{\"id\":\"t%d\",%s}",
             i ? "," : "", i, player);
    snprintf(plan + strlen(plan), sizeof plan - strlen(plan), "%s%d", i ? " " : "", i);
  }
  char *json = NULL;
  if (asprintf(&json,
               "{\"id\":\"%s\",\"isolation\":\"%s\",\"game_logic\":{\"id\":\"game\",\"image\":"
               "\"" IMAGE "\",\"dir\":\"" GAME "\",\"cmd\":[\"sh\",\"/app/main.sh\"]},"
               "\"players\":[%s],\"config\":{\"mode\":\"%s\",\"seed\":1,\"plan\":\"%s\"}%s%s}",
               id, isolation, players, mode, plan, limits ? ",\"limits\":" : "",
               limits ? limits : "") < 0)
    return NULL;
  return bench_spec_parse(json);
}

static int run_one(jd_ctx *ctx, const jd_match_spec *spec, dk_cancel *cancel, long long *ms) {
  char out[200];
  snprintf(out, sizeof out, "%s/%s", out_root, spec->id);
  jd_match_hooks hooks = {.cancel = cancel};
  jd_match_result *r = NULL;
  int64_t t0 = dk_now_ms();
  int rc = jd_match_run(&r, ctx, spec, out, &hooks, NULL, 0);
  if (ms)
    *ms = dk_now_ms() - t0;
  if (!rc && !cancel && r->status != JD_MATCH_STATUS_FINISHED) {
    fprintf(stderr, "match %s: %s\n", jd_match_status_name(r->status), r->reason ? r->reason : "");
    rc = -1;
  }
  jd_match_result_free(r);
  return rc;
}

static int cost(jd_ctx *ctx, int runs) {
  static const char player[] =
      "\"image\":\"" IMAGE "\",\"dir\":\"" TRIVIAL "\",\"cmd\":[\"sh\",\"/app/main.sh\"]";
  int sizes[] = {2, 4};
  printf("%-8s %14s %14s %7s\n", "players", "match ms", "player ms", "ratio");
  for (int s = 0; s < 2; s++) {
    jd_match_spec *shared = spec_new("shared", sizes[s], player, "bench", "match", NULL);
    jd_match_spec *own = spec_new("own", sizes[s], player, "bench", "player", NULL);
    long long a[50], b[50];
    for (int i = 0; i < runs; i++)
      if (!shared || !own || run_one(ctx, shared, NULL, &a[i]) || run_one(ctx, own, NULL, &b[i]))
        return 1;
    long long ma = bench_median(a, runs), mb = bench_median(b, runs);
    printf("%-8d %14lld %14lld %7.3f\n", sizes[s], ma, mb, (double)mb / (double)ma);
    fflush(stdout);
    jd_match_spec_free(shared);
    jd_match_spec_free(own);
  }
  return 0;
}

typedef struct alive_match {
  jd_ctx *ctx;
  jd_match_spec *spec;
  dk_cancel *cancel;
  pthread_t thread;
} alive_match;

static void *alive_main(void *arg) {
  alive_match *a = arg;
  run_one(a->ctx, a->spec, a->cancel, NULL);
  return NULL;
}

/* Running players of this run (the engine's view). */
static int players_running(dk_client *dk) {
  char host[128], role[128];
  snprintf(host, sizeof host, "%s=%s", JD_LABEL_HOST, host_id);
  snprintf(role, sizeof role, "%s=player", JD_LABEL_ROLE);
  const char *labels[] = {host, role, NULL};
  dk_container_list *l = NULL;
  if (dk_container_list_by_label(&l, dk, false, labels))
    return -1;
  int n = (int)l->count;
  dk_container_list_free(l);
  return n;
}

static int alive(jd_ctx *ctx, int n) {
  static const char player[] = "\"image\":\"" IMAGE "\",\"cmd\":[\"sleep\",\"900\"]";
  static const char limits[] = "{\"players\":{\"wall_ms\":900000},\"deadline_ms\":900000}";
  alive_match *m = calloc((size_t)n, sizeof *m);
  int64_t t0 = dk_now_ms();
  for (int i = 0; i < n; i++) {
    char id[32];
    snprintf(id, sizeof id, "alive%d", i);
    m[i].ctx = ctx;
    m[i].spec = spec_new(id, 3, player, "normal", "player", limits);
    if (!m[i].spec || dk_cancel_new(&m[i].cancel) ||
        pthread_create(&m[i].thread, NULL, alive_main, &m[i]))
      return 1;
  }
  /* A measurement: the engine is asked every 500 ms until all are up. */
  int running = 0, peak = 0;
  while (running < 3 * n && dk_now_ms() - t0 < 15 * 60 * 1000) {
    usleep(500 * 1000);
    running = players_running(ctx->dk);
    peak = running > peak ? running : peak;
  }
  int64_t up = dk_now_ms() - t0;
  for (int i = 0; i < n; i++)
    dk_cancel_fire(m[i].cancel);
  for (int i = 0; i < n; i++) {
    pthread_join(m[i].thread, NULL);
    jd_match_spec_free(m[i].spec);
    dk_cancel_free(m[i].cancel);
  }
  int64_t down = dk_now_ms() - t0 - up;
  char host[128];
  snprintf(host, sizeof host, "%s=%s", JD_LABEL_HOST, host_id);
  const char *labels[] = {host, NULL};
  dk_network_list *nets = NULL;
  int left = dk_network_list_by_label(&nets, ctx->dk, labels) ? -1 : (int)nets->count;
  dk_network_list_free(nets);
  printf("%d matches x 3 players: peak %d players running at once after %lld ms; "
         "cancelled and cleaned up in %lld ms; networks left: %d\n",
         n, peak, (long long)up, (long long)down, left);
  free(m);
  return peak == 3 * n && left == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
  bool alive_mode = argc > 1 && !strcmp(argv[1], "--alive");
  int arg = argc > 1 + alive_mode ? atoi(argv[1 + alive_mode]) : alive_mode ? 40 : 5;
  if (arg < 1 || arg > 50)
    arg = alive_mode ? 40 : 5;
  dk_client *dk = NULL;
  if (dk_client_new(&dk, NULL) || dk_ping(dk, NULL)) {
    fprintf(stderr, "bench_match_isolation: the engine is not reachable\n");
    return 1;
  }
  if (!mkdtemp(state_dir) || !mkdtemp(out_root))
    return 1;
  snprintf(host_id, sizeof host_id, "bench-%d", (int)getpid());
  jd_ctx ctx = {.dk = dk, .state_dir = state_dir, .host_id = host_id};
  int rc = alive_mode ? alive(&ctx, arg) : cost(&ctx, arg);
  jd_rm_rf(state_dir);
  jd_rm_rf(out_root);
  dk_client_free(dk);
  return rc;
}
