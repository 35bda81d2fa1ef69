// test-labels: redis
/* The daemon's metric hooks (worker, reader, keeper) with a fake executor
 * against a real redis-server, read over HTTP from the daemon's own
 * /metrics: finished, retried, dead-lettered (a task and a non-task),
 * given back on a drain; the executor's phases and verdicts; queue wait of
 * first attempts; slots busy back at 0. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/clock.h"
#include "daemon/daemon.h"
#include "http_client.h"
#include "queue/queue.h"
#include "redis_server.h"
#include "daemon_proc.h"
#include "support.h"

static t_redis *srv;

static void up(void) { srv = t_redis_start(false, false); }
static void down(void) { t_redis_stop(srv); }

/* The spec says what to do: {"behave": "ok" | "retry" | "invalid" | "hang"}. */
static const char *behave_of(const jd_task *t) {
  json_object *v = NULL;
  return json_object_object_get_ex(t->spec, "behave", &v) ? json_object_get_string(v) : "ok";
}

static int fake_prepare(void **prepared, void *self, const jd_task *t, char *err, size_t errlen) {
  (void)self;
  *prepared = NULL;
  if (!strcmp(behave_of(t), "invalid")) {
    snprintf(err, errlen, "match.behave: invalid on purpose");
    return -1;
  }
  return 0;
}

static int fake_execute(void *self, const jd_task *t, void *prepared, const jd_exec_env *env,
                        jd_exec_result *res) {
  (void)self;
  (void)prepared;
  const char *behave = behave_of(t);
  if (!strcmp(behave, "hang")) {
    while (!dk_cancel_fired(env->cancel))
      usleep(10000);
    res->status = JD_TASK_STATUS_CANCELLED;
    return JD_EXEC_DONE;
  }
  jd_exec_phase(res, JD_PHASE_PREPARE, 0.02);
  if (!strcmp(behave, "retry")) {
    res->reason = strdup("engine unreachable (fake)");
    return JD_EXEC_RETRY;
  }
  jd_exec_phase(res, JD_PHASE_RUN, 0.2);
  jd_exec_phase(res, JD_PHASE_TEARDOWN, 0.05);
  res->verdicts[JD_VERDICT_OK] = 1;
  res->verdicts[JD_VERDICT_TLE] = 1;
  res->status = JD_TASK_STATUS_FINISHED;
  res->result = json_object_new_object();
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
  r->state = t_tmpdir("mdaemon");
  jd_config c;
  cr_assert_eq(jd_config_defaults(&c), 0);
  char err[256];
  const char *kv[][2] = {
      {"redis", srv->url}, {"host_id", host},      {"lease_ms", "400"},
      {"grace_ms", "0"},   {"max_attempts", "2"},  {"state_dir", r->state},
      {"block_ms", "100"}, {"log_level", "error"}, {"metrics_listen", "127.0.0.1:0"}};
  for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
    cr_assert_eq(jd_config_set(&c, kv[i][0], kv[i][1], err, sizeof err), 0, "%s", err);
  jd_executor ex = {.prepare = fake_prepare, .execute = fake_execute};
  cr_assert_eq(jd_daemon_new(&r->d, &c, NULL, &ex), 0);
  jd_config_clear(&c);
  pthread_create(&r->th, NULL, run_thread, r);
  t_daemon_wait_ready(r->d, host);
  return r;
}

static void submit(jd_queue *q, const char *id, const char *task) {
  cr_assert_eq(jd_queue_submit(NULL, q, JD_PRIO_MATCH, id, task), 0, "%s", jd_queue_error(q));
}

static void submit_match(jd_queue *q, const char *id, const char *behave) {
  char json[256];
  snprintf(json, sizeof json, "{\"id\":\"%s\",\"type\":\"match\",\"match\":{\"behave\":\"%s\"}}",
           id, behave);
  submit(q, id, json);
}

/* Waits until every line is in the daemon's /metrics (one GET each 50 ms). */
static void wait_lines(int port, const char *const *lines, size_t n) {
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", port);
  int64_t until = jd_mono_ms() + 30000;
  char *last = NULL;
  for (;;) {
    t_http_answer a;
    cr_assert_eq(t_http(&a, "GET", url), 0);
    size_t have = 0;
    while (have < n && strstr(a.body.data, lines[have]))
      have++;
    free(last);
    last = dk_buf_detach(&a.body, NULL);
    if (have == n)
      break;
    cr_assert(jd_mono_ms() < until, "never saw %s in:\n%s", lines[have], last);
    usleep(50000);
  }
  free(last);
}

Test(metrics_daemon, every_way_a_task_ends_is_counted, .init = up, .fini = down, .timeout = 120) {
  running *r = start_daemon("mdaemon-a");
  int port = jd_daemon_metrics_port(r->d);
  cr_assert_gt(port, 0);
  jd_queue *q = NULL;
  jd_queue_opts o = {.redis_url = srv->url, .consumer = "test-client"};
  cr_assert_eq(jd_queue_new(&q, &o), 0);
  submit_match(q, "ok-1", "ok");
  submit_match(q, "ok-2", "ok");
  submit_match(q, "retry-1", "retry");
  submit_match(q, "invalid-1", "invalid");
  submit(q, "garbage", "not json at all");
  const char *lines[] = {
      "judger_tasks_total{type=\"match\",status=\"finished\"} 2\n",
      /* two attempts, then out of attempts */
      "judger_tasks_total{type=\"match\",status=\"retried\"} 2\n",
      "judger_tasks_total{type=\"match\",status=\"dead_lettered\"} 2\n",
      "judger_tasks_total{type=\"unknown\",status=\"dead_lettered\"} 1\n",
      "judger_player_verdicts_total{verdict=\"OK\"} 2\n",
      "judger_player_verdicts_total{verdict=\"TLE\"} 2\n",
      "judger_task_phase_seconds_count{phase=\"prepare\"} 4\n",
      "judger_task_phase_seconds_bucket{phase=\"run\",le=\"0.25\"} 2\n",
      "judger_task_phase_seconds_count{phase=\"teardown\"} 2\n",
      /* first attempts of the tasks that ran: ok-1, ok-2, retry-1 */
      "judger_task_phase_seconds_count{phase=\"queue_wait\"} 3\n",
      "judger_slots_busy 0\n",
      "judger_redis_up 1\n",
      "judger_engine_up 0\n",
  };
  wait_lines(port, lines, sizeof lines / sizeof lines[0]);
  /* A drain that gives a running task back. */
  submit_match(q, "hang-1", "hang");
  const char *busy[] = {"judger_slots_busy 1\n"};
  wait_lines(port, busy, 1);
  jd_daemon_stop(r->d, true);
  pthread_join(r->th, NULL);
  cr_assert_eq(r->rc, 0, "%s", jd_daemon_error(r->d));
  dk_buf b = DK_BUF_INIT(1 << 20);
  cr_assert_eq(jd_metrics_render(&b, jd_dmetrics_registry(jd_daemon_metrics(r->d))), 0);
  cr_assert(strstr(b.data, "judger_tasks_total{type=\"match\",status=\"given_back\"} 1\n"), "%s",
            b.data);
  cr_assert(strstr(b.data, "judger_slots_busy 0\n"), "%s", b.data);
  dk_buf_free(&b);
  jd_daemon_free(r->d);
  t_rmdir(r->state);
  free(r);
  jd_queue_free(q);
}

Test(metrics_daemon, metrics_off_serves_nothing, .init = up, .fini = down) {
  jd_config c;
  cr_assert_eq(jd_config_defaults(&c), 0);
  char err[256];
  cr_assert_eq(jd_config_set(&c, "redis", srv->url, err, sizeof err), 0);
  jd_executor ex = {.prepare = fake_prepare, .execute = fake_execute};
  jd_daemon *d = NULL;
  cr_assert_eq(jd_daemon_new(&d, &c, NULL, &ex), 0);
  cr_assert_null(jd_daemon_metrics(d));
  cr_assert_eq(jd_daemon_metrics_port(d), 0);
  jd_daemon_free(d);
  jd_config_clear(&c);
}
