// test-labels: redis
/* cli/cmd_taskset.c, cmd_submit.c, cmd_status.c with the real `judger`
 * binary against a real redis-server (no daemon): `judger submit --taskset`
 * all or nothing, its output; `judger status --taskset` as text and JSON;
 * `judger taskset cancel`; --wait ending on a cancelled set and timing out;
 * `judger taskset round-robin`'s games; `judger taskset standings` of an
 * unknown set. Every test has its own key prefix. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <json-c/json.h>

#include "common/tmpfile.h"
#include "common/util.h"
#include "queue/queue.h"
#include "queue/redis.h"
#include "redis_server.h"
#include "support.h"

static t_redis *srv;
static char *dir;
static char prefix[96];

static void up(void) {
  srv = t_redis_start(false, false);
  dir = t_tmpdir("taskset");
  char *u = t_unique("ts");
  snprintf(prefix, sizeof prefix, "judger:%s", u);
  free(u);
}
static void down(void) {
  t_redis_stop(srv);
  t_rmdir(dir);
}

/* Runs `judger ARGS --redis URL --prefix P` with stdout and stderr in
 * dir/out and dir/err; its exit status. */
static int run(const char *fmt, ...) {
  char args[4096], cmd[8192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(args, sizeof args, fmt, ap);
  va_end(ap);
  snprintf(cmd, sizeof cmd, "%s/bin/judger %s --redis %s --prefix %s >%s/out 2>%s/err",
           JD_BINARY_DIR, args, srv->url, prefix, dir, dir);
  int st = system(cmd);
  cr_assert(WIFEXITED(st), "%s: did not exit", cmd);
  return WEXITSTATUS(st);
}

static char *slurp(const char *name) {
  char path[512], *text = NULL;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  cr_assert_eq(jd_read_file(&text, NULL, path, 16 << 20), 0, "%s", path);
  return text;
}

static const char *write_file(const char *name, const char *text) {
  static char path[8][512];
  static int k;
  char *p = path[k++ % 8];
  snprintf(p, 512, "%s/%s", dir, name);
  cr_assert_eq(jd_write_file(p, text, strlen(text)), 0, "%s", p);
  return p;
}

/* A taskset file of n match members "<id>-m<k>"; member bad (1-based, 0:
 * none) waits for a task that is not in the set. */
static const char *taskset_file(const char *id, int n, int bad) {
  char *json = NULL, *tail = NULL;
  cr_assert(asprintf(&json, "{\"id\":\"%s\",\"priority\":\"match\",\"tasks\":[", id) > 0);
  for (int k = 1; k <= n; k++) {
    cr_assert(asprintf(&tail,
                       "%s%s{\"id\":\"%s-m%d\",\"type\":\"match\",%s\"match\":{\"game_logic\":"
                       "{\"id\":\"g\",\"dir\":\"/tmp\"},\"players\":[{\"id\":\"a\",\"dir\":"
                       "\"/tmp\"},{\"id\":\"b\",\"dir\":\"/tmp\"}]}}",
                       json, k > 1 ? "," : "", id, k,
                       k == bad ? "\"after\":[\"not-there\"]," : "") > 0);
    free(json);
    json = tail;
  }
  cr_assert(asprintf(&tail, "%s]}", json) > 0);
  free(json);
  char name[160];
  snprintf(name, sizeof name, "%s.json", id);
  const char *path = write_file(name, tail);
  free(tail);
  return path;
}

/* Keys under this test's prefix. */
static long long keys_under_prefix(void) {
  jd_queue *q = NULL;
  jd_queue_opts o = {.redis_url = srv->url, .consumer = "test"};
  cr_assert_eq(jd_queue_new(&q, &o), 0);
  redisReply *rep = NULL;
  cr_assert_eq(jd_redis_command(&rep, jd_queue_redis(q), "KEYS %s:*", prefix), 0, "%s",
               jd_queue_error(q));
  long long n = rep->type == REDIS_REPLY_ARRAY ? (long long)rep->elements : -1;
  freeReplyObject(rep);
  jd_queue_free(q);
  return n;
}

static json_object *parse_out(void) {
  char *out = slurp("out");
  json_object *o = json_tokener_parse(out);
  cr_assert_not_null(o, "stdout is not JSON: %s", out);
  free(out);
  return o;
}

static json_object *get(json_object *o, const char *k) {
  json_object *v = NULL;
  cr_assert(json_object_object_get_ex(o, k, &v), "no \"%s\" in %s", k,
            json_object_to_json_string(o));
  return v;
}

Test(cmd_taskset, submit_refuses_a_bad_member_naming_it_and_writes_nothing, .init = up,
     .fini = down) {
  const char *f = taskset_file("bad-set", 5, 3);
  int rc = run("submit --taskset %s", f);
  char *out = slurp("out"), *err = slurp("err");
  cr_assert_eq(rc, 2, "exit %d: %s", rc, err);
  cr_assert_not_null(strstr(err, "tasks[2]"), "the member's index: %s", err);
  cr_assert_not_null(strstr(err, "bad-set-m3"), "the member's id: %s", err);
  cr_assert_str_eq(out, "");
  cr_assert_eq(keys_under_prefix(), 0, "nothing in Redis");
  free(out);
  free(err);
}

Test(cmd_taskset, submit_then_status_as_text_and_json, .init = up, .fini = down) {
  const char *f = taskset_file("set-a", 3, 0);
  cr_assert_eq(run("submit --taskset %s", f), 0, "%s", slurp("err"));
  char *out = slurp("out");
  cr_assert_str_eq(out, "set-a 3 tasks match\n");
  free(out);
  cr_assert_eq(run("submit --taskset %s", f), 2, "the same id twice is refused");
  char *err = slurp("err");
  cr_assert_not_null(strstr(err, "set-a exists"), "%s", err);
  free(err);

  cr_assert_eq(run("status --taskset set-a"), 0, "%s", slurp("err"));
  out = slurp("out");
  const char *line = "set-a [....................]   0% 0/3 running 0 queued 3 failed 0 "
                     "cancelled 0 ETA ";
  cr_assert_eq(strncmp(out, line, strlen(line)), 0, "%s", out);
  cr_assert_not_null(strstr(out, "state running  priority match"), "%s", out);
  free(out);

  cr_assert_eq(run("status --taskset set-a --json"), 0, "%s", slurp("err"));
  json_object *o = parse_out(), *view = get(o, "taskset"), *tasks = get(o, "tasks");
  cr_assert_str_eq(json_object_get_string(get(view, "id")), "set-a");
  cr_assert_eq(json_object_array_length(tasks), 3);
  cr_assert_str_eq(json_object_get_string(get(json_object_array_get_idx(tasks, 2), "task_id")),
                   "set-a-m3");
  cr_assert(json_object_is_type(get(o, "standings"), json_type_null));
  json_object_put(o);
}

Test(cmd_taskset, status_of_an_unknown_set_exits_2, .init = up, .fini = down) {
  cr_assert_eq(run("status --taskset nope"), 2);
  char *err = slurp("err");
  cr_assert_not_null(strstr(err, "no taskset 'nope'"), "%s", err);
  free(err);
  cr_assert_eq(run("status --taskset nope --json"), 2);
  cr_assert_eq(run("taskset standings nope"), 2);
  cr_assert_eq(run("taskset cancel nope"), 2);
  cr_assert_eq(run("status --taskset 'bad id'"), 2);
}

Test(cmd_taskset, cancel_removes_the_queued_members, .init = up, .fini = down) {
  cr_assert_eq(run("submit --taskset %s", taskset_file("set-c", 4, 0)), 0, "%s", slurp("err"));
  cr_assert_eq(run("taskset cancel set-c --reason 'not today'"), 0, "%s", slurp("err"));
  char *out = slurp("out");
  cr_assert_str_eq(out, "set-c cancelled: 4 queued removed, 0 running signalled\n");
  free(out);
  cr_assert_eq(run("status --taskset set-c --json"), 0);
  json_object *o = parse_out(), *view = get(o, "taskset");
  cr_assert_str_eq(json_object_get_string(get(view, "state")), "cancelled");
  json_object_put(o);
  cr_assert_eq(run("status --taskset set-c"), 0);
  out = slurp("out");
  cr_assert_not_null(strstr(out, "100% 4/4"), "%s", out);
  cr_assert_not_null(strstr(out, "cancelled 4 cancelled in "), "%s", out);
  cr_assert_not_null(strstr(out, "reason: "), "%s", out);
  free(out);
}

Test(cmd_taskset, wait_times_out_with_exit_3_and_nothing_on_stdout, .init = up, .fini = down) {
  int rc = run("submit --taskset %s --wait 0.6", taskset_file("set-w", 2, 0));
  char *out = slurp("out"), *err = slurp("err");
  cr_assert_eq(rc, 3, "exit %d: %s", rc, err);
  cr_assert_str_eq(out, "");
  cr_assert_not_null(strstr(err, "set-w 2 tasks match"), "the ids on stderr: %s", err);
  cr_assert_not_null(strstr(err, "set-w [...................."), "the progress: %s", err);
  free(out);
  free(err);
}

Test(cmd_taskset, wait_ends_with_the_view_when_the_set_is_cancelled, .init = up, .fini = down) {
  const char *f = taskset_file("set-x", 2, 0);
  char cmd[4096];
  /* The waiter in the background; the cancel once the set exists. */
  snprintf(cmd, sizeof cmd,
           "J='%s/bin/judger'; R='--redis %s --prefix %s'; D='%s';"
           "$J submit --taskset %s --wait 30 $R >$D/out 2>$D/err & pid=$!;"
           "until $J status --taskset set-x $R >/dev/null 2>&1; do sleep 0.05; done;"
           "$J status --taskset set-x --watch $R >$D/watch 2>&1 & w=$!;"
           "until [ -s $D/watch ]; do sleep 0.05; done;"
           "$J taskset cancel set-x $R >/dev/null || exit 9; wait $pid || exit $?; wait $w",
           JD_BINARY_DIR, srv->url, prefix, dir, f);
  int st = system(cmd);
  cr_assert(WIFEXITED(st));
  char *err = slurp("err");
  cr_assert_eq(WEXITSTATUS(st), 0, "exit %d: %s", WEXITSTATUS(st), err);
  free(err);
  json_object *o = parse_out();
  cr_assert_str_eq(json_object_get_string(get(get(o, "taskset"), "state")), "cancelled");
  json_object_put(o);
  /* The watcher: a line while it ran, one when it ended, then the details. */
  char *watch = slurp("watch");
  cr_assert_not_null(strstr(watch, "set-x [....................]   0% 0/2 running 0 queued 2"),
                     "%s", watch);
  cr_assert_not_null(strstr(watch, "set-x [####################] 100% 2/2"), "%s", watch);
  cr_assert_not_null(strstr(watch, "state cancelled"), "%s", watch);
  free(watch);
}

/* Three player directories and a game template; the round robin's JSON. */
static json_object *round_robin(const char *extra) {
  char d[3][600];
  const char *names[] = {"Alpha_Bot", "beta", "gamma"};
  for (int i = 0; i < 3; i++) {
    snprintf(d[i], sizeof d[i], "%s/%s", dir, names[i]);
    cr_assert_eq(mkdir(d[i], 0700), 0, "%s", d[i]);
  }
  const char *game = write_file("game.json", "{\"game_logic\":{\"id\":\"tron\",\"dir\":\"g\"},"
                                             "\"limits\":{\"deadline_ms\":60000}}");
  int rc = run("taskset round-robin --id rr-1 --game %s --players %s %s %s %s", game, d[0], d[1],
               d[2], extra);
  cr_assert_eq(rc, 0, "%s", slurp("err"));
  return parse_out();
}

static const char *seat(json_object *task, size_t i) {
  json_object *p = json_object_array_get_idx(get(get(task, "match"), "players"), i);
  return json_object_get_string(get(p, "id"));
}

Test(cmd_taskset, round_robin_has_every_pair_in_both_seats, .init = up, .fini = down) {
  json_object *ts = round_robin("--seeds 5,6");
  cr_assert_str_eq(json_object_get_string(get(ts, "id")), "rr-1");
  json_object *tasks = get(ts, "tasks");
  cr_assert_eq(json_object_array_length(tasks), 6, "3 pairs, both orders");
  const char *want[][2] = {{"alpha-bot", "beta"},  {"beta", "alpha-bot"}, {"alpha-bot", "gamma"},
                           {"gamma", "alpha-bot"}, {"beta", "gamma"},     {"gamma", "beta"}};
  for (size_t w = 0; w < 6; w++) {
    int seen = 0;
    for (size_t i = 0; i < 6; i++) {
      json_object *t = json_object_array_get_idx(tasks, i);
      seen += !strcmp(seat(t, 0), want[w][0]) && !strcmp(seat(t, 1), want[w][1]);
    }
    cr_assert_eq(seen, 1, "%s vs %s: %d games", want[w][0], want[w][1], seen);
  }
  json_object *t0 = json_object_array_get_idx(tasks, 0), *m = get(t0, "match");
  cr_assert_str_eq(json_object_get_string(get(t0, "type")), "match");
  char gdir[700];
  snprintf(gdir, sizeof gdir, "%s/g", dir);
  cr_assert_str_eq(json_object_get_string(get(get(m, "game_logic"), "dir")), gdir,
                   "the game's dir made absolute against GAME.json's");
  int64_t s = json_object_get_int64(get(get(m, "config"), "seed"));
  cr_assert(s == 5 || s == 6, "seed %lld", (long long)s);
  json_object_put(ts);
}

Test(cmd_taskset, round_robin_no_swap_then_submit, .init = up, .fini = down) {
  json_object *ts = round_robin("--no-swap --rounds 2");
  cr_assert_eq(json_object_array_length(get(ts, "tasks")), 6, "3 pairs, one order, 2 rounds");
  char *text = strdup(json_object_to_json_string(ts));
  json_object_put(ts);
  const char *f = write_file("rr.json", text);
  free(text);
  cr_assert_eq(run("submit --taskset %s", f), 0, "%s", slurp("err"));
  char *out = slurp("out"), *err = NULL;
  cr_assert_str_eq(out, "rr-1 6 tasks match\n");
  free(out);
  const char *g = write_file("gp.json", "{\"game_logic\":{\"id\":\"g\",\"dir\":\"/tmp\"},"
                                        "\"players\":[]}");
  cr_assert_eq(run("taskset round-robin --game %s --players %s", g, dir), 2,
               "a game template with players is refused");
  err = slurp("err");
  cr_assert_not_null(strstr(err, "has \"players\""), "%s", err);
  free(err);
}

Test(cmd_taskset, standings_of_a_running_set_are_shown_not_stored, .init = up, .fini = down) {
  cr_assert_eq(run("submit --taskset %s", taskset_file("set-s", 2, 0)), 0, "%s", slurp("err"));
  cr_assert_eq(run("taskset standings set-s --json"), 0, "%s", slurp("err"));
  json_object *o = parse_out();
  cr_assert_eq(json_object_array_length(get(o, "programs")), 0, "no results yet");
  json_object_put(o);
  char *err = slurp("err");
  cr_assert_not_null(strstr(err, "set-s is running: these are not stored"), "%s", err);
  free(err);
}

Test(cmd_taskset, submit_from_stdin_with_another_priority, .init = up, .fini = down) {
  const char *f = taskset_file("set-in", 2, 0);
  cr_assert_eq(run("submit --taskset - --priority auto <%s", f), 0, "%s", slurp("err"));
  char *out = slurp("out");
  cr_assert_str_eq(out, "set-in 2 tasks auto\n");
  free(out);
  cr_assert_eq(run("status --taskset set-in --json"), 0);
  json_object *o = parse_out();
  cr_assert_str_eq(json_object_get_string(get(get(o, "taskset"), "priority")), "auto");
  json_object_put(o);
  cr_assert_eq(run("submit --taskset - --priority urgent <%s", f), 2);
  /* Another set whose members have the same task ids: refused, exit 2. */
  char *text = NULL;
  cr_assert_eq(jd_read_file(&text, NULL, f, 1 << 20), 0);
  memcpy(strstr(text, "\"set-in\""), "\"set-im\"", 8);
  int rc = run("submit --taskset %s", write_file("im.json", text));
  free(text);
  char *err = slurp("err");
  cr_assert_eq(rc, 2, "exit %d: %s", rc, err);
  cr_assert_not_null(strstr(err, "(set-in-m1): the task exists"), "%s", err);
  free(err);
  cr_assert_eq(run("submit --taskset %s task.json", f), 2, "a taskset or a task, not both");
}
