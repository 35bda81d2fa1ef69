// test-labels: redis
/* cli/cmd_submit.c: `judger submit --wait` prints the result's JSON alone on
 * stdout (the ids and the waiting on stderr), so a pipe into a JSON reader
 * works; with no result in time, nothing on stdout and exit 3. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static void up(void) {
  srv = t_redis_start(false, false);
  dir = t_tmpdir("submit");
}
static void down(void) {
  t_redis_stop(srv);
  t_rmdir(dir);
}

/* Writes a match task with that id into dir; returns its path (static). */
static const char *task_file(const char *id) {
  static char path[512];
  snprintf(path, sizeof path, "%s/%s.json", dir, id);
  char json[512];
  int n = snprintf(json, sizeof json,
                   "{\"id\":\"%s\",\"type\":\"match\",\"match\":{\"game_logic\":{\"id\":\"g\","
                   "\"dir\":\"/tmp\"},\"ais\":[{\"id\":\"a\",\"dir\":\"/tmp\"}]}}",
                   id);
  cr_assert_eq(jd_write_file(path, json, (size_t)n), 0);
  return path;
}

/* The result a daemon would have stored for the task. */
static void store_result(const char *id, const char *json) {
  jd_queue *q = NULL;
  jd_queue_opts o = {.redis_url = srv->url, .consumer = "test"};
  cr_assert_eq(jd_queue_new(&q, &o), 0);
  redisReply *rep = NULL;
  cr_assert_eq(jd_redis_command(&rep, jd_queue_redis(q), "SET judger:result:%s %s", id, json), 0,
               "%s", jd_queue_error(q));
  freeReplyObject(rep);
  jd_queue_free(q);
}

/* Runs a shell command line; its exit status. */
static int sh(const char *fmt, ...) {
  char cmd[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  int st = system(cmd);
  cr_assert(WIFEXITED(st), "%s: did not exit", cmd);
  return WEXITSTATUS(st);
}

static char *slurp(const char *name) {
  char path[512], *text = NULL;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  cr_assert_eq(jd_read_file(&text, NULL, path, 1 << 20), 0, "%s", path);
  return text;
}

Test(submit, wait_prints_the_result_json_alone_on_stdout, .init = up, .fini = down) {
  const char *result =
      "{\"match_id\":\"w-1\",\"status\":\"finished\",\"out_dir\":\"/srv/out/w-1\"}";
  store_result("w-1", result);
  const char *task = task_file("w-1");
  int rc = sh("%s/bin/judger submit --redis %s --wait 10 %s >%s/out 2>%s/err", JD_BINARY_DIR,
              srv->url, task, dir, dir);
  char *out = slurp("out"), *err = slurp("err");
  cr_assert_eq(rc, 0, "exit %d; stderr: %s", rc, err);
  json_object *o = json_tokener_parse(out);
  cr_assert_not_null(o, "stdout is not one JSON value: %s", out);
  cr_assert(json_object_is_type(o, json_type_object));
  cr_assert_str_eq(out,
                   "{\"match_id\":\"w-1\",\"status\":\"finished\",\"out_dir\":\"/srv/out/w-1\"}\n",
                   "stdout holds the result and nothing else: %s", out);
  cr_assert_not_null(strstr(err, "w-1 match "), "the ids go to stderr: %s", err);
  json_object_put(o);
  free(out);
  free(err);
}

Test(submit, wait_piped_into_a_json_reader_succeeds, .init = up, .fini = down) {
  store_result("w-2", "{\"match_id\":\"w-2\",\"status\":\"finished\",\"scores\":[1,0]}");
  const char *task = task_file("w-2");
  int rc = sh("{ %s/bin/judger submit --redis %s --wait 10 %s 2>/dev/null; echo $? >%s/rc; } | "
              "python3 -m json.tool >%s/pretty",
              JD_BINARY_DIR, srv->url, task, dir, dir);
  char *submit_rc = slurp("rc"), *pretty = slurp("pretty");
  cr_assert_str_eq(submit_rc, "0\n", "judger submit exited %s", submit_rc);
  cr_assert_eq(rc, 0, "python3 -m json.tool refused the output (exit %d)", rc);
  free(submit_rc);
  cr_assert_not_null(strstr(pretty, "\"scores\": ["), "%s", pretty);
  free(pretty);
}

Test(submit, without_wait_the_ids_stay_on_stdout, .init = up, .fini = down) {
  const char *task = task_file("w-3");
  int rc = sh("%s/bin/judger submit --redis %s %s >%s/out 2>%s/err", JD_BINARY_DIR, srv->url, task,
              dir, dir);
  char *out = slurp("out");
  cr_assert_eq(rc, 0);
  cr_assert_eq(strncmp(out, "w-3 match ", 10), 0, "%s", out);
  free(out);
}

Test(submit, no_result_in_time_leaves_stdout_empty_and_exits_3, .init = up, .fini = down) {
  const char *task = task_file("w-4");
  int rc = sh("%s/bin/judger submit --redis %s --wait 0.3 %s >%s/out 2>%s/err", JD_BINARY_DIR,
              srv->url, task, dir, dir);
  char *out = slurp("out"), *err = slurp("err");
  cr_assert_eq(rc, 3, "exit %d", rc);
  cr_assert_str_eq(out, "", "nothing a JSON reader would take: %s", out);
  cr_assert_not_null(strstr(err, "no result for w-4"), "%s", err);
  free(out);
  free(err);
}
