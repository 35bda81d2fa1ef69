/* Benchmark: the judger's overhead on real games (issue 26), each game under
 * every setting in one run, alternating so all see the same engine load.
 *
 * Games (their builds are cached by one run of each binary first, not
 * counted):
 *  - tron: samples/specs/tron-2p.json (C game logic, a C and a Python bot);
 *  - connect4: samples/specs/connect4.json (Python game logic, a Python and a
 *    Node.js bot behind a relay);
 *  - slowstart: tests/bench/games/slowstart/spec.json, a Python game logic
 *    that spends some 300-400 ms importing and initialising before it asks
 *    for its two players (as game logics with libraries do), then plays a
 *    short game with trivial bash players.
 *
 * Settings: the spec as it is (the build's defaults), then warm on / off
 * ("limits": {"warm": ...}) x per-player networks / one match network
 * ("isolation": "player" / "match"); with --base JUDGER, an older binary
 * (e.g. the turn-2 build 4db16bc, which knows neither key) on the spec with
 * both keys removed, as one more setting.
 *
 * Each run is `judger run SPEC --json --out DIR` as a process (the specs are
 * rewritten with absolute program dirs into a temporary directory). From the
 * fork: time-to-result = the first byte of the result on its stdout, wall =
 * its exit. The game logic's own run time is result.json's
 * game_logic.duration_ms (from its container's start to its exit as the
 * judger saw them); when a result lacks it, the time between the
 * game_logic.started and game_logic.exited events on stderr. Overhead =
 * wall - the game logic's time (and time-to-result - the game logic's time).
 * The rows also give the medians of the last program.ready's elapsed_ms
 * (the builds' cache checks), game_logic.started's (the judger's work
 * before the game logic runs) and wall - time-to-result (the
 * teardown the caller waits for after the result). After each run the
 * benchmark waits, untimed, until the run's detached teardown (if any) has
 * ended (its run file under <state_dir>/runs is gone), so every run starts
 * on an idle engine: this measures a match, not back-to-back throughput.
 * Mind that a player's start (its network, create and start) happens
 * while the game logic runs, warm or cold (a warm one begins once the game
 * logic runs, before it is asked for), so it counts in the game logic's
 * time: between settings, compare the walls too.
 *
 *   bench_real_games [runs] [--base JUDGER] [--game tron|connect4|slowstart]...
 *
 * runs: 3 by default. Within run i the settings of a game take turns,
 * starting from setting i (so no setting always follows the same one). A run
 * whose process fails or whose result is not "finished" stops that game
 * (said on stderr) and the benchmark exits 1. */
#include <dirent.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bench.h"
#include "common/tmpfile.h"
#include "common/util.h"
#include "dockerapi/dockerapi.h"

#define MAXRUNS 50
#define NSETTINGS 6 /* default, 4 combinations, base */

static char host_id[64];
static char state_dir[] = "/tmp/jdbench-real-XXXXXX";
static char out_dir[] = "/tmp/jdbench-real-out-XXXXXX";
static char base_state[PATH_MAX];

typedef struct game {
  const char *name, *spec;
} game;

static const game games[] = {
    {"tron", JD_SOURCE_DIR "/samples/specs/tron-2p.json"},
    {"connect4", JD_SOURCE_DIR "/samples/specs/connect4.json"},
    {"slowstart", JD_SOURCE_DIR "/tests/bench/games/slowstart/spec.json"},
};
#define NGAMES (sizeof games / sizeof games[0])

typedef struct setting {
  const char *name;
  int warm;              /* -1: leave as is, 0/1: limits.warm */
  const char *isolation; /* NULL: leave as is */
  bool base;             /* the --base binary, both keys removed */
} setting;

static const setting settings[NSETTINGS] = {
    {"default", -1, NULL, false},
    {"warm, per-player", 1, "player", false},
    {"cold, per-player", 0, "player", false},
    {"warm, match net", 1, "match", false},
    {"cold, match net", 0, "match", false},
    {"base (its defaults)", -1, NULL, true},
};

/* ---- one process ------------------------------------------------------------ */

typedef struct run_out {
  long long first_out, wall;       /* ms from the fork: first stdout byte, exit */
  long long gl_started, gl_exited; /* elapsed_ms of those events, -1 if none */
  long long ready;                 /* elapsed_ms of the last program.ready */
  char out[1 << 17];               /* stdout (the result), NUL-terminated, truncated */
  size_t out_len;
  int status;
} run_out;

/* One progress line of `judger run --json` (stderr). */
static void event_line(run_out *r, const char *line) {
  json_object *o = json_tokener_parse(line), *v;
  if (!o)
    return;
  long long t = json_object_object_get_ex(o, "elapsed_ms", &v) ? json_object_get_int64(v) : -1;
  const char *ev = json_object_object_get_ex(o, "event", &v) ? json_object_get_string(v) : "";
  if (!strcmp(ev, "game_logic.started"))
    r->gl_started = t;
  else if (!strcmp(ev, "game_logic.exited"))
    r->gl_exited = t;
  else if (!strcmp(ev, "program.ready") && t > r->ready)
    r->ready = t;
  json_object_put(o);
}

/* bench_proc_run's line reader: one stderr line of `judger run --json`. */
static void on_event_line(void *ud, const char *line) { event_line(ud, line); }

/* Runs argv to its exit, its stdout into r->out, its stderr's events read. */
static int proc_run(char *const argv[], run_out *r) {
  r->gl_started = r->gl_exited = r->ready = -1;
  bench_proc p = {.out = r->out, .out_cap = sizeof r->out};
  int rc = bench_proc_run(&p, argv, on_event_line, r);
  r->out_len = p.out_len, r->first_out = p.first_out, r->wall = p.wall, r->status = p.status;
  return rc;
}

/* The game logic's own run time in ms from the result (its duration_ms),
 * else from the events; -1 when neither is there or the match did not
 * finish. */
static long long gl_time(const run_out *r) {
  json_object *o = json_tokener_parse(r->out), *gl, *v;
  long long ms = -1;
  const char *status =
      o && json_object_object_get_ex(o, "status", &v) ? json_object_get_string(v) : NULL;
  if (status && !strcmp(status, "finished") && json_object_object_get_ex(o, "game_logic", &gl) &&
      json_object_object_get_ex(gl, "duration_ms", &v))
    ms = json_object_get_int64(v);
  if (status && !strcmp(status, "finished") && ms <= 0 && r->gl_started >= 0 &&
      r->gl_exited >= r->gl_started)
    ms = r->gl_exited - r->gl_started;
  json_object_put(o);
  return ms;
}

/* Waits (untimed, at most a minute) until no run file is left under the
 * state directory's runs/: a `judger run` that exits with its result tears
 * the match down in a process of its own, holding its run file until the
 * end (docs/match-spec.md), and the next run must not share the engine with
 * that teardown. */
static void settle(const char *dir) { bench_settle_runs(dir); }

/* ---- the specs ------------------------------------------------------------------ */

/* A program's relative "dir" made absolute against the spec's directory. */
static void absolute_dir(json_object *prog, const char *spec_dir) {
  json_object *d;
  if (!prog || !json_object_object_get_ex(prog, "dir", &d))
    return;
  const char *rel = json_object_get_string(d);
  if (!rel || rel[0] == '/')
    return;
  char joined[PATH_MAX * 2], real[PATH_MAX];
  snprintf(joined, sizeof joined, "%s/%s", spec_dir, rel);
  if (realpath(joined, real))
    json_object_object_add(prog, "dir", json_object_new_string(real));
}

/* Applies a setting to a parsed spec (its dirs already absolute). */
static void apply_setting(json_object *root, const setting *s) {
  json_object *lim = NULL;
  json_object_object_get_ex(root, "limits", &lim);
  if (s->base) {
    json_object_object_del(root, "isolation");
    /* Keys an older judger refuses (issues 19 and 23); the Tron game
     * turns its clock off when the judger refuses "turn". */
    static const char *const newer[] = {
        "warm",       "clock",       "turn_ms",         "time_bank_ms",     "bank_increment_ms",
        "on_timeout", "freeze_idle", "exclusive_turns", "turn_wall_factor", "cpuset",
        NULL};
    for (size_t i = 0; lim && newer[i]; i++)
      json_object_object_del(lim, newer[i]);
    return;
  }
  if (s->isolation)
    json_object_object_add(root, "isolation", json_object_new_string(s->isolation));
  if (s->warm >= 0) {
    if (!lim) {
      lim = json_object_new_object();
      json_object_object_add(root, "limits", lim);
    }
    json_object_object_add(lim, "warm", json_object_new_boolean(s->warm));
  }
}

/* Writes game g's spec under setting k into the state directory: path. */
static int write_variant(char *path, size_t cap, const game *g, int k) {
  char *text = NULL, dir[PATH_MAX];
  size_t len = 0;
  if (jd_read_file(&text, &len, g->spec, 1 << 20)) {
    fprintf(stderr, "cannot read %s\n", g->spec);
    return -1;
  }
  json_object *root = json_tokener_parse(text), *players;
  free(text);
  if (!root)
    return -1;
  snprintf(dir, sizeof dir, "%s", g->spec);
  const char *spec_dir = dirname(dir);
  json_object *gl = NULL;
  if (json_object_object_get_ex(root, "game_logic", &gl))
    absolute_dir(gl, spec_dir);
  if (json_object_object_get_ex(root, "players", &players))
    for (size_t i = 0; i < json_object_array_length(players); i++)
      absolute_dir(json_object_array_get_idx(players, i), spec_dir);
  apply_setting(root, &settings[k]);
  snprintf(path, cap, "%s/%s-%d.json", state_dir, g->name, k);
  const char *json = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
  int rc = jd_write_file(path, json, strlen(json));
  json_object_put(root);
  return rc;
}

/* ---- one game ----------------------------------------------------------------- */

typedef struct series {
  long long ovh[MAXRUNS], ttr_ovh[MAXRUNS], wall[MAXRUNS], ttr[MAXRUNS];
  long long gl[MAXRUNS], ready[MAXRUNS], before[MAXRUNS], after[MAXRUNS];
} series;

static int judger_run(const char *bin, bool base, const char *spec, run_out *r) {
  char *const argv[] = {(char *)bin, "run",   (char *)spec,  "--json",
                        "--out",     out_dir, "--state-dir", base ? base_state : state_dir,
                        "--host-id", host_id, NULL};
  int rc = proc_run(argv, r);
  settle(base ? base_state : state_dir);
  if (rc || gl_time(r) < 0) {
    fprintf(stderr, "%s run %s failed (status %d): %.400s\n", bin, spec, r->status, r->out);
    return -1;
  }
  return 0;
}

static void record(series *s, int i, const run_out *r) {
  long long g = gl_time(r);
  s->ovh[i] = r->wall - g, s->ttr_ovh[i] = r->first_out - g;
  s->wall[i] = r->wall, s->ttr[i] = r->first_out, s->gl[i] = g;
  s->ready[i] = r->ready, s->before[i] = r->gl_started, s->after[i] = r->wall - r->first_out;
}

static void print_row(const char *game, const char *setting, series *s, int runs) {
  printf("%-10s %-20s %8lld %8lld %7lld %7lld %7lld %7lld %8lld %8lld\n", game, setting,
         bench_median(s->ovh, runs), bench_median(s->ttr_ovh, runs), bench_median(s->wall, runs),
         bench_median(s->ttr, runs), bench_median(s->gl, runs), bench_median(s->ready, runs),
         bench_median(s->before, runs), bench_median(s->after, runs));
  fflush(stdout);
}

static int game_table(const game *g, int runs, const char *base) {
  const char *judger = JD_BINARY_DIR "/bin/judger";
  char paths[NSETTINGS][PATH_MAX];
  int n = base ? NSETTINGS : NSETTINGS - 1;
  for (int k = 0; k < n; k++)
    if (write_variant(paths[k], sizeof paths[k], g, k))
      return -1;
  static run_out r;
  /* Once per binary first, not counted: the programs' builds land in the
   * cache, the images in the page cache. */
  if (judger_run(judger, false, paths[0], &r) ||
      (base && judger_run(base, true, paths[NSETTINGS - 1], &r)))
    return -1;
  static series s[NSETTINGS];
  for (int i = 0; i < runs; i++)
    for (int j = 0; j < n; j++) {
      int k = (i + j) % n;
      bool b = settings[k].base;
      if (judger_run(b ? base : judger, b, paths[k], &r))
        return -1;
      record(&s[k], i, &r);
    }
  for (int k = 0; k < n; k++)
    print_row(g->name, settings[k].name, &s[k], runs);
  return 0;
}

static int usage(void) {
  fprintf(stderr, "usage: bench_real_games [runs] [--base JUDGER] "
                  "[--game tron|connect4|slowstart]...\n");
  return 2;
}

int main(int argc, char **argv) {
  bench_host_settings();
  int runs = 3;
  const char *base = NULL;
  bool only[NGAMES] = {false}, some = false;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--base") && i + 1 < argc)
      base = argv[++i];
    else if (!strcmp(argv[i], "--game") && i + 1 < argc) {
      size_t k = 0;
      while (k < NGAMES && strcmp(games[k].name, argv[i + 1]))
        k++;
      if (k == NGAMES)
        return usage();
      only[k] = some = true, i++;
    } else if ((runs = atoi(argv[i])) < 1 || runs > MAXRUNS)
      return usage();
  }
  if (base && access(base, X_OK)) {
    fprintf(stderr, "bench_real_games: %s is not executable\n", base);
    return 2;
  }
  if (!mkdtemp(state_dir) || !mkdtemp(out_dir))
    return 1;
  snprintf(base_state, sizeof base_state, "%s/base-state", state_dir);
  snprintf(host_id, sizeof host_id, "bench-%d", (int)getpid());
  int rc = jd_mkdir_p(base_state, 0700), fails = 0;
  printf("the judger's overhead on real games, medians of %d (ms): overhead = wall - the game "
         "logic's run;\nttr = time-to-result; ready = the last program.ready's elapsed_ms (builds "
         "and cache checks);\ngl start = game_logic.started's elapsed_ms; exit-ttr = wall - ttr\n",
         runs);
  printf("%-10s %-20s %8s %8s %7s %7s %7s %7s %8s %8s\n", "game", "setting", "overhead", "ttr ovh",
         "wall", "ttr", "gl run", "ready", "gl start", "exit-ttr");
  for (size_t k = 0; k < NGAMES; k++)
    if (!rc && (!some || only[k]) && game_table(&games[k], runs, base))
      fails++;
  jd_rm_rf(state_dir);
  jd_rm_rf(out_dir);
  return rc || fails ? 1 : 0;
}
