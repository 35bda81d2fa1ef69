// test-labels: engine redis
/* The daemon's /metrics end to end: the real `judger daemon` with
 * --metrics-listen runs matches from a real redis-server on the real
 * engine; `promtool check metrics` accepts what it serves; a real
 * Prometheus (own config and data dir, scrape_interval 1s, the alerting
 * rules of images/prometheus loaded) scrapes it, and its query API returns
 * the counts. The rules pass `promtool check rules` and their unit tests.
 * promtool and prometheus are Debian's `prometheus` package
 * (images/setup-host.sh): missing, the test fails. */
#include <curl/curl.h>
#include <json-c/json.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/tmpfile.h"
#include "common/util.h"
#include "daemon_proc.h"
#include "http_client.h"
#include "queue/queue.h"
#include "redis_server.h"
#include "support.h"

#define RULES JD_SOURCE_DIR "/images/prometheus/judger-alerts.yml"
#define RULES_TEST JD_SOURCE_DIR "/images/prometheus/judger-alerts.test.yml"
#define MATCHES 3

static t_redis *srv;
static pid_t prom_pid; /* killed on every path (fini) */

static void up(void) { srv = t_redis_start(false, false); }

static void stop_prometheus(void) {
  if (prom_pid > 0) {
    kill(prom_pid, SIGKILL);
    waitpid(prom_pid, NULL, 0);
    prom_pid = 0;
  }
}

static void down(void) {
  stop_prometheus();
  t_redis_stop(srv);
}

/* Fails (never skips) when the tool is missing. */
static void need(const char *tool) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool);
  cr_assert_eq(system(cmd), 0, "%s is missing: run images/setup-host.sh (Debian's prometheus)",
               tool);
}

/* A port free right now on 127.0.0.1 (Prometheus cannot report the one it
 * picked for :0). */
static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
            getsockname(fd, (struct sockaddr *)&a, &len) == 0);
  close(fd);
  return ntohs(a.sin_port);
}

/* The port the daemon's log says /metrics is on; fails after timeout_ms. */
static int metrics_port(const t_proc *p, int timeout_ms) {
  int64_t until = jd_mono_ms() + timeout_ms;
  while (jd_mono_ms() < until) {
    char *log = NULL;
    int port = 0;
    if (jd_read_file(&log, NULL, p->log, 16u << 20) == 0) {
      const char *at = strstr(log, "metrics.listen");
      const char *num = at ? strstr(at, "(port ") : NULL;
      if (num)
        port = atoi(num + 6);
    }
    free(log);
    if (port > 0)
      return port;
    usleep(50000);
  }
  cr_assert_fail("the daemon never served /metrics (log %s)", p->log);
  return 0;
}

static void submit(jd_queue *q, const char *id, const char *game) {
  char json[2048];
  snprintf(json, sizeof json,
           "{\"id\":\"%s\",\"type\":\"match\",\"match\":{\"id\":\"%s\",\"game_logic\":{\"id\":"
           "\"dgame\",\"image\":\"" T_BUSYBOX_IMAGE "\",\"dir\":\"%s\",\"cmd\":[\"sh\","
           "\"/app/main.sh\"]},\"players\":[{\"id\":\"idle\",\"image\":\"" T_BUSYBOX_IMAGE "\","
           "\"cmd\":[\"sleep\",\"30\"]}],\"config\":{\"turns\":0}}}",
           id, id, game);
  char *eid = NULL;
  cr_assert_eq(jd_queue_submit(&eid, q, JD_PRIO_MATCH, id, json), 0, "%s", jd_queue_error(q));
  free(eid);
}

static void wait_result(jd_queue *q, const char *id, const t_proc *p) {
  int64_t until = jd_mono_ms() + 120000;
  char *json = NULL;
  while (jd_mono_ms() < until) {
    if (jd_queue_get_result(&json, q, id) == 0 && json)
      break;
    usleep(100000);
  }
  cr_assert_not_null(json, "no result for %s (log %s)", id, p->log);
  free(json);
}

/* Runs a shell command; its exit code. */
static int run(const char *cmd) {
  int st = system(cmd);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void start_prometheus(const char *dir, int port, int target) {
  char path[600], yml[2048];
  snprintf(path, sizeof path, "%s/prometheus.yml", dir);
  snprintf(yml, sizeof yml,
           "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
           "rule_files:\n  - %s\n"
           "scrape_configs:\n  - job_name: judger\n    static_configs:\n"
           "      - targets: ['127.0.0.1:%d']\n",
           RULES, target);
  cr_assert_eq(jd_write_file(path, yml, strlen(yml)), 0);
  char cmd[700];
  snprintf(cmd, sizeof cmd, "promtool check config %s >/dev/null", path);
  cr_assert_eq(run(cmd), 0, "promtool refused the test's own config %s", path);
  char cfg[700], data[700], listen[64], log[700];
  snprintf(cfg, sizeof cfg, "--config.file=%s", path);
  snprintf(data, sizeof data, "--storage.tsdb.path=%s/data", dir);
  snprintf(listen, sizeof listen, "--web.listen-address=127.0.0.1:%d", port);
  snprintf(log, sizeof log, "%s/prometheus.log", dir);
  prom_pid = fork();
  cr_assert(prom_pid >= 0);
  if (prom_pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives the test */
    FILE *f = freopen(log, "w", stderr);
    (void)f;
    execlp("prometheus", "prometheus", cfg, data, listen, "--log.level=warn", (char *)NULL);
    _exit(127);
  }
}

/* Waits until Prometheus answers /-/ready. */
static void wait_ready(int port, const char *dir) {
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/-/ready", port);
  int64_t until = jd_mono_ms() + 60000;
  for (;;) {
    t_http_answer a;
    int rc = t_http(&a, "GET", url);
    long status = a.status;
    dk_buf_free(&a.body);
    if (rc == 0 && status == 200)
      return;
    cr_assert(waitpid(prom_pid, NULL, WNOHANG) == 0, "prometheus exited (log %s/prometheus.log)",
              dir);
    cr_assert(jd_mono_ms() < until, "prometheus never got ready (log %s/prometheus.log)", dir);
    usleep(100000);
  }
}

/* The value of an instant query's first sample; NAN when there is none. */
static double query(int port, const char *promql) {
  CURL *e = curl_easy_init();
  char *q = curl_easy_escape(e, promql, 0);
  char url[1024];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/api/v1/query?query=%s", port, q);
  curl_free(q);
  curl_easy_cleanup(e);
  t_http_answer a;
  double v = NAN;
  if (t_http(&a, "GET", url) == 0 && a.status == 200) {
    json_object *o = json_tokener_parse(a.body.data), *data, *res, *val;
    if (json_object_object_get_ex(o, "data", &data) &&
        json_object_object_get_ex(data, "result", &res) && json_object_array_length(res) > 0 &&
        json_object_object_get_ex(json_object_array_get_idx(res, 0), "value", &val))
      v = strtod(json_object_get_string(json_object_array_get_idx(val, 1)), NULL);
    json_object_put(o);
  }
  dk_buf_free(&a.body);
  return v;
}

/* Waits until the query's value is want (a scrape each second). */
static void wait_query(int port, const char *promql, double want) {
  int64_t until = jd_mono_ms() + 30000;
  double v = NAN;
  while (jd_mono_ms() < until) {
    v = query(port, promql);
    if (v == want)
      return;
    usleep(200000);
  }
  cr_assert_fail("%s: %g, want %g", promql, v, want);
}

Test(metrics_prom, the_alerting_rules_pass_promtool) {
  need("promtool");
  cr_assert_eq(run("promtool check rules " RULES " >/dev/null"), 0);
  /* The rules' own unit tests: each alert fires on the series it is for. */
  cr_assert_eq(run("cd " JD_SOURCE_DIR "/images/prometheus && promtool test rules "
                   "judger-alerts.test.yml >/dev/null"),
               0);
}

Test(metrics_prom, prometheus_scrapes_a_daemon_running_matches, .init = up, .fini = down,
     .timeout = 300) {
  need("promtool");
  need("prometheus");
  dk_client *c = t_client();
  t_busybox_image(c);
  char *host = t_unique("jdm-prom"), *state = t_tmpdir("dstate-prom"), *pdir = t_tmpdir("prom");
  char game[600];
  snprintf(game, sizeof game, "%s/tests/judger/programs/daemon_game", JD_SOURCE_DIR);
  t_proc *p = t_daemon_spawn(srv->url, host, state, "--metrics-listen 127.0.0.1:0");
  int mport = metrics_port(p, 20000);
  jd_queue *q = NULL;
  jd_queue_opts o = {.redis_url = srv->url, .consumer = "test-client"};
  cr_assert_eq(jd_queue_new(&q, &o), 0);
  for (int i = 0; i < MATCHES; i++) {
    char id[32];
    snprintf(id, sizeof id, "prom-%d", i);
    submit(q, id, game);
  }
  for (int i = 0; i < MATCHES; i++) {
    char id[32];
    snprintf(id, sizeof id, "prom-%d", i);
    wait_result(q, id, p);
  }
  /* What the daemon serves now is valid exposition text. */
  char url[128], file[700], cmd[800];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", mport);
  t_http_answer a;
  cr_assert_eq(t_http(&a, "GET", url), 0);
  cr_assert_eq(a.status, 200);
  snprintf(file, sizeof file, "%s/metrics.txt", pdir);
  cr_assert_eq(jd_write_file(file, a.body.data, a.body.len), 0);
  dk_buf_free(&a.body);
  snprintf(cmd, sizeof cmd, "promtool check metrics < %s", file);
  cr_assert_eq(run(cmd), 0, "promtool check metrics refused %s", file);

  int pport = free_port();
  start_prometheus(pdir, pport, mport);
  wait_ready(pport, pdir);
  wait_query(pport, "up{job=\"judger\"}", 1);
  wait_query(pport, "sum(judger_tasks_total{type=\"match\",status=\"finished\"})", MATCHES);
  wait_query(pport, "sum(judger_tasks_total) - sum(judger_tasks_total{status=\"finished\"})", 0);
  const char *phases[] = {"queue_wait", "prepare", "container_start", "run", "teardown"};
  for (size_t i = 0; i < sizeof phases / sizeof phases[0]; i++) {
    char qs[200];
    snprintf(qs, sizeof qs, "judger_task_phase_seconds_count{phase=\"%s\"}", phases[i]);
    wait_query(pport, qs, MATCHES);
  }
  wait_query(pport, "judger_task_phase_seconds_count{phase=\"build\"}", 0);
  wait_query(pport, "sum(judger_player_verdicts_total)", MATCHES);
  wait_query(pport, "judger_slots", 1);
  wait_query(pport, "judger_slots_busy", 0);
  wait_query(pport, "judger_redis_up", 1);
  wait_query(pport, "judger_engine_up", 1);
  if (query(pport, "sum(judger_engine_errors_total)") != 0) {
    /* Which calls failed: the answer names them (labels call). */
    char url[256];
    snprintf(url, sizeof url,
             "http://127.0.0.1:%d/api/v1/query?query=judger_engine_errors_total%%3E0", pport);
    t_http_answer a;
    if (t_http(&a, "GET", url) == 0)
      fprintf(stderr, "engine errors: %.*s\n", (int)a.body.len, a.body.data);
    dk_buf_free(&a.body);
  }
  wait_query(pport, "sum(judger_engine_errors_total)", 0);
  wait_query(pport, "count(judger_build_info{version=~\".+\"})", 1);
  char qs[800];
  snprintf(qs, sizeof qs, "count(judger_disk_free_bytes{path=\"%s\"} > 0)", state);
  wait_query(pport, qs, 1);
  cr_assert_gt(query(pport, "judger_lease_renewals_total"), -1);
  wait_query(pport, "count(judger_paused == 0)", 2);
  /* The real server loaded the alerting rules, and none fires. */
  wait_query(pport, "count(ALERTS{alertstate=\"firing\"}) or vector(0)", 0);

  stop_prometheus(); /* before its data dir goes */
  kill(p->pid, SIGTERM);
  cr_assert_eq(t_proc_wait(p, 20000), 0);
  t_proc_free(p);
  t_cleanup_host(c, host);
  jd_queue_free(q);
  t_rmdir(state);
  t_rmdir(pdir);
  free(host);
  dk_client_free(c);
}
