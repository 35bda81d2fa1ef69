// test-labels: redis
/* cli/taskset_swiss.c: `judger taskset swiss` (the real binary) drives two
 * rounds of four programs against a real daemon (jd_daemon on a thread of
 * the test, 2 slots) whose executor plays a game with no engine: the
 * program "pN" scores N. Round 2 is paired from round 1's results (the two
 * winners meet, no rematch), and the standings over both rounds rank p4
 * first (2 wins) and p1 last (2 losses). Run again with a third round, it
 * resumes the first two and pairs the third without a rematch. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <json-c/json.h>

#include "common/tmpfile.h"
#include "common/util.h"
#include "daemon/daemon.h"
#include "daemon_proc.h"
#include "queue/queue.h"
#include "queue/redis.h"
#include "queue/taskset.h"
#include "redis_server.h"
#include "support.h"

static t_redis *srv;
static char *dir;

static void up(void) {
  srv = t_redis_start(false, false);
  dir = t_tmpdir("swiss");
}
static void down(void) {
  t_redis_stop(srv);
  t_rmdir(dir);
}

/* The game: each seat scores the number in its program id ("p3": 3). */
static int game_execute(void *self, const jd_task *t, void *prepared, const jd_exec_env *env,
                        jd_exec_result *res) {
  (void)self;
  (void)prepared;
  (void)env;
  json_object *players = NULL;
  cr_assert(json_object_object_get_ex(t->spec, "players", &players));
  json_object *rp = json_object_new_array(), *scores = json_object_new_array();
  for (size_t i = 0; i < json_object_array_length(players); i++) {
    json_object *id = NULL;
    json_object_object_get_ex(json_object_array_get_idx(players, i), "id", &id);
    const char *s = json_object_get_string(id);
    int score = s && s[0] == 'p' ? atoi(s + 1) : 0;
    json_object *p = json_object_new_object();
    json_object_object_add(p, "id", json_object_new_string(s));
    json_object_object_add(p, "score", json_object_new_int(score));
    json_object_array_add(rp, p);
    json_object_array_add(scores, json_object_new_int(score));
  }
  res->status = JD_TASK_STATUS_FINISHED;
  res->summary = strdup("played");
  res->result = json_object_new_object();
  json_object_object_add(res->result, "match_id", json_object_new_string(t->id));
  json_object_object_add(res->result, "status", json_object_new_string("finished"));
  json_object_object_add(res->result, "players", rp);
  json_object_object_add(res->result, "scores", scores);
  return JD_EXEC_DONE;
}

typedef struct running {
  jd_daemon *d;
  pthread_t th;
  int rc;
  char *state;
} running;

static void *run_thread(void *arg) {
  running *r = arg;
  r->rc = jd_daemon_run(r->d);
  return NULL;
}

static running *start_daemon(const char *host) {
  running *r = calloc(1, sizeof *r);
  r->state = t_tmpdir("swiss-daemon");
  jd_config c;
  cr_assert_eq(jd_config_defaults(&c), 0);
  char err[256];
  const char *kv[][2] = {{"redis", srv->url},     {"host_id", host},   {"slots", "2"},
                         {"state_dir", r->state}, {"block_ms", "200"}, {"log_level", "warn"}};
  for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
    cr_assert_eq(jd_config_set(&c, kv[i][0], kv[i][1], err, sizeof err), 0, "%s", err);
  jd_executor ex = {.execute = game_execute};
  cr_assert_eq(jd_daemon_new(&r->d, &c, NULL, &ex), 0);
  jd_config_clear(&c);
  pthread_create(&r->th, NULL, run_thread, r);
  t_daemon_wait_ready(r->d, host);
  return r;
}

static void stop_daemon(running *r) {
  jd_daemon_stop(r->d, false);
  pthread_join(r->th, NULL);
  cr_assert_eq(r->rc, 0, "%s", jd_daemon_error(r->d));
  jd_daemon_free(r->d);
  t_rmdir(r->state);
  free(r);
}

static char *slurp(const char *name) {
  char path[512], *text = NULL;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  cr_assert_eq(jd_read_file(&text, NULL, path, 1 << 20), 0, "%s", path);
  return text;
}

static json_object *get(json_object *o, const char *k) {
  json_object *v = NULL;
  cr_assert(json_object_object_get_ex(o, k, &v), "no \"%s\" in %s", k,
            json_object_to_json_string(o));
  return v;
}

/* The two program ids of a stored result, as "pA-pB" with A < B. */
static void pair_of(char out[32], jd_queue *q, const char *task) {
  char *res = NULL;
  cr_assert_eq(jd_queue_get_result(&res, q, task), 0, "%s", jd_queue_error(q));
  cr_assert_not_null(res, "no result for %s", task);
  json_object *o = json_tokener_parse(res), *players = get(o, "players");
  const char *a = json_object_get_string(get(json_object_array_get_idx(players, 0), "id"));
  const char *b = json_object_get_string(get(json_object_array_get_idx(players, 1), "id"));
  snprintf(out, 32, "%s-%s", strcmp(a, b) < 0 ? a : b, strcmp(a, b) < 0 ? b : a);
  json_object_put(o);
  free(res);
}

Test(taskset_swiss, two_rounds_paired_by_points_against_a_daemon, .init = up, .fini = down,
     .timeout = 120) {
  char players[4][600];
  for (int i = 0; i < 4; i++) {
    snprintf(players[i], sizeof players[i], "%s/p%d", dir, i + 1);
    cr_assert_eq(mkdir(players[i], 0700), 0);
  }
  char game[600];
  snprintf(game, sizeof game, "%s/game.json", dir);
  const char *g = "{\"game_logic\":{\"id\":\"g\",\"dir\":\"/tmp\"}}";
  cr_assert_eq(jd_write_file(game, g, strlen(g)), 0);
  char *host = t_unique("swiss");
  running *d = start_daemon(host);
  char cmd[4096];
  snprintf(cmd, sizeof cmd,
           "%s/bin/judger taskset swiss --redis %s --id sw --rounds 2 --json --round-timeout 60 "
           "--game %s --players %s %s %s %s >%s/out 2>%s/err",
           JD_BINARY_DIR, srv->url, game, players[0], players[1], players[2], players[3], dir, dir);
  int st = system(cmd);
  char *err = slurp("err");
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit %d: %s", WEXITSTATUS(st), err);
  cr_assert_not_null(strstr(err, "round 2 of 2: taskset sw-r2"), "%s", err);
  free(err);

  char *out = slurp("out");
  json_object *o = json_tokener_parse(out), *rows = get(o, "programs");
  cr_assert_not_null(o, "%s", out);
  cr_assert_eq(json_object_array_length(rows), 4, "%s", out);
  json_object *first = json_object_array_get_idx(rows, 0),
              *last = json_object_array_get_idx(rows, 3);
  cr_assert_str_eq(json_object_get_string(get(first, "program")), "p4", "%s", out);
  cr_assert_eq(json_object_get_int(get(first, "wins")), 2, "%s", out);
  cr_assert_str_eq(json_object_get_string(get(last, "program")), "p1", "%s", out);
  cr_assert_eq(json_object_get_int(get(last, "losses")), 2, "%s", out);
  for (size_t i = 0; i < 4; i++)
    cr_assert_eq(json_object_get_int(get(json_object_array_get_idx(rows, i), "games")), 2);
  json_object_put(o);
  free(out);

  /* Four different pairs; round 2 puts round 1's winners together. */
  jd_queue *q = t_queue_client(srv->url);
  const char *tasks[] = {"sw-r1-r1-g1", "sw-r1-r1-g2", "sw-r2-r2-g1", "sw-r2-r2-g2"};
  char pairs[4][32];
  for (int i = 0; i < 4; i++)
    pair_of(pairs[i], q, tasks[i]);
  for (int i = 0; i < 4; i++)
    for (int j = i + 1; j < 4; j++)
      cr_assert_str_neq(pairs[i], pairs[j], "a rematch: %s", pairs[i]);
  /* "pA-pB", A < B: the winner is pB (the one scoring more). */
  char want[256];
  const char *w1 = pairs[0] + 3, *w2 = pairs[1] + 3;
  snprintf(want, sizeof want, "%s-%s", strcmp(w1, w2) < 0 ? w1 : w2, strcmp(w1, w2) < 0 ? w2 : w1);
  cr_assert(!strcmp(pairs[2], want) || !strcmp(pairs[3], want), "round 1 %s %s, round 2 %s %s",
            pairs[0], pairs[1], pairs[2], pairs[3]);

  /* The same command with a third round: rounds 1 and 2 are resumed, not
   * paired again; round 3 avoids their pairs, read back from the results. */
  memcpy(strstr(cmd, "--rounds 2"), "--rounds 3", 10);
  st = system(cmd);
  stop_daemon(d);
  err = slurp("err");
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit %d: %s", WEXITSTATUS(st), err);
  cr_assert_not_null(strstr(err, "round 1: taskset sw-r1 exists: resumed"), "%s", err);
  cr_assert_not_null(strstr(err, "round 2: taskset sw-r2 exists: resumed"), "%s", err);
  free(err);
  char third[2][32];
  pair_of(third[0], q, "sw-r3-r3-g1");
  pair_of(third[1], q, "sw-r3-r3-g2");
  for (int t = 0; t < 2; t++)
    for (int i = 0; i < 4; i++)
      cr_assert_str_neq(third[t], pairs[i], "round 3 replays %s", pairs[i]);
  out = slurp("out");
  o = json_tokener_parse(out);
  rows = get(o, "programs");
  for (size_t i = 0; i < 4; i++)
    cr_assert_eq(json_object_get_int(get(json_object_array_get_idx(rows, i), "games")), 3, "%s",
                 out);
  first = json_object_array_get_idx(rows, 0);
  cr_assert_str_eq(json_object_get_string(get(first, "program")), "p4", "%s", out);
  cr_assert_eq(json_object_get_int(get(first, "wins")), 3, "%s", out);
  json_object_put(o);
  free(out);
  jd_queue_free(q);
  free(host);
}

/* Runs a shell command line with stdout and stderr in dir/out, dir/err. */
static int sh(const char *args) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "%s/bin/judger %s --redis %s >%s/out 2>%s/err", JD_BINARY_DIR, args,
           srv->url, dir, dir);
  int st = system(cmd);
  cr_assert(WIFEXITED(st), "%s", cmd);
  return WEXITSTATUS(st);
}

Test(taskset_swiss, a_round_robin_waited_for_then_its_standings_and_status, .init = up,
     .fini = down, .timeout = 120) {
  char args[4096], game[600];
  snprintf(game, sizeof game, "%s/game.json", dir);
  const char *g = "{\"game_logic\":{\"id\":\"g\",\"dir\":\"/tmp\"}}";
  cr_assert_eq(jd_write_file(game, g, strlen(g)), 0);
  int n = snprintf(args, sizeof args,
                   "taskset round-robin --id rr --submit --wait 60 --game %s --players", game);
  for (int i = 1; i <= 3; i++) {
    char p[600];
    snprintf(p, sizeof p, "%s/p%d", dir, i);
    cr_assert_eq(mkdir(p, 0700), 0);
    n += snprintf(args + n, sizeof args - (size_t)n, " %s", p);
  }
  char *host = t_unique("rr");
  running *d = start_daemon(host);
  int rc = sh(args);
  stop_daemon(d);
  free(host);
  char *err = slurp("err"), *out = slurp("out");
  cr_assert_eq(rc, 0, "exit %d: %s", rc, err);
  cr_assert_not_null(strstr(err, "rr 6 tasks match"), "%s", err);
  cr_assert_not_null(strstr(err, "rr [####################] 100% 6/6"), "%s", err);
  json_object *o = json_tokener_parse(out);
  cr_assert_not_null(o, "stdout is the standings JSON alone: %s", out);
  json_object *rows = get(o, "programs");
  cr_assert_eq(json_object_array_length(rows), 3, "%s", out);
  cr_assert_str_eq(json_object_get_string(get(json_object_array_get_idx(rows, 0), "program")),
                   "p3");
  cr_assert_eq(json_object_get_int(get(json_object_array_get_idx(rows, 0), "wins")), 4);
  json_object_put(o);
  free(out);
  free(err);

  /* The standings command: the table, and they are stored (the set
   * finished) when missing (a daemon that died before it ranked the set:
   * played by deleting them). */
  jd_queue *q = t_queue_client(srv->url);
  redisReply *rep = NULL;
  cr_assert_eq(jd_redis_command(&rep, jd_queue_redis(q), "DEL judger:taskset:rr:standings"), 0);
  freeReplyObject(rep);
  cr_assert_eq(sh("taskset standings rr"), 0);
  out = slurp("out");
  cr_assert_not_null(strstr(out, "p3"), "%s", out);
  free(out);
  char *stored = NULL;
  cr_assert_eq(jd_queue_taskset_get_standings(&stored, q, "rr"), 0);
  cr_assert_not_null(stored, "the standings of a finished set are stored");
  free(stored);
  jd_queue_free(q);
  cr_assert_eq(sh("taskset standings rr --json"), 0);
  out = slurp("out");
  o = json_tokener_parse(out);
  cr_assert_not_null(o, "%s", out);
  json_object_put(o);
  free(out);

  /* status: the finished line, then the table. */
  cr_assert_eq(sh("status --taskset rr"), 0);
  out = slurp("out");
  cr_assert_not_null(strstr(out, "100% 6/6 running 0 queued 0 failed 0 cancelled 0 finished in"),
                     "%s", out);
  cr_assert_not_null(strstr(out, "\n\n"), "the table under the lines: %s", out);
  free(out);
}
