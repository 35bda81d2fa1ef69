/* Benchmark: cost as the work grows (issue 26), against the floor in the
 * same run.
 *
 * Players: the trivial match (bench.h: the test game logic in "bench" mode,
 * players that exit at once) with 2, 4, 8 and 16 players, one process
 * each: the floor (bench_floor_run: the same containers by plain
 * libdockerapi calls one after another) and `judger run SPEC --json` as a
 * process, with the settings as they are (no "limits" in the spec: the
 * build's defaults; the environment's JUDGER_* knobs apply), and with
 * --base JUDGER an older binary on the same spec. Time-to-result = the
 * first byte of the result on stdout, exit = the process's exit, both from
 * the fork. Within run i the columns take turns starting from column i;
 * after each judger run the benchmark waits, untimed, until nothing
 * labelled judger.host=<its host id> is left (the detached teardown has
 * ended), so every run starts on an idle engine. Medians.
 *
 * Slots: `judger daemon --slots 1, 2 and 4` on a private redis-server,
 * each taking N trivial daemon matches (tests/support's daemon game: a
 * game logic and one idle player, as bench_daemon) submitted at once:
 * matches per minute to the last result and to nothing left; against the
 * floor run by as many threads as slots (bench_floor_run with one player,
 * N in all). Two matches first, not counted (caches). The engine calls
 * per match from the daemon's judger_engine_requests_total (scraped before
 * and after the N matches; the daemon's background calls in that window
 * included). With --base, the older daemon too (no metrics there).
 *
 * Calls: the engine requests per match of both binaries seen the same way,
 * through a counting proxy (bench_count_proxy: the HTTP requests read off
 * the wire, by dk_call_kind): `judger run` of the trivial match of each
 * player count (its detached teardown included; one run first, not
 * counted), and a --slots 1 daemon's N matches (its background calls in
 * that window included; for this build, its own counters next to it).
 *
 *   bench_scale [runs] [--base JUDGER] [--matches N] [--rounds R]
 *               [--only players|slots|calls] [--players 2,4,8,16] [--slots 1,2,4]
 *
 * runs: 5 (players); N: 30; R: 1 (slots, median of R); --players and
 * --slots narrow the rows (players 1-16, slots 1-8). Needs the engine and
 * redis-server. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "common/clock.h"
#include "common/tmpfile.h"
#include "common/util.h"
#include "redis_server.h"
#include "support.h"

#define MAXRUNS 50
#define THIS JD_BINARY_DIR "/bin/judger"

static dk_client *dk;
static char host_id[64];
static char state_dir[] = "/tmp/jdbench-scale-XXXXXX";
static char out_dir[] = "/tmp/jdbench-scale-out-XXXXXX";

/* Waits (60 s at most) until nothing labelled with host is left. */
static void wait_clean(const char *host) {
  for (int i = 0; i < 3000 && bench_leftovers(dk, host) > 0; i++)
    usleep(20000);
}

/* ---- players ------------------------------------------------------------------ */

static int judger_once(const char *bin, const char *spec, long long *ttr, long long *wall) {
  static char out[1 << 16];
  bench_proc p = {.out = out, .out_cap = sizeof out};
  char *const argv[] = {(char *)bin,   "run",     (char *)spec, "--json", "--out", out_dir,
                        "--state-dir", state_dir, "--host-id",  host_id,  NULL};
  int rc = bench_proc_run(&p, argv, bench_no_line, NULL);
  if (rc)
    fprintf(stderr, "%s run %s failed (status %d): %.300s\n", bin, spec, p.status, out);
  *ttr = p.first_out, *wall = p.wall;
  wait_clean(host_id);
  bench_settle_runs(state_dir);
  return rc;
}

typedef struct column {
  long long ttr[MAXRUNS], wall[MAXRUNS];
} column;

/* Column k of run i: 0 floor, 1 this build, 2 base. */
static int one(int k, int n, const char *spec, const char *base, column *c, int i) {
  if (k == 0)
    return bench_floor_run(dk, n, host_id, &c->ttr[i], &c->wall[i]) ? -1 : 0;
  return judger_once(k == 1 ? THIS : base, spec, &c->ttr[i], &c->wall[i]);
}

/* "2,4,8" into v (at most cap); the count, or def's when s is NULL. */
static int int_list(int *v, int cap, const char *s, const int *def, int ndef) {
  int n = 0;
  for (; s && *s && n < cap; s += strspn(s, ","))
    v[n++] = (int)strtol(s, (char **)&s, 10);
  for (int i = 0; !s && i < ndef && i < cap; i++)
    v[n++] = def[i];
  return n;
}

static const char *players_arg, *slots_arg;

static int players_table(int runs, const char *base) {
  static const int def[] = {2, 4, 8, 16};
  int sizes[8];
  int nsizes = int_list(sizes, 8, players_arg, def, 4);
  int ncols = base ? 3 : 2;
  printf("players: time-to-result / exit, medians of %d (ms); judger with the settings as "
         "they are\n",
         runs);
  printf("%-8s %15s %15s %17s %15s\n", "players", "floor", "judger", "judger/floor",
         base ? "base" : "");
  for (int s = 0; s < nsizes; s++) {
    int n = sizes[s];
    if (n < 1 || n > BENCH_FLOOR_MAX_PLAYERS)
      continue;
    char spec[512];
    snprintf(spec, sizeof spec, "%s/scale-%d.json", state_dir, n);
    char *json = bench_trivial_spec(n, "");
    if (!json || jd_write_file(spec, json, strlen(json))) {
      free(json);
      return -1;
    }
    free(json);
    static column c[3];
    for (int k = 1; k < ncols; k++) /* once each, not counted */
      if (one(k, n, spec, base, &c[k], 0))
        return -1;
    for (int i = 0; i < runs; i++)
      for (int j = 0; j < ncols; j++)
        if (one((i + j) % ncols, n, spec, base, &c[(i + j) % ncols], i))
          return -1;
    long long fl = bench_median(c[0].ttr, runs), flw = bench_median(c[0].wall, runs);
    long long jt = bench_median(c[1].ttr, runs), jw = bench_median(c[1].wall, runs);
    char ratio[32];
    snprintf(ratio, sizeof ratio, "%.2fx/%.2fx", (double)jt / (double)fl, (double)jw / (double)flw);
    printf("%-8d %7lld/%-7lld %7lld/%-7lld %17s", n, fl, flw, jt, jw, ratio);
    if (base)
      printf(" %7lld/%-7lld", bench_median(c[2].ttr, runs), bench_median(c[2].wall, runs));
    printf("\n");
    fflush(stdout);
  }
  return 0;
}

/* ---- slots ------------------------------------------------------------------------ */

typedef struct floor_worker {
  int matches, failed;
  pthread_t th;
} floor_worker;

static void *floor_main(void *ud) {
  floor_worker *w = ud;
  for (int i = 0; i < w->matches; i++) {
    long long ttr, wall;
    if (bench_floor_run(dk, 1, host_id, &ttr, &wall))
      w->failed++;
  }
  return NULL;
}

/* matches floor matches on `threads` threads; matches per minute. */
static double floor_rate(int threads, int matches) {
  floor_worker w[8] = {0};
  int64_t t0 = jd_mono_ms();
  for (int i = 0; i < threads; i++) {
    w[i].matches = matches / threads + (i < matches % threads);
    pthread_create(&w[i].th, NULL, floor_main, &w[i]);
  }
  int failed = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(w[i].th, NULL);
    failed += w[i].failed;
  }
  if (failed)
    fprintf(stderr, "floor: %d runs failed\n", failed);
  return matches * 60000.0 / (double)(jd_mono_ms() - t0);
}

typedef struct daemon_run {
  double to_result, to_clean; /* matches per minute */
  dk_call_counts before, after;
  bool counted;
  bench_count_proxy *proxy; /* set: the daemon talks through it */
  dk_call_counts pbefore, pafter;
} daemon_run;

/* DOCKER_HOST for what is started next: the proxy's, or back to saved. */
static void engine_env(const bench_count_proxy *p, const char *saved) {
  if (p)
    setenv("DOCKER_HOST", bench_count_proxy_host(p), 1);
  else if (saved)
    setenv("DOCKER_HOST", saved, 1);
  else
    unsetenv("DOCKER_HOST");
}

static void daemon_rate(daemon_run *r, jd_queue *q, const char *redis_url, const char *bin,
                        bool metrics, int slots, int matches, const char *tag) {
  static int seq;
  char host[96], extra[64] = "";
  snprintf(host, sizeof host, "scale-%d-%s-%d-%d", (int)getpid(), tag, slots, seq++);
  int port = metrics ? bench_free_port() : -1;
  if (port > 0)
    snprintf(extra, sizeof extra, "--metrics-listen 127.0.0.1:%d", port);
  char *state = t_tmpdir("bench-scale");
  char *saved = getenv("DOCKER_HOST") ? strdup(getenv("DOCKER_HOST")) : NULL;
  engine_env(r->proxy, saved);
  pid_t pid = bench_daemon_spawn(bin, redis_url, host, state, slots, extra);
  engine_env(NULL, saved);
  free(saved);
  bench_wait_host(q, host);
  char id[128];
  for (int i = 0; i < 2; i++) { /* not counted: caches */
    snprintf(id, sizeof id, "%s-warm-%d", host, i);
    bench_submit_match(q, id, 0);
    bench_wait_result(q, id);
  }
  wait_clean(host);
  r->counted = port > 0 && bench_engine_requests(&r->before, port) == 0;
  if (r->proxy)
    bench_count_proxy_counts(&r->pbefore, r->proxy);
  int64_t t0 = jd_mono_ms();
  for (int i = 0; i < matches; i++) {
    snprintf(id, sizeof id, "%s-%d", host, i);
    bench_submit_match(q, id, 0);
  }
  for (int i = 0; i < matches; i++) {
    snprintf(id, sizeof id, "%s-%d", host, i);
    bench_wait_result(q, id);
  }
  r->to_result = matches * 60000.0 / (double)(jd_mono_ms() - t0);
  wait_clean(host);
  r->to_clean = matches * 60000.0 / (double)(jd_mono_ms() - t0);
  r->counted = r->counted && bench_engine_requests(&r->after, port) == 0;
  if (r->proxy)
    bench_count_proxy_counts(&r->pafter, r->proxy);
  kill(pid, SIGTERM);
  waitpid(pid, NULL, 0);
  bench_drop_stock(dk, host);
  t_rmdir(state);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median_d(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int slots_table(int matches, int rounds, const char *base) {
  t_redis *srv = t_redis_start(false, false);
  jd_queue *q = NULL;
  jd_queue_opts qo = {.redis_url = srv->url, .consumer = "bench"};
  if (jd_queue_new(&q, &qo) || jd_queue_setup(q))
    return -1;
  printf("slots: %d trivial daemon matches submitted at once, matches/min (median of %d); "
         "judger: to the last result (to nothing left)\n",
         matches, rounds);
  printf("%-6s %10s %22s %14s %22s\n", "slots", "floor", "judger", "judger/floor",
         base ? "base" : "");
  static const int def[] = {1, 2, 4};
  int slot_counts[8];
  int nslots = int_list(slot_counts, 8, slots_arg, def, 3);
  for (int s = 0; s < nslots; s++) {
    int n = slot_counts[s];
    if (n < 1 || n > 8)
      continue;
    double fl[16], res[2][16], clean[2][16];
    daemon_run last = {0};
    for (int r = 0; r < rounds; r++) {
      fl[r] = floor_rate(n, matches);
      daemon_run d = {0};
      daemon_rate(&d, q, srv->url, THIS, true, n, matches, "this");
      res[0][r] = d.to_result, clean[0][r] = d.to_clean;
      last = d;
      if (base) {
        daemon_rate(&d, q, srv->url, base, false, n, matches, "base");
        res[1][r] = d.to_result, clean[1][r] = d.to_clean;
      }
    }
    double f = median_d(fl, rounds), j = median_d(res[0], rounds), jc = median_d(clean[0], rounds);
    char ratio[32];
    snprintf(ratio, sizeof ratio, "%.2fx (%.2fx)", j / f, jc / f);
    printf("%-6d %10.1f %10.1f (%9.1f) %14s", n, f, j, jc, ratio);
    if (base)
      printf(" %10.1f (%8.1f)", median_d(res[1], rounds), median_d(clean[1], rounds));
    printf("\n");
    if (last.counted)
      bench_print_calls("  engine calls per match (its own counters):", &last.before, &last.after,
                        matches);
    fflush(stdout);
  }
  jd_queue_free(q);
  t_redis_stop(srv);
  return 0;
}

/* ---- calls ------------------------------------------------------------------------- */

/* Engine requests per match through the counting proxy: `judger run` of
 * the trivial match (its detached teardown included) and a --slots 1
 * daemon's matches (its background calls in the window included), for
 * this build and base alike. */
static int calls_table(int matches, const char *base) {
  char *dir = t_tmpdir("bench-calls");
  bench_count_proxy *p = bench_count_proxy_start(dir);
  if (!p)
    return -1;
  char *saved = getenv("DOCKER_HOST") ? strdup(getenv("DOCKER_HOST")) : NULL;
  printf("calls: engine requests per match through a counting proxy, by kind\n");
  static const int def[] = {2, 4, 8, 16};
  int sizes[8], nsizes = int_list(sizes, 8, players_arg, def, 4), rc = 0;
  const char *bins[] = {THIS, base}, *tags[] = {"this", "base"};
  for (int s = 0; s < nsizes && !rc; s++) {
    char spec[512], what[96];
    snprintf(spec, sizeof spec, "%s/scale-%d.json", state_dir, sizes[s]);
    char *json = bench_trivial_spec(sizes[s], "");
    rc = !json || jd_write_file(spec, json, strlen(json)) ? -1 : 0;
    free(json);
    for (int b = 0; b < (base ? 2 : 1) && !rc; b++) {
      long long ttr, wall;
      dk_call_counts c0, c1;
      engine_env(p, saved);
      rc = judger_once(bins[b], spec, &ttr, &wall); /* once first: caches */
      bench_count_proxy_counts(&c0, p);
      rc = rc ? rc : judger_once(bins[b], spec, &ttr, &wall);
      bench_count_proxy_counts(&c1, p);
      engine_env(NULL, saved);
      snprintf(what, sizeof what, "  judger run, %d players, %s:", sizes[s], tags[b]);
      bench_print_calls(what, &c0, &c1, 1);
    }
  }
  t_redis *srv = rc ? NULL : t_redis_start(false, false);
  jd_queue *q = NULL;
  jd_queue_opts qo = {.redis_url = srv ? srv->url : "", .consumer = "bench"};
  if (srv && (jd_queue_new(&q, &qo) || jd_queue_setup(q)))
    rc = -1;
  for (int b = 0; b < (base ? 2 : 1) && !rc; b++) {
    daemon_run d = {.proxy = p};
    daemon_rate(&d, q, srv->url, bins[b], b == 0, 1, matches, tags[b]);
    char what[96];
    snprintf(what, sizeof what, "  daemon --slots 1, %d matches, %s:", matches, tags[b]);
    bench_print_calls(what, &d.pbefore, &d.pafter, matches);
    if (d.counted)
      bench_print_calls("    the same from its own counters:", &d.before, &d.after, matches);
  }
  jd_queue_free(q);
  if (srv)
    t_redis_stop(srv);
  bench_count_proxy_stop(p);
  free(saved);
  return rc;
}

int main(int argc, char **argv) {
  bench_host_settings();
  int runs = 5, matches = 30, rounds = 1;
  const char *base = NULL, *only = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--base") && i + 1 < argc)
      base = argv[++i];
    else if (!strcmp(argv[i], "--matches") && i + 1 < argc)
      matches = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
      rounds = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--players") && i + 1 < argc)
      players_arg = argv[++i];
    else if (!strcmp(argv[i], "--slots") && i + 1 < argc)
      slots_arg = argv[++i];
    else if (!strcmp(argv[i], "--only") && i + 1 < argc)
      only = argv[++i];
    else
      runs = atoi(argv[i]);
  }
  if (runs < 1 || runs > MAXRUNS)
    runs = 5;
  if (rounds < 1 || rounds > 16)
    rounds = 1;
  if (matches < 4)
    matches = 4;
  if (dk_client_new(&dk, NULL) || dk_ping(dk, NULL)) {
    fprintf(stderr, "bench_scale: the engine is not reachable\n");
    return 1;
  }
  t_busybox_image(dk);
  if (!mkdtemp(state_dir) || !mkdtemp(out_dir))
    return 1;
  snprintf(host_id, sizeof host_id, "bench-scale-%d", (int)getpid());
  int rc = 0;
  if (!only || !strcmp(only, "players"))
    rc = players_table(runs, base);
  if (!rc && (!only || !strcmp(only, "slots")))
    rc = slots_table(matches, rounds, base);
  if (!rc && (!only || !strcmp(only, "calls")))
    rc = calls_table(matches, base);
  bench_drop_stock(dk, host_id);
  jd_rm_rf(state_dir);
  jd_rm_rf(out_dir);
  dk_client_free(dk);
  return rc ? 1 : 0;
}
