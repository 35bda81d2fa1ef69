// test-labels: engine once
/* `judger league` as a user runs it, on the Tron sample (samples/games/tron)
 * with its three bots (c-bot, py-bot, straight-bot): the games of a round
 * robin (every pair in both seat orders), one directory each with its
 * result.json, the standings table and win matrix on stdout (--json: the
 * standings JSON), the progress on stderr, nothing left on the engine; a
 * player that crashes and one whose build fails still let the league end,
 * with their losses counted; usage errors exit 2 before anything runs. */
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/labels.h"
#include "common/tmpfile.h"
#include "common/util.h"
#include "support.h"
#include "taskset/league.h"

#define SAMPLES JD_SOURCE_DIR "/samples"
#define STATE JD_BINARY_DIR "/samples-state"

static char *work, *host;
static void setup(void) {
  work = t_tmpdir("league");
  host = t_unique("jdl");
}
static void teardown(void) {
  t_rmdir(work);
  free(host);
}
TestSuite(cmd_league, .init = setup, .fini = teardown, .timeout = 900);

/* Runs judger with argv (NULL-terminated, without "judger"), stdout and
 * stderr into work/<tag>.out and work/<tag>.err; its exit code. */
static int judger(const char *tag, const char *const *argv) {
  char out[600], err[600];
  snprintf(out, sizeof out, "%s/%s.out", work, tag);
  snprintf(err, sizeof err, "%s/%s.err", work, tag);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(o, 1);
    dup2(e, 2);
    const char *args[64] = {"judger"};
    for (size_t i = 0; argv[i] && i < 62; i++)
      args[i + 1] = argv[i];
    execv(JD_BINARY_DIR "/bin/judger", (char *const *)args);
    _exit(127);
  }
  int st = 0;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  cr_assert(WIFEXITED(st), "judger did not exit normally");
  return WEXITSTATUS(st);
}

static char *slurp(const char *tag, const char *ext) {
  char path[600];
  snprintf(path, sizeof path, "%s/%s.%s", work, tag, ext);
  char *d = NULL;
  size_t len = 0;
  cr_assert_eq(jd_read_file(&d, &len, path, 1 << 24), 0, "cannot read %s", path);
  return d;
}

static void write_text(const char *name, const char *text) {
  char path[600];
  snprintf(path, sizeof path, "%s/%s", work, name);
  cr_assert_eq(jd_write_file(path, text, strlen(text)), 0, "cannot write %s", path);
}

/* A short Tron: one round on a small board, the sample's limits. */
static void write_game(void) {
  write_text(
      "tron.json",
      "{\"id\": \"tron-league\", \"game_logic\": {\"id\": \"tron\", \"dir\": \"" SAMPLES
      "/games/tron\"},"
      " \"config\": {\"seed\": 11, \"rounds\": 1, \"width\": 16, \"height\": 12,"
      " \"obstacles\": 2, \"move_timeout_ms\": 2000, \"connect_timeout_ms\": 60000},"
      " \"limits\": {\"clock\": \"cpu\", \"turn_ms\": 200, \"time_bank_ms\": 2000,"
      " \"players\": {\"cpus\": 0.5, \"memory\": \"128m\", \"pids\": 32, \"wall_ms\": 120000},"
      " \"game_logic\": {\"cpus\": 0.5, \"memory\": \"64m\", \"wall_ms\": 180000},"
      " \"deadline_ms\": 180000}}");
}

static void base_image(void) {
  cr_assert_eq(judger("base", (const char *[]){"build", "--base-image", "--quiet", NULL}), 0,
               "judger build --base-image failed");
}

/* The game directories under out: their result.json, with the players'
 * ids in seat order into pairs[k] ("a b"). The count. */
static size_t read_games(const char *out, char pairs[][160], json_object **results, size_t max) {
  size_t n = 0;
  for (size_t k = 1; k <= max + 1; k++) {
    char path[700];
    snprintf(path, sizeof path, "%s/r1-g%zu/result.json", out, k);
    json_object *r = json_object_from_file(path);
    if (!r)
      break;
    cr_assert_lt(n, max, "more games than expected: %s", path);
    json_object *ps = json_object_object_get(r, "players");
    cr_assert_eq(json_object_array_length(ps), 2, "%s: two players", path);
    snprintf(
        pairs[n], 160, "%s %s",
        json_object_get_string(json_object_object_get(json_object_array_get_idx(ps, 0), "id")),
        json_object_get_string(json_object_object_get(json_object_array_get_idx(ps, 1), "id")));
    results[n++] = r;
  }
  return n;
}

/* Every ordered pair of ids appears exactly once in pairs. */
static void assert_round_robin(char pairs[][160], size_t n, const char *const *ids, size_t nids) {
  cr_assert_eq(n, nids * (nids - 1), "%zu games, not %zu", n, nids * (nids - 1));
  for (size_t a = 0; a < nids; a++)
    for (size_t b = 0; b < nids; b++) {
      if (a == b)
        continue;
      char want[160];
      snprintf(want, sizeof want, "%s %s", ids[a], ids[b]);
      size_t seen = 0;
      for (size_t k = 0; k < n; k++)
        seen += !strcmp(pairs[k], want);
      cr_assert_eq(seen, 1, "'%s' played %zu times", want, seen);
    }
}

/* Nothing of the test's host label is left on the engine. */
static void assert_clean(void) {
  dk_client *dk = t_client();
  char label[128];
  snprintf(label, sizeof label, "%s=%s", JD_LABEL_HOST, host);
  const char *labels[] = {label, NULL};
  dk_container_list *cl = NULL;
  t_ok(dk_container_list_by_label(&cl, dk, true, labels));
  size_t left = cl->count;
  dk_container_list_free(cl);
  dk_client_free(dk);
  cr_assert_eq(left, 0, "%zu containers left", left);
}

Test(cmd_league, tron_three_bots) {
  base_image();
  write_game();
  char out[600], game[600];
  snprintf(out, sizeof out, "%s/league", work);
  snprintf(game, sizeof game, "%s/tron.json", work);
  int64_t t0 = dk_now_ms();
  int rc =
      judger("tron", (const char *[]){"league", "--game", game, "--players", SAMPLES "/ais/c-bot",
                                      SAMPLES "/ais/py-bot", SAMPLES "/ais/straight-bot", "--out",
                                      out, "--state-dir", STATE, "--host-id", host, NULL});
  int64_t wall = dk_now_ms() - t0;
  char *so = slurp("tron", "out"), *se = slurp("tron", "err");
  cr_assert_eq(rc, 0, "judger league exited %d:\n%s", rc, se);
  cr_log_info("league of 3 Tron bots, 6 games: %lld ms", (long long)wall);

  char pairs[8][160];
  json_object *results[8];
  size_t n = read_games(out, pairs, results, 8);
  const char *ids[] = {"c-bot", "py-bot", "straight-bot"};
  assert_round_robin(pairs, n, ids, 3);
  for (size_t k = 0; k < n; k++) {
    cr_assert_str_eq(json_object_get_string(json_object_object_get(results[k], "status")),
                     "finished", "game %zu", k + 1);
    json_object_put(results[k]);
  }
  /* The table and the matrix: every program named, the stored copy the same. */
  for (size_t i = 0; i < 3; i++)
    cr_assert_not_null(strstr(so, ids[i]), "%s not in the standings:\n%s", ids[i], so);
  cr_assert_not_null(strstr(so, "win matrix"), "no win matrix:\n%s", so);
  char path[700], *stored = NULL;
  size_t len = 0;
  snprintf(path, sizeof path, "%s/standings.txt", out);
  cr_assert_eq(jd_read_file(&stored, &len, path, 1 << 20), 0);
  cr_assert_str_eq(stored, so);
  snprintf(path, sizeof path, "%s/standings.json", out);
  json_object *sj = json_object_from_file(path);
  cr_assert_not_null(sj, "no %s", path);
  json_object *progs = json_object_object_get(sj, "programs");
  cr_assert_eq(json_object_array_length(progs), 3);
  int64_t games = 0;
  for (size_t i = 0; i < 3; i++)
    games +=
        json_object_get_int64(json_object_object_get(json_object_array_get_idx(progs, i), "games"));
  cr_assert_eq(games, 12, "each game counted once for each of its two players");
  json_object_put(sj);
  /* Progress: one line a game (stderr is not a terminal), the last 6/6. */
  cr_assert_not_null(strstr(se, "] 6/6 games"), "no progress line:\n%s", se);
  cr_assert_not_null(strstr(se, "ETA"), "%s", se);
  free(stored);
  free(so);
  free(se);
  assert_clean();
}

/* A bot that exits at once (RE) and one whose run image does not build
 * (CE): every game is still played and counted, --json gives three
 * programs, the working bot wins its four games. */
Test(cmd_league, crash_and_build_failure_json) {
  base_image();
  write_game();
  char cmd[1200];
  snprintf(cmd, sizeof cmd,
           "mkdir -p %s/crasher %s/broken && "
           "printf 'FROM judger/debian:bookworm\\nCMD [\"sh\", \"-c\", \"exit 3\"]\\n' "
           "> %s/crasher/run.Dockerfile && "
           "printf 'FROM judger/debian:bookworm\\nRUN exit 7\\nCMD [\"true\"]\\n' "
           "> %s/broken/run.Dockerfile",
           work, work, work, work);
  cr_assert_eq(system(cmd), 0);
  char out[600], game[600], crasher[600], broken[600];
  snprintf(out, sizeof out, "%s/league", work);
  snprintf(game, sizeof game, "%s/tron.json", work);
  snprintf(crasher, sizeof crasher, "%s/crasher", work);
  snprintf(broken, sizeof broken, "%s/broken", work);
  int rc = judger("bad", (const char *[]){"league", "--game", game, "--players",
                                          SAMPLES "/ais/straight-bot", crasher, broken, "--json",
                                          "--out", out, "--parallel", "2", "--state-dir", STATE,
                                          "--host-id", host, NULL});
  char *so = slurp("bad", "out"), *se = slurp("bad", "err");
  cr_assert_eq(rc, 0, "judger league exited %d:\n%s", rc, se);
  json_object *sj = json_tokener_parse(so);
  cr_assert_not_null(sj, "--json printed no JSON:\n%s", so);
  json_object *progs = json_object_object_get(sj, "programs");
  cr_assert_eq(json_object_array_length(progs), 3);
  for (size_t i = 0; i < 3; i++) {
    json_object *row = json_object_array_get_idx(progs, i);
    const char *id = json_object_get_string(json_object_object_get(row, "program"));
    int64_t games = json_object_get_int64(json_object_object_get(row, "games"));
    int64_t wins = json_object_get_int64(json_object_object_get(row, "wins"));
    int64_t losses = json_object_get_int64(json_object_object_get(row, "losses"));
    cr_assert_eq(games, 4, "%s played %lld games", id, (long long)games);
    if (!strcmp(id, "straight-bot"))
      cr_assert_eq(wins, 4, "straight-bot won %lld of 4:\n%s", (long long)wins, so);
    else
      cr_assert(wins == 0 && losses >= 2, "%s: %lld wins, %lld losses", id, (long long)wins,
                (long long)losses);
  }
  json_object_put(sj);
  char pairs[8][160];
  json_object *results[8];
  size_t n = read_games(out, pairs, results, 8);
  const char *ids[] = {"straight-bot", "crasher", "broken"};
  assert_round_robin(pairs, n, ids, 3);
  /* Every game finished, the crasher's verdict RE, the broken one's CANCEL
   * (its build failed: it never ran). */
  for (size_t k = 0; k < n; k++) {
    cr_assert_str_eq(json_object_get_string(json_object_object_get(results[k], "status")),
                     "finished", "game %zu", k + 1);
    json_object *ps = json_object_object_get(results[k], "players");
    for (size_t i = 0; i < 2; i++) {
      json_object *p = json_object_array_get_idx(ps, i);
      const char *id = json_object_get_string(json_object_object_get(p, "id"));
      const char *v = json_object_get_string(json_object_object_get(p, "verdict"));
      const char *want = !strcmp(id, "crasher") ? "RE" : !strcmp(id, "broken") ? "CANCEL" : "OK";
      cr_assert_str_eq(v, want, "game %zu: %s's verdict", k + 1, id);
    }
    json_object_put(results[k]);
  }
  free(so);
  free(se);
  assert_clean();
}

/* Containers of the test's host label (running or not). */
static size_t containers(dk_client *dk) {
  char label[128];
  snprintf(label, sizeof label, "%s=%s", JD_LABEL_HOST, host);
  const char *labels[] = {label, NULL};
  dk_container_list *cl = NULL;
  t_ok(dk_container_list_by_label(&cl, dk, true, labels));
  size_t n = cl->count;
  dk_container_list_free(cl);
  return n;
}

/* SIGINT while the first game runs: it is cancelled and removed, no other
 * game starts, the standings so far are printed, exit 3. */
Test(cmd_league, sigint_stops_the_league) {
  base_image();
  write_game();
  char out[600], game[600], outp[600], errp[600];
  snprintf(out, sizeof out, "%s/league", work);
  snprintf(game, sizeof game, "%s/tron.json", work);
  snprintf(outp, sizeof outp, "%s/int.out", work);
  snprintf(errp, sizeof errp, "%s/int.err", work);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    dup2(open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600), 1);
    dup2(open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600), 2);
    execl(JD_BINARY_DIR "/bin/judger", "judger", "league", "--game", game, "--players",
          SAMPLES "/ais/c-bot", SAMPLES "/ais/py-bot", SAMPLES "/ais/straight-bot", "--out", out,
          "--state-dir", STATE, "--host-id", host, (char *)NULL);
    _exit(127);
  }
  dk_client *dk = t_client();
  int64_t deadline = dk_now_ms() + 300000;
  int st = 0;
  while (!containers(dk)) {
    cr_assert_lt(dk_now_ms(), deadline, "no game started within 300 s");
    cr_assert_eq(waitpid(pid, &st, WNOHANG), 0, "the league ended before a game started:\n%s",
                 slurp("int", "err"));
    usleep(100000);
  }
  int64_t t0 = dk_now_ms();
  kill(pid, SIGINT);
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  int64_t stop_ms = dk_now_ms() - t0;
  char *so = slurp("int", "out"), *se = slurp("int", "err");
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 3, "status %d:\n%s", st, se);
  cr_log_info("league stopped %lld ms after SIGINT", (long long)stop_ms);
  cr_assert_not_null(strstr(se, "interrupted"), "%s", se);
  cr_assert_not_null(strstr(so, "no-res"), "no standings:\n%s", so);
  char path[700];
  snprintf(path, sizeof path, "%s/r1-g2", out);
  cr_assert_not(jd_path_exists(path), "a second game started after SIGINT");
  cr_assert_eq(containers(dk), 0, "the cancelled game left containers");
  dk_client_free(dk);
  free(so);
  free(se);
}

/* Bad command lines exit 2 before anything is made. */
Test(cmd_league, usage_errors) {
  write_game();
  char game[600];
  snprintf(game, sizeof game, "%s/tron.json", work);
  write_text("noid.json", "{\"dir\": \"" SAMPLES "/ais/c-bot\"}");
  char noid[600];
  snprintf(noid, sizeof noid, "%s/noid.json", work);
  const char *const *cases[] = {
      (const char *[]){"league", "--players", SAMPLES "/ais/c-bot", SAMPLES "/ais/py-bot", NULL},
      (const char *[]){"league", "--game", game, "--players", SAMPLES "/ais/c-bot", NULL},
      (const char *[]){"league", "--game", game, "--players", SAMPLES "/ais/c-bot",
                       SAMPLES "/ais/py-bot", "--parallel", "0", NULL},
      (const char *[]){"league", "--game", game, "--players", SAMPLES "/ais/c-bot",
                       SAMPLES "/ais/py-bot", "--parallel", "100000", NULL},
      (const char *[]){"league", "--game", game, "--players", SAMPLES "/ais/c-bot",
                       SAMPLES "/ais/py-bot", "--seats", "3", NULL},
      (const char *[]){"league", "--game", game, "--players", SAMPLES "/ais/c-bot",
                       SAMPLES "/ais/py-bot", "--frobnicate", NULL},
      (const char *[]){"league", "--game", game, "--players", SAMPLES "/ais/c-bot", noid, NULL},
      (const char *[]){"league", "--game", game, "--players", SAMPLES "/ais/c-bot",
                       SAMPLES "/ais/nope", NULL},
      (const char *[]){"league", "--game", game, "--players", SAMPLES "/ais/c-bot",
                       SAMPLES "/ais/py-bot", "--seeds", "1,x", NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int rc = judger("usage", cases[i]);
    char *se = slurp("usage", "err");
    cr_assert_eq(rc, 2, "case %zu exited %d:\n%s", i, rc, se);
    cr_assert_not_null(strstr(se, "judger league: "), "case %zu: %s", i, se);
    free(se);
  }
}

/* The progress line and its ETA (taskset/league.h). */
Test(cmd_league, progress_line_and_eta) {
  char line[160], d[24];
  jd_league_progress_line(line, sizeof line, 6, 12, 62000, 61000);
  cr_assert_str_eq(line, "[#####.....] 6/12 games  1m02s  ETA 1m01s");
  jd_league_progress_line(line, sizeof line, 0, 12, 4000, -1);
  cr_assert_str_eq(line, "[..........] 0/12 games  4s  ETA unknown");
  jd_league_duration(d, sizeof d, 7384000);
  cr_assert_str_eq(d, "2h03m");
  cr_assert_eq(jd_league_eta(-1, 5, NULL, 0, 1), -1, "no game ended: unknown");
  /* 4 queued of 10 s, one running for 3 s, one slot: 40 + 7. */
  int64_t running[] = {3000};
  cr_assert_eq(jd_league_eta(10000, 4, running, 1, 1), 47000);
  /* Two slots share that work; never less than the running game's rest. */
  cr_assert_eq(jd_league_eta(10000, 4, running, 1, 2), 23500);
  cr_assert_eq(jd_league_eta(10000, 0, running, 1, 4), 7000);
  int64_t late[] = {15000};
  cr_assert_eq(jd_league_eta(10000, 0, late, 1, 1), 0, "past its mean: 0, not negative");
}
