/* Benchmark: fair clocks (issue 23, docs/protocol.md "Turn clocks"): the
 * figures of the "Figures" section, from matches run in this
 * process (jd_match_run) with ctx.clock_backend set per row.
 *
 * The programs are tests/bench/games/clocks/game.c (the game logic: turns
 * from its config, figures to /judger/out/summary.json) and player.c (a bot
 * that spends exactly burn_ms of its own CPU per turn, measured with
 * CLOCK_PROCESS_CPUTIME_ID from reading its turn's line to its reply, and
 * reports it), compiled static here and run from the busybox test image
 * with their directory at /app. One player per match; on_timeout "freeze"
 * (a timed-out turn is counted and ended, the match plays on).
 *
 *  - accuracy: burn N = 10, 100, 1000 ms a turn (40, 20, 5 turns), budget
 *    2N + 1000: the judger's charge (turn_ended used_ms) minus the player's
 *    own CPU time, per turn: median and max of |error|, the signed median,
 *    against the goal max(2 ms, 2 % N); per backend, without and with
 *    freeze_idle (the api: without). The game logic sends "turn" and then the player's line at
 *    once, as docs/protocol.md tells authors to: a player that reads its
 *    line before the judger has read "turn" and taken its first reading
 *    burns uncharged CPU (a negative error). With freeze_idle the player is
 *    frozen until the judger has read "turn", so that race is gone and the
 *    error is the meter's own.
 *  - overhead: 200 turns with an instant reply: the game logic's wall time
 *    of a turn (turn, the line, the reply, turn_end, the turn_ended event)
 *    against the same exchange without turn commands, with and without
 *    freeze_idle: the ms a clocked turn adds (medians, and means); per
 *    backend.
 *  - fairness (the headline): 100 ms of CPU a turn, budget 150 ms, bank 0,
 *    50 turns, alone and beside a hog (another match's players: one
 *    busybox container of ours per CPU, each running one busy loop per
 *    CPU, unlimited; the cores they used are printed),
 *    clock "wall" and clock "cpu", on the first backend given: the
 *    timeouts (game logic's count / result.json turns.timeouts), the
 *    median charged, its change against the unloaded run (goal: cpu 0
 *    timeouts and within 10 %; wall: timeouts under load).
 *  - pondering: a bot computing without pause between its turns (10 ms
 *    turns, 100 ms between them, 30 turns), freeze_idle on and off: its CPU
 *    off its turns per turn, by its own clock (median and max, its first
 *    turn left out) and from result.json (usage cpu_ms minus the charged
 *    turns, over the turns). Goal with freeze_idle: <= 1 ms a turn. Mind
 *    that neither is "while frozen" alone: the usage figure is the CPU no
 *    turn was charged, i.e. from the judger reading turn_end to the freeze
 *    landing; the bot's own also holds what it computed from its reply to
 *    that turn_end and from its thaw to its next line (charged).
 *
 * Through the api the matches are shorter (accuracy 5, 3, 3 turns;
 * overhead 12; pondering 8): each reading there waits for the engine's
 * stats collector.
 *
 *   bench_clocks [--only accuracy|overhead|fairness|ponder]... [--backend cgroup|api]...
 *                [--quick]
 *
 * --quick: a fifth of every match's turns (at least 3), to try it out.
 * With BENCH_CLOCKS_TURNS set in the environment every turn's figures go
 * to stderr.
 *
 * Backends: both by default ("cgroup" needs the judger on the engine's
 * host; "api" goes through the engine's stats and pause/unpause). The
 * engine is $DOCKER_HOST's (a DinD sidecar: run it with DOCKER_HOST set,
 * --backend api, and the programs' directory must be visible to that engine
 * at the same path). Exits 1 when a match fails. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bench.h"
#include "common/log.h"
#include "common/tmpfile.h"
#include "common/util.h"
#include "dockerapi/dockerapi.h"
#include "match/cgroup_meter.h"
#include "match/match.h"

#define MAXT 2000
#define SRC JD_SOURCE_DIR "/tests/bench/games/clocks"

static char root[] = "/tmp/jdbench-clocks-XXXXXX";
static char app[PATH_MAX], host_id[64];
static jd_ctx ctx;
static int failures, quick; /* --quick: a fifth of the turns (a smoke test) */

typedef struct run_opts {
  const char *backend; /* ctx.clock_backend */
  const char *clock;   /* limits.clock */
  bool freeze_idle, ponder, clocked;
  int turns, burn_ms, budget_ms, gap_ms;
} run_opts;

typedef struct run_res {
  int done, timeouts;
  long long own[MAXT], off[MAXT], used[MAXT], wall[MAXT]; /* µs */
  bool usage_known;
  char source[16];
  long long cpu_us; /* the player's usage cpu_ms, in µs */
  long long turn_timeouts, turn_count;
} run_res;

/* ---- the programs and the matches ------------------------------------------ */

static int build_programs(void) {
  snprintf(app, sizeof app, "%s/app", root);
  if (chmod(root, 0755) || jd_mkdir_p(app, 0755))
    return -1;
  const char *names[] = {"game", "player"};
  for (int i = 0; i < 2; i++) {
    char cmd[PATH_MAX * 3];
    snprintf(cmd, sizeof cmd, "gcc -std=gnu11 -O2 -static -o %s/%s %s/%s.c 2>%s/cc.log", app,
             names[i], SRC, names[i], root);
    if (system(cmd)) {
      fprintf(stderr, "bench_clocks: cannot compile %s.c (see %s/cc.log)\n", names[i], root);
      return -1;
    }
  }
  return 0;
}

static jd_match_spec *spec_of(const run_opts *o, int seq) {
  char *json = NULL;
  if (asprintf(
          &json,
          "{\"id\":\"clocks%d\",\"game_logic\":{\"id\":\"clocks-game\",\"image\":\"" BENCH_IMAGE
          "\",\"dir\":\"%s\",\"cmd\":[\"/app/game\"]},\"players\":[{\"id\":\"clocks-bot\","
          "\"image\":\"" BENCH_IMAGE "\",\"dir\":\"%s\",\"cmd\":[\"/app/player\"%s]}],"
          "\"limits\":{\"clock\":\"%s\",\"freeze_idle\":%s,\"on_timeout\":\"freeze\","
          "\"time_bank_ms\":0,\"players\":{\"wall_ms\":300000}},"
          "\"config\":{\"turns\":%d,\"burn_ms\":%d,\"budget_ms\":%d,\"clocked\":%d,"
          "\"gap_ms\":%d}}",
          seq, app, app, o->ponder ? ",\"ponder\"" : "", o->clock,
          o->freeze_idle ? "true" : "false", o->turns, o->burn_ms, o->budget_ms, o->clocked,
          o->gap_ms) < 0)
    return NULL;
  return bench_spec_parse(json);
}

/* summary.json's array name into v (at most MAXT). */
static void summary_array(json_object *s, const char *name, long long *v) {
  json_object *a;
  if (!json_object_object_get_ex(s, name, &a) || !json_object_is_type(a, json_type_array))
    return;
  for (size_t i = 0; i < json_object_array_length(a) && i < MAXT; i++)
    v[i] = json_object_get_int64(json_object_array_get_idx(a, i));
}

static int read_summary(run_res *res, const char *out) {
  char path[PATH_MAX + 16];
  snprintf(path, sizeof path, "%s/summary.json", out);
  json_object *s = json_object_from_file(path), *v;
  if (!s)
    return -1;
  const char *error = json_object_object_get_ex(s, "error", &v) ? json_object_get_string(v) : "";
  res->done = json_object_object_get_ex(s, "done", &v) ? json_object_get_int(v) : 0;
  res->timeouts = json_object_object_get_ex(s, "timeouts", &v) ? json_object_get_int(v) : 0;
  summary_array(s, "own_us", res->own);
  summary_array(s, "off_us", res->off);
  summary_array(s, "used_us", res->used);
  summary_array(s, "wall_us", res->wall);
  int rc = error && *error ? -1 : 0;
  if (rc)
    fprintf(stderr, "bench_clocks: the game logic says: %s\n", error);
  json_object_put(s);
  return rc;
}

static void read_usage(run_res *res, const jd_match_result *r) {
  for (size_t i = 0; i < r->ninstances; i++) {
    const jd_instance_result *in = &r->instances[i];
    if (in->ai != 0)
      continue;
    res->usage_known = in->usage_known;
    snprintf(res->source, sizeof res->source, "%s", in->usage_source ? in->usage_source : "?");
    res->cpu_us = in->cpu_ns >= 0 ? in->cpu_ns / 1000 : -1;
    res->turn_timeouts = in->clocked ? in->turns.timeouts : 0;
    res->turn_count = in->clocked ? in->turns.turns : 0;
  }
}

/* One match; 0 when it finished with every turn played. */
static int run_match(run_res *res, const run_opts *o) {
  static int seq;
  memset(res, 0, sizeof *res);
  res->cpu_us = -1;
  run_opts q = *o;
  if (quick)
    q.turns = q.turns / 5 > 3 ? q.turns / 5 : 3;
  o = &q;
  jd_match_spec *spec = spec_of(o, ++seq);
  if (!spec)
    return -1;
  char out[PATH_MAX];
  snprintf(out, sizeof out, "%s/out%d", root, seq);
  ctx.clock_backend = o->backend;
  jd_match_result *r = NULL;
  char err[256] = "";
  int rc = jd_match_run(&r, &ctx, spec, out, NULL, err, sizeof err);
  if (rc || r->status != JD_MATCH_STATUS_FINISHED) {
    fprintf(stderr, "bench_clocks: match %d: %s\n", seq, rc ? err : r->reason ? r->reason : "?");
    rc = -1;
  }
  if (!rc && (read_summary(res, out) || res->done != o->turns))
    rc = -1;
  if (r)
    read_usage(res, r);
  if (getenv("BENCH_CLOCKS_TURNS"))
    for (int i = 0; i < res->done; i++)
      fprintf(stderr, "match %d turn %d: own %lld off %lld used %lld wall %lld us\n", seq, i + 1,
              res->own[i], res->off[i], res->used[i], res->wall[i]);
  jd_match_result_free(r);
  jd_match_spec_free(spec);
  jd_rm_rf(out);
  if (rc)
    failures++;
  return rc;
}

/* ---- figures ------------------------------------------------------------------- */

static double median_of(const long long *v, int from, int n) {
  static long long tmp[MAXT];
  if (n <= from)
    return 0;
  memcpy(tmp, v + from, sizeof *v * (size_t)(n - from));
  return (double)bench_median(tmp, n - from);
}

static double mean_of(const long long *v, int n) {
  double s = 0;
  for (int i = 0; i < n; i++)
    s += (double)v[i];
  return n ? s / n : 0;
}

static double max_of(const long long *v, int from, int n) {
  long long m = n > from ? v[from] : 0;
  for (int i = from; i < n; i++)
    m = v[i] > m ? v[i] : m;
  return (double)m;
}

static double sum_of(const long long *v, int n) { return mean_of(v, n) * n; }

/* ---- the hog -------------------------------------------------------------------- */

/* Another match's players burning every core: one busybox container of
 * ours per CPU (at most HOG_MAX), each with one busy loop per CPU,
 * unlimited. One container would not do: each container is a CFS group
 * of its own, and one group with the default weight takes only about a
 * third of the bot's core. */
#define HOG_MAX 4

typedef struct hog {
  int n;
  char *id[HOG_MAX];
  jd_meter *meter[HOG_MAX];
  int64_t cpu0[HOG_MAX], t0;
} hog;

static int hog_one(hog *h, int k, long ncpu) {
  char script[512] = "";
  for (long i = 0; i < ncpu; i++)
    strcat(script, "(while :; do :; done) & ");
  /* Its sh exits after 10 minutes, should this process die first. */
  strcat(script, "sleep 600");
  const char *cmd[] = {"sh", "-c", script, NULL};
  dk_kv labels[] = {{"judger.host", host_id}, {"judger.bench", "clocks-hog"}};
  dk_container_config cc = {.image = BENCH_IMAGE, .cmd = cmd, .labels = labels, .nlabels = 2};
  cc.host.auto_remove = true;
  char name[128], err[256];
  snprintf(name, sizeof name, "%s-hog%d", host_id, k);
  if (dk_container_create(&h->id[k], ctx.dk, name, &cc) || dk_container_start(ctx.dk, h->id[k]))
    return -1;
  if (jd_meter_open(&h->meter[k], ctx.dk, h->id[k], NULL, JD_METER_AUTO, err, sizeof err) ||
      jd_meter_cpu(&h->cpu0[k], h->meter[k], err, sizeof err))
    fprintf(stderr, "bench_clocks: the hog's meter: %s\n", err);
  return 0;
}

/* Removes the hog; the cores it used on average (-1 when unknown). */
static double hog_stop(hog *h) {
  int64_t used = 0, t1 = dk_now_ms();
  char err[256];
  for (int k = 0; k < h->n; k++) {
    int64_t cpu1 = -1;
    if (h->meter[k] && jd_meter_cpu(&cpu1, h->meter[k], err, sizeof err))
      cpu1 = -1;
    used = used >= 0 && cpu1 >= 0 ? used + cpu1 - h->cpu0[k] : -1;
    jd_meter_close(h->meter[k]);
    if (h->id[k])
      dk_container_remove(ctx.dk, h->id[k], true, true);
    free(h->id[k]);
  }
  double cores = used >= 0 && t1 > h->t0 ? (double)used / 1e6 / (double)(t1 - h->t0) : -1;
  memset(h, 0, sizeof *h);
  return cores;
}

static int hog_start(hog *h) {
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  ncpu = ncpu < 1 ? 1 : ncpu > HOG_MAX ? HOG_MAX : ncpu;
  memset(h, 0, sizeof *h);
  h->t0 = dk_now_ms();
  for (h->n = 0; h->n < ncpu; h->n++)
    if (hog_one(h, h->n, ncpu)) {
      h->n++;
      hog_stop(h);
      return -1;
    }
  return 0;
}

/* ---- the sections --------------------------------------------------------------- */

/* The turns of a row: n, or api_n through the api, where each reading
 * waits for the engine's stats collector (~1 s on Docker 20.10). */
static int turns_for(const char *backend, int n, int api_n) {
  return strcmp(backend, "api") ? n : api_n;
}

static const char *backends[2];
static int nbackends;

static void accuracy(void) {
  static const int burns[] = {10, 100, 1000}, turns[] = {40, 20, 5}, api_turns[] = {5, 3, 3};
  static run_res r;
  printf("\nclock accuracy: charged (turn_ended used_ms) - the player's own CPU per turn, ms\n");
  printf("%-8s %-6s %6s %6s %9s %9s %10s %8s %5s\n", "backend", "freeze", "N", "turns", "med |err|",
         "max |err|", "med signed", "goal", "ok");
  for (int b = 0; b < nbackends; b++)
    for (int j = 0; j < (strcmp(backends[b], "api") ? 6 : 3); j++) {
      int k = j % 3, freeze = j / 3;
      run_opts o = {.backend = backends[b],
                    .clock = "cpu",
                    .clocked = true,
                    .turns = turns_for(backends[b], turns[k], api_turns[k]),
                    .burn_ms = burns[k],
                    .budget_ms = 2 * burns[k] + 1000,
                    .freeze_idle = freeze};
      if (run_match(&r, &o))
        continue;
      static long long err[MAXT], abs_err[MAXT];
      for (int i = 0; i < r.done; i++)
        err[i] = r.used[i] - r.own[i], abs_err[i] = llabs(err[i]);
      double goal = burns[k] * 0.02 > 2 ? burns[k] * 0.02 : 2, mx = max_of(abs_err, 0, r.done);
      printf("%-8s %-6s %6d %6d %9.3f %9.3f %10.3f %8.1f %5s\n", backends[b], freeze ? "yes" : "no",
             burns[k], r.done, median_of(abs_err, 0, r.done) / 1000, mx / 1000,
             median_of(err, 0, r.done) / 1000, goal, mx / 1000 <= goal ? "yes" : "NO");
      fflush(stdout);
    }
}

static void overhead(void) {
  static run_res r;
  printf("\noverhead of a clocked turn (instant reply, 200 turns, api 12): the game "
         "logic's wall time of a turn, ms\n");
  printf("%-8s %-22s %8s %8s %9s %9s\n", "backend", "turn", "median", "mean", "+median", "+mean");
  for (int b = 0; b < nbackends; b++) {
    double base_med = 0, base_mean = 0;
    for (int k = 0; k < 3; k++) {
      run_opts o = {.backend = backends[b],
                    .clock = "cpu",
                    .clocked = k > 0,
                    .freeze_idle = k == 2,
                    .turns = turns_for(backends[b], 200, 12),
                    .budget_ms = 1000};
      if (run_match(&r, &o))
        continue;
      double med = median_of(r.wall, 0, r.done) / 1000, mean = mean_of(r.wall, r.done) / 1000;
      if (k == 0)
        base_med = med, base_mean = mean;
      const char *what[] = {"unclocked", "clocked", "clocked, freeze_idle"};
      printf("%-8s %-22s %8.3f %8.3f %9.3f %9.3f\n", backends[b], what[k], med, mean,
             med - base_med, mean - base_mean);
      fflush(stdout);
    }
  }
}

typedef struct fair_row {
  const char *backend, *clock;
} fair_row;

static void fairness_row(const fair_row *f, run_res *r) {
  double base = 0;
  for (int loaded = 0; loaded < 2; loaded++) {
    run_opts o = {.backend = f->backend,
                  .clock = f->clock,
                  .clocked = true,
                  .turns = 50,
                  .burn_ms = 100,
                  .budget_ms = 150};
    hog h = {0};
    if (loaded && hog_start(&h)) {
      fprintf(stderr, "bench_clocks: cannot start the hog\n");
      failures++;
      return;
    }
    int rc = run_match(r, &o);
    double cores = loaded ? hog_stop(&h) : 0;
    if (rc)
      continue;
    double med = median_of(r->used, 0, r->done) / 1000;
    if (!loaded)
      base = med;
    char hog_cores[16] = "-";
    if (loaded)
      snprintf(hog_cores, sizeof hog_cores, "%.2f", cores);
    printf("%-8s %-6s %-8s %5s %6d %8lld %9lld %8.1f %7.1f %8.1f %8.1f\n", f->backend, f->clock,
           loaded ? "loaded" : "alone", hog_cores, r->done, (long long)r->timeouts,
           r->turn_timeouts, med, loaded && base > 0 ? 100.0 * (med - base) / base : 0,
           median_of(r->own, 0, r->done) / 1000, median_of(r->wall, 0, r->done) / 1000);
    fflush(stdout);
  }
}

static void fairness(void) {
  static run_res r;
  printf("\nfairness under load: 100 ms of CPU a turn, budget 150 ms, no bank, 50 turns, alone and "
         "beside a hog\n(a container per CPU, a busy loop per CPU in each); charged = turn_ended "
         "used_ms; wall = the game logic's per turn; ms\n");
  printf("%-8s %-6s %-8s %5s %6s %8s %9s %8s %7s %8s %8s\n", "backend", "clock", "load", "hog",
         "turns", "timeouts", "(result)", "charged", "delta%", "own cpu", "wall");
  fair_row rows[] = {{backends[0], "wall"}, {backends[0], "cpu"}};
  for (int i = 0; i < 2; i++)
    fairness_row(&rows[i], &r);
}

static void ponder(void) {
  static run_res r;
  enum { TURNS = 30 };
  printf("\npondering: a bot computing between its turns (10 ms turns, 100 ms apart, %d turns, "
         "api 8): its CPU off its turns, ms a turn\n",
         TURNS);
  printf("%-8s %-12s %10s %10s %12s %8s\n", "backend", "freeze_idle", "own med", "own max",
         "usage-turns", "source");
  for (int b = 0; b < nbackends; b++)
    for (int f = 1; f >= 0; f--) {
      run_opts o = {.backend = backends[b],
                    .clock = "cpu",
                    .clocked = true,
                    .freeze_idle = f,
                    .ponder = true,
                    .turns = turns_for(backends[b], TURNS, 8),
                    .burn_ms = 10,
                    .budget_ms = 1000,
                    .gap_ms = 100};
      if (run_match(&r, &o))
        continue;
      double by_usage = r.cpu_us >= 0 && r.usage_known
                            ? ((double)r.cpu_us - sum_of(r.used, r.done)) / r.done / 1000
                            : -1;
      printf("%-8s %-12s %10.3f %10.3f %12.3f %8s\n", backends[b], f ? "true" : "false",
             median_of(r.off, 1, r.done) / 1000, max_of(r.off, 1, r.done) / 1000, by_usage,
             r.usage_known ? r.source : "-");
      fflush(stdout);
    }
}

/* ---- main ---------------------------------------------------------------------- */

static int usage(void) {
  fprintf(stderr, "usage: bench_clocks [--only accuracy|overhead|fairness|ponder]... "
                  "[--backend cgroup|api]... [--quick]\n");
  return 2;
}

int main(int argc, char **argv) {
  static const char *const names[] = {"accuracy", "overhead", "fairness", "ponder"};
  void (*sections[])(void) = {accuracy, overhead, fairness, ponder};
  bool only[4] = {false}, some = false;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--only") && i + 1 < argc) {
      int k = 0;
      while (k < 4 && strcmp(names[k], argv[i + 1]))
        k++;
      if (k == 4)
        return usage();
      only[k] = some = true, i++;
    } else if (!strcmp(argv[i], "--quick"))
      quick = 1;
    else if (!strcmp(argv[i], "--backend") && i + 1 < argc && nbackends < 2 &&
             (!strcmp(argv[i + 1], "cgroup") || !strcmp(argv[i + 1], "api")))
      backends[nbackends++] = argv[++i];
    else
      return usage();
  }
  if (!nbackends)
    backends[nbackends++] = "cgroup", backends[nbackends++] = "api";
  bench_host_settings();
  jd_log_set_level(JD_LOG_WARN);
  snprintf(host_id, sizeof host_id, "jdbench-clocks-%d", (int)getpid());
  dk_client *dk = NULL;
  if (!mkdtemp(root) || dk_client_new(&dk, NULL))
    return 1;
  char state[PATH_MAX];
  snprintf(state, sizeof state, "%s/state", root);
  ctx = (jd_ctx){.dk = dk, .state_dir = state, .host_id = host_id};
  int64_t t0 = dk_now_ms();
  if (build_programs())
    failures++;
  else {
    printf("fair clocks (issue 23), %ld CPUs; every figure from one run of this benchmark\n",
           sysconf(_SC_NPROCESSORS_ONLN));
    for (int k = 0; k < 4; k++)
      if (!some || only[k])
        sections[k]();
  }
  printf("\n%d failed match(es); %.0f s\n", failures, (double)(dk_now_ms() - t0) / 1000);
  jd_rm_rf(root);
  dk_client_free(dk);
  return failures ? 1 : 0;
}
