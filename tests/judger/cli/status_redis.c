// test-labels: redis
/* cli/cmd_status.c's redis block and cmd_submit.c's confirmation, against
 * real processes (tests/support/redis_sentinel.h: a primary, a replica,
 * three sentinels, the ACL user "judger" and passwords on both the data
 * nodes and the sentinels): `judger status` names the primary, its replica
 * and the sentinels (one killed: down, with its reason), the direct form
 * names no sentinels, and with no sentinel answering it shows what it knows
 * and exits 3; `judger submit` (a task, a taskset) exits 3 when the paused
 * replica did not confirm it. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <json-c/json.h>

#include "common/clock.h"
#include "common/tmpfile.h"
#include "common/util.h"
#include "redis_sentinel.h"
#include "support.h"

static t_sentinel_set *set;
static char *dir;

static void up(void) {
  t_sentinel_opts o = {.password = "pw-data", .sentinel_password = "pw-sent", .acl_user = true};
  set = t_sentinel_start(&o);
  dir = t_tmpdir("status-redis");
}
static void down(void) {
  t_sentinel_stop(set);
  t_rmdir(dir);
}

/* Runs `judger ARGS` with stdout and stderr in dir/out and dir/err; its
 * exit status. The URL is part of ARGS (single-quoted: it has '?' and '&'). */
static int run(const char *fmt, ...) {
  char args[4096], cmd[8192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(args, sizeof args, fmt, ap);
  va_end(ap);
  snprintf(cmd, sizeof cmd, "%s/bin/judger %s >%s/out 2>%s/err", JD_BINARY_DIR, args, dir, dir);
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
  static char path[4][512];
  static int k;
  char *p = path[k++ % 4];
  snprintf(p, 512, "%s/%s", dir, name);
  cr_assert_eq(jd_write_file(p, text, strlen(text)), 0, "%s", p);
  return p;
}

static json_object *get(json_object *o, const char *k) {
  json_object *v = NULL;
  cr_assert(json_object_object_get_ex(o, k, &v), "no \"%s\" in %s", k,
            json_object_to_json_string(o));
  return v;
}

static const char *str(json_object *o, const char *k) { return json_object_get_string(get(o, k)); }

/* `judger status --json` with url; its redis block (the caller puts the
 * returned root); *rc its exit status. */
static json_object *status_json(int *rc, const char *url) {
  *rc = run("status --json --redis '%s'", url);
  char *out = slurp("out");
  json_object *root = json_tokener_parse(out);
  cr_assert_not_null(root, "not JSON: %s", out);
  free(out);
  return root;
}

static char *addr_of(int port) {
  char *a = NULL;
  cr_assert(asprintf(&a, "127.0.0.1:%d", port) > 0);
  return a;
}

/* The status once the primary lists its replica (the replica's link is up
 * when the set starts; the primary's ROLE shows it once its sync is
 * done): a condition with a deadline. */
static json_object *status_with_replica(const char *url) {
  long long deadline = jd_mono_ms() + 10000;
  for (;;) {
    int rc = 0;
    json_object *root = status_json(&rc, url);
    cr_assert_eq(rc, 0, "judger status exited %d", rc);
    if (json_object_array_length(get(get(root, "redis"), "replicas")) == 1)
      return root;
    json_object_put(root);
    cr_assert_lt(jd_mono_ms(), deadline, "the primary never listed its replica");
    struct timespec ts = {0, 50 * 1000000L};
    nanosleep(&ts, NULL);
  }
}

static void check_sentinel_block(json_object *r) {
  char *primary = addr_of(set->data[0].port), *replica = addr_of(set->data[1].port);
  cr_assert_str_eq(str(r, "mode"), "sentinel");
  cr_assert_str_eq(str(r, "master"), "mymaster");
  cr_assert_str_eq(str(get(r, "primary"), "addr"), primary);
  json_object *rep = json_object_array_get_idx(get(r, "replicas"), 0);
  cr_assert_str_eq(str(rep, "addr"), replica);
  cr_assert_str_eq(str(rep, "link"), "up");
  cr_assert_geq(json_object_get_int64(get(rep, "lag")), 0);
  json_object *sents = get(r, "sentinels");
  cr_assert_eq(json_object_array_length(sents), 3);
  for (size_t k = 0; k < 3; k++)
    cr_assert(json_object_get_boolean(get(json_object_array_get_idx(sents, k), "up")),
              "sentinel %zu down: %s", k, json_object_to_json_string(sents));
  cr_assert_eq(json_object_get_int64(get(r, "min_replicas_acked")), 1, "auto with a replica: 1");
  cr_assert(json_object_get_boolean(get(r, "min_replicas_acked_auto")));
  /* Neither password is shown. */
  cr_assert_null(strstr(str(r, "url"), "pw-data"), "%s", str(r, "url"));
  cr_assert_null(strstr(str(r, "url"), "pw-sent"), "%s", str(r, "url"));
  free(primary);
  free(replica);
}

Test(status_redis, names_the_primary_its_replica_and_the_sentinels, .init = up, .fini = down,
     .timeout = 120) {
  json_object *root = status_with_replica(set->url);
  check_sentinel_block(get(root, "redis"));
  get(root, "streams"); /* the queue's status is still there */
  json_object_put(root);

  /* The text form, the same facts. */
  cr_assert_eq(run("status --redis '%s'", set->url), 0);
  char *out = slurp("out"), line[128];
  cr_assert_not_null(
      strstr(out, "REDIS      sentinel  master mymaster  min_replicas_acked 1 (auto)"), "%s", out);
  snprintf(line, sizeof line, "  replica   127.0.0.1:%d", set->data[1].port);
  cr_assert_not_null(strstr(out, line), "%s", out);
  snprintf(line, sizeof line, "  sentinel  127.0.0.1:%d", set->sent[2].port);
  cr_assert_not_null(strstr(out, line), "%s", out);
  cr_assert_not_null(strstr(out, "QUEUES"), "%s", out);
  free(out);

  /* The direct form: no sentinels, the same replica. */
  root = status_with_replica(set->admin_url[0]);
  json_object *r = get(root, "redis");
  cr_assert_str_eq(str(r, "mode"), "direct");
  cr_assert_eq(json_object_array_length(get(r, "sentinels")), 0);
  json_object_put(root);

  /* One sentinel killed: down, with its reason; status still answers. */
  int dead_port = set->sent[2].port;
  kill(set->sent[2].pid, SIGKILL);
  waitpid(set->sent[2].pid, NULL, 0);
  set->sent[2].pid = 0;
  root = status_with_replica(set->url);
  json_object *s2 = json_object_array_get_idx(get(get(root, "redis"), "sentinels"), 2);
  cr_assert(!json_object_get_boolean(get(s2, "up")));
  cr_assert_gt(strlen(str(s2, "error")), 0);
  json_object_put(root);

  /* No sentinel answers: what is known, and exit 3. */
  char url[256];
  snprintf(url, sizeof url, "redis-sentinel://judger:pw-data@127.0.0.1:%d/mymaster/0", dead_port);
  int rc = 0;
  root = status_json(&rc, url);
  cr_assert_eq(rc, 3);
  cr_assert_gt(strlen(str(root, "error")), 0);
  json_object *sents = get(get(root, "redis"), "sentinels");
  cr_assert_eq(json_object_array_length(sents), 1);
  cr_assert(!json_object_get_boolean(get(json_object_array_get_idx(sents, 0), "up")));
  json_object_put(root);
}

static const char *task_file(const char *id) {
  char json[512], name[64];
  snprintf(json, sizeof json,
           "{\"id\":\"%s\",\"type\":\"match\",\"match\":{\"game_logic\":{\"id\":\"g\","
           "\"dir\":\"/tmp\"},\"players\":[{\"id\":\"a\",\"dir\":\"/tmp\"}]}}",
           id);
  snprintf(name, sizeof name, "%s.json", id);
  return write_file(name, json);
}

static const char *taskset_file(const char *id) {
  char json[1024], name[64];
  snprintf(json, sizeof json,
           "{\"id\":\"%s\",\"priority\":\"match\",\"tasks\":[{\"id\":\"%s-m1\",\"type\":"
           "\"match\",\"match\":{\"game_logic\":{\"id\":\"g\",\"dir\":\"/tmp\"},\"players\":[{"
           "\"id\":\"a\",\"dir\":\"/tmp\"},{\"id\":\"b\",\"dir\":\"/tmp\"}]}}]}",
           id, id);
  snprintf(name, sizeof name, "%s.json", id);
  return write_file(name, json);
}

Test(status_redis, submit_unconfirmed_by_the_replica_exits_3, .init = up, .fini = down,
     .timeout = 120) {
  json_object_put(status_with_replica(set->url)); /* the primary counts its replica */
  cr_assert_eq(run("submit --redis '%s' %s", set->url, task_file("c-1")), 0, "confirmed");
  char *out = slurp("out");
  cr_assert_eq(strncmp(out, "c-1 match ", 10), 0, "%s", out);
  free(out);

  t_sentinel_pause(set, 1);
  long long t0 = jd_mono_ms();
  int rc = run("submit --redis '%s' --replica-wait-ms 200 %s", set->url, task_file("c-2"));
  long long took = jd_mono_ms() - t0;
  char *err = slurp("err");
  cr_assert_eq(rc, 3, "exit %d: %s", rc, err);
  cr_assert_not_null(strstr(err, "c-2 submitted as "), "%s", err);
  cr_assert_not_null(
      strstr(err, "but no replica confirmed it within replica_wait_ms: submit again"), "%s", err);
  cr_assert_lt(took, 5000, "the wait is replica_wait_ms, not more: %lld ms", took);
  free(err);
  out = slurp("out");
  cr_assert_str_eq(out, "", "no ids on stdout for an unconfirmed submission: %s", out);
  free(out);

  rc =
      run("submit --redis '%s' --replica-wait-ms 200 --taskset %s", set->url, taskset_file("cs-1"));
  err = slurp("err");
  cr_assert_eq(rc, 3, "exit %d: %s", rc, err);
  cr_assert_not_null(strstr(err, "taskset cs-1 submitted, but no replica confirmed it"), "%s", err);
  free(err);

  /* min_replicas_acked 0: never WAIT, so nothing to confirm. */
  cr_assert_eq(run("submit --redis '%s' --min-replicas-acked 0 %s", set->url, task_file("c-3")), 0);
  t_sentinel_resume(set, 1);
  cr_assert_eq(run("submit --redis '%s' %s", set->url, task_file("c-4")), 0);
}
