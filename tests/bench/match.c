/* Benchmark: time-to-result and process wall time of a trivial 2-player
 * and 4-player match, four ways in one run, alternating so all see the same
 * engine load (issue 13's table):
 *
 *  - floor: the same containers (same image, limits, binds, one internal
 *    network) by direct libdockerapi calls, one after another: network
 *    create, game logic create+start, each player create+start, wait all,
 *    read every log (the result), remove all, network remove (the wall);
 *  - docker-py: tests/bench/match_dockerpy.py, the way saiblo-worker calls
 *    it (Debian's python3-docker; its own clock, from its first engine
 *    call: a long-lived worker does not pay the interpreter's start);
 *  - judger warm / judger cold: `judger run SPEC --json --quiet` as a
 *    process with the test game logic in "bench" mode (starts every player,
 *    waits for their exits, ends) and players that exit at once; cold is
 *    the same spec with "limits": {"warm": false}. Time-to-result is the
 *    first byte of the result on its stdout, wall time its exit; both from
 *    the fork;
 *  - optionally a second judger binary (--base PATH: an older build) with
 *    the spec as it is, without "warm" (its defaults), for before/after in
 *    the same run.
 *
 * Per-phase medians of the warm runs come from the progress events
 * (elapsed_ms) `judger run --json` writes to stderr.
 *
 *   bench_match [runs] [--base JUDGER] [--tron SPEC]
 *
 * --tron SPEC: the sample Tron match's overhead (judger wall time minus the
 * game logic's own run time from its result), warm and cold (and base). */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bench.h"
#include "common/tmpfile.h"
#include "common/util.h"
#include "dockerapi/dockerapi.h"
#include "match/match.h"
#include "match/match_limits.h"

#define IMAGE BENCH_IMAGE
#define TRIVIAL BENCH_TRIVIAL

static char host_id[64];
static char state_dir[] = "/tmp/jdbench-state-XXXXXX";
static char out_dir[] = "/tmp/jdbench-out-XXXXXX";

/* ---- floor --------------------------------------------------------------- */

static int floor_run(dk_client *dk, int nplayers, long long *ttr, long long *ms) {
  return bench_floor_run(dk, nplayers, host_id, ttr, ms);
}

/* ---- processes ------------------------------------------------------------ */

typedef struct phases {
  long long gl_started, first_started, last_started, end, done;
} phases;

/* One progress line of `judger run --json` (stderr). */
static void phase_line(phases *p, const char *line) {
  json_object *o = json_tokener_parse(line), *v;
  if (!o)
    return;
  long long t = json_object_object_get_ex(o, "elapsed_ms", &v) ? json_object_get_int64(v) : 0;
  const char *ev = json_object_object_get_ex(o, "event", &v) ? json_object_get_string(v) : "";
  if (!strcmp(ev, "game_logic.started"))
    p->gl_started = t;
  else if (!strcmp(ev, "player.started")) {
    if (!p->first_started)
      p->first_started = t;
    p->last_started = t;
  } else if (!strcmp(ev, "match.end"))
    p->end = t;
  else if (!strcmp(ev, "match.done"))
    p->done = t;
  json_object_put(o);
}

typedef struct proc_out {
  long long first_out, wall; /* ms from the fork: first stdout byte, exit */
  char out[65536];           /* stdout, NUL-terminated, truncated */
  size_t out_len;
  phases ph;
  int status;
} proc_out;

static void on_phase_line(void *ud, const char *line) { phase_line(ud, line); }

/* Runs argv, reading its stdout and stderr (stderr lines go to phase_line). */
static int proc_run(char *const argv[], proc_out *r) {
  memset(r, 0, sizeof *r);
  bench_proc p = {.out = r->out, .out_cap = sizeof r->out};
  int rc = bench_proc_run(&p, argv, on_phase_line, &r->ph);
  r->out_len = p.out_len, r->first_out = p.first_out, r->wall = p.wall, r->status = p.status;
  return rc;
}

static int judger_run(const char *bin, const char *spec_path, proc_out *r) {
  char *const argv[] = {(char *)bin,   "run",     (char *)spec_path, "--json", "--out", out_dir,
                        "--state-dir", state_dir, "--host-id",       host_id,  NULL};
  int rc = proc_run(argv, r);
  if (rc)
    fprintf(stderr, "%s run %s failed (status %d): %.300s\n", bin, spec_path, r->status, r->out);
  return rc;
}

static int dockerpy_run(int nplayers, long long *ttr, long long *wall) {
  static int seq;
  char n[16], label[96];
  snprintf(n, sizeof n, "%d", nplayers);
  snprintf(label, sizeof label, "jdbench-py-%d-%d", (int)getpid(), seq++);
  char *const argv[] = {"/usr/bin/python3",
                        JD_SOURCE_DIR "/tests/bench/match_dockerpy.py",
                        IMAGE,
                        TRIVIAL,
                        n,
                        label,
                        NULL};
  static proc_out r;
  if (proc_run(argv, &r) || sscanf(r.out, "result %lld\ndone %lld", ttr, wall) != 2) {
    fprintf(stderr, "docker-py run failed: %.300s\n", r.out);
    return -1;
  }
  return 0;
}

/* ---- specs ----------------------------------------------------------------- */

static char *spec_json(int nplayers, const char *limits) {
  return bench_trivial_spec(nplayers, limits);
}

static int write_spec(char *path, size_t cap, const char *name, int nplayers, const char *limits) {
  snprintf(path, cap, "%s/%s", state_dir, name);
  char *json = spec_json(nplayers, limits);
  int rc = json ? jd_write_file(path, json, strlen(json)) : -1;
  free(json);
  return rc;
}

/* ---- the table --------------------------------------------------------------- */

#define MAXRUNS 50

typedef struct series {
  long long ttr[MAXRUNS], wall[MAXRUNS];
} series;

static void print_cell(series *s, int runs) {
  printf(" %6lld/%-6lld", bench_median(s->ttr, runs), bench_median(s->wall, runs));
}

static int table(dk_client *dk, int runs, const char *base) {
  int sizes[] = {2, 4};
  printf("time-to-result/wall, medians of %d (ms)\n", runs);
  printf("%-7s %13s %13s %13s %13s %13s   %s\n", "players", "floor", "docker-py", "judger warm",
         "judger cold", base ? "base (defaults)" : "", "warm/floor warm/py (ttr); phases of warm");
  for (size_t k = 0; k < 2; k++) {
    int n = sizes[k];
    char warm_path[256], cold_path[256], base_path[256];
    if (write_spec(warm_path, sizeof warm_path, "warm.json", n, "") ||
        write_spec(cold_path, sizeof cold_path, "cold.json", n, "\"limits\":{\"warm\":false},") ||
        write_spec(base_path, sizeof base_path, "base.json", n, ""))
      return -1;
    static series fl, py, wm, cd, bs;
    long long g[MAXRUNS], p1[MAXRUNS], pn[MAXRUNS], e[MAXRUNS], d[MAXRUNS];
    for (int i = 0; i < runs; i++) {
      static proc_out r;
      if (floor_run(dk, n, &fl.ttr[i], &fl.wall[i]) || dockerpy_run(n, &py.ttr[i], &py.wall[i]) ||
          judger_run(JD_BINARY_DIR "/bin/judger", warm_path, &r))
        return -1;
      wm.ttr[i] = r.first_out, wm.wall[i] = r.wall;
      g[i] = r.ph.gl_started, p1[i] = r.ph.first_started, pn[i] = r.ph.last_started;
      e[i] = r.ph.end, d[i] = r.ph.done;
      if (judger_run(JD_BINARY_DIR "/bin/judger", cold_path, &r))
        return -1;
      cd.ttr[i] = r.first_out, cd.wall[i] = r.wall;
      if (base) {
        if (judger_run(base, base_path, &r))
          return -1;
        bs.ttr[i] = r.first_out, bs.wall[i] = r.wall;
      }
    }
    printf("%-7d", n);
    print_cell(&fl, runs);
    print_cell(&py, runs);
    print_cell(&wm, runs);
    print_cell(&cd, runs);
    if (base)
      print_cell(&bs, runs);
    else
      printf(" %13s", "");
    long long w = bench_median(wm.ttr, runs);
    printf("   %.2fx %.2fx; gl started %lld, players %lld..%lld, end %lld, done %lld\n",
           (double)w / (double)bench_median(fl.ttr, runs),
           (double)w / (double)bench_median(py.ttr, runs), bench_median(g, runs),
           bench_median(p1, runs), bench_median(pn, runs), bench_median(e, runs),
           bench_median(d, runs));
    fflush(stdout);
  }
  return 0;
}

/* ---- the Tron sample ------------------------------------------------------------ */

/* The game logic's own run time from a result's JSON, in ms. */
static long long gl_duration(const char *json) {
  json_object *o = json_tokener_parse(json), *gl, *v;
  long long ms = -1;
  if (o && json_object_object_get_ex(o, "game_logic", &gl) &&
      json_object_object_get_ex(gl, "duration_ms", &v))
    ms = json_object_get_int64(v);
  json_object_put(o);
  return ms;
}

static int tron(const char *spec, int runs, const char *base) {
  /* The same spec with warm starts off, next to the original. */
  char *text = NULL;
  size_t len = 0;
  if (jd_read_file(&text, &len, spec, 1 << 20))
    return -1;
  json_object *root = json_tokener_parse(text), *lim;
  free(text);
  if (!root)
    return -1;
  /* Relative program dirs are resolved against the spec's own directory. */
  char cold[512];
  snprintf(cold, sizeof cold, "%s.cold.json", spec);
  if (!json_object_object_get_ex(root, "limits", &lim)) {
    lim = json_object_new_object();
    json_object_object_add(root, "limits", lim);
  }
  json_object_object_add(lim, "warm", json_object_new_boolean(0));
  const char *c = json_object_to_json_string(root);
  int wrc = jd_write_file(cold, c, strlen(c));
  json_object_put(root);
  if (wrc)
    return -1;
  const char *bins[] = {JD_BINARY_DIR "/bin/judger", JD_BINARY_DIR "/bin/judger", base};
  const char *specs[] = {spec, cold, spec};
  const char *names[] = {"warm", "cold", "base"};
  series s[3], abs[3]; /* abs: the same, the game logic's run included */
  int ncols = base ? 3 : 2, rc = 0;
  /* Once each first, not counted: the programs' builds land in the cache. */
  for (int k = 0; k < ncols && !rc; k++) {
    static proc_out r;
    rc = judger_run(bins[k], specs[k], &r);
  }
  for (int i = 0; i < runs && !rc; i++)
    for (int k = 0; k < ncols && !rc; k++) {
      static proc_out r;
      rc = judger_run(bins[k], specs[k], &r);
      long long g = gl_duration(r.out);
      s[k].ttr[i] = r.first_out - g;
      s[k].wall[i] = r.wall - g;
      abs[k].ttr[i] = r.first_out;
      abs[k].wall[i] = r.wall;
    }
  unlink(cold);
  if (rc)
    return -1;
  printf("Tron %s: overhead = time-to-result / wall minus the game logic's own run time, "
         "medians of %d (ms):",
         spec, runs);
  for (int k = 0; k < ncols; k++) {
    printf(" %s", names[k]);
    print_cell(&s[k], runs);
  }
  printf("\n  time-to-result / wall, the game logic's run included (ms):");
  for (int k = 0; k < ncols; k++) {
    printf(" %s", names[k]);
    print_cell(&abs[k], runs);
  }
  printf("\n");
  return 0;
}

int main(int argc, char **argv) {
  bench_host_settings();
  int runs = 7;
  const char *base = NULL, *tron_spec = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--base") && i + 1 < argc)
      base = argv[++i];
    else if (!strcmp(argv[i], "--tron") && i + 1 < argc)
      tron_spec = argv[++i];
    else
      runs = atoi(argv[i]);
  }
  if (runs < 1 || runs > MAXRUNS)
    runs = 7;
  dk_client *dk = NULL;
  if (dk_client_new(&dk, NULL) || dk_ping(dk, NULL)) {
    fprintf(stderr, "bench_match: the engine is not reachable\n");
    return 1;
  }
  dk_image_info *img = NULL;
  if (dk_image_inspect(&img, dk, IMAGE)) {
    fprintf(stderr, "bench_match: %s missing (run the engine tests once)\n", IMAGE);
    return 1;
  }
  dk_image_info_free(img);
  if (!mkdtemp(state_dir) || !mkdtemp(out_dir))
    return 1;
  snprintf(host_id, sizeof host_id, "bench-%d", (int)getpid());
  int rc = tron_spec ? tron(tron_spec, runs, base) : table(dk, runs, base);
  bench_drop_stock(dk, host_id);
  jd_rm_rf(state_dir);
  jd_rm_rf(out_dir);
  dk_client_free(dk);
  return rc ? 1 : 0;
}
