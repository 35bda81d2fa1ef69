/* Benchmark of the daemon's metrics (figures in docs/performance.md):
 *  - scrape cost: time to render /metrics after 10 000 tasks were counted
 *    (every type x status, every phase and verdict, engine errors over
 *    every call name: the most label combinations the set can have), with
 *    the freshly made set (every closed series at 0) as the same-run
 *    baseline; and the cost of one update against a bare mutex + add;
 *  - the daemon's RSS with --metrics-listen on and off, idle and after the
 *    same trivial matches, both daemons in the same run.
 * Part two needs the engine and redis-server. Run build/bin/bench_metrics
 * [matches] (0: part one only). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "common/clock.h"
#include "daemon/daemon_metrics.h"
#include "http_client.h"
#include "queue/queue.h"
#include "redis_server.h"
#include "support.h"

#define TASKS 10000
#define RENDERS 200

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Median render time (ns) of m over RENDERS renders; *bytes: the size. */
static long long render_ns(jd_dmetrics *m, size_t *bytes) {
  long long t[RENDERS];
  for (int i = 0; i < RENDERS; i++) {
    dk_buf b = DK_BUF_INIT((size_t)8 << 20);
    long long t0 = now_ns();
    if (jd_metrics_render(&b, jd_dmetrics_registry(m))) {
      fprintf(stderr, "render failed\n");
      exit(1);
    }
    t[i] = now_ns() - t0;
    *bytes = b.len;
    dk_buf_free(&b);
  }
  return bench_median(t, RENDERS);
}

static const char *const methods[] = {"GET", "POST", "DELETE"};
static const char *const paths[] = {"/containers/x/start",
                                    "/containers/x/wait",
                                    "/containers/x/kill",
                                    "/containers/create",
                                    "/containers/x",
                                    "/containers/x/json",
                                    "/containers/x/logs",
                                    "/containers/x/attach",
                                    "/images/x/json",
                                    "/images/x",
                                    "/networks/create",
                                    "/networks/x",
                                    "/networks/x/connect",
                                    "/build",
                                    "/_ping",
                                    "/info",
                                    "/events",
                                    "/version",
                                    "/containers/x/stop",
                                    "/images/create",
                                    "/exec/x/start",
                                    "/volumes/x",
                                    "/containers/x/pause",
                                    "/networks/x/disconnect"};

static void count_tasks(jd_dmetrics *m) {
  unsigned seed = 42;
  for (int i = 0; i < TASKS; i++) {
    jd_task_kind k = i % 5 ? JD_TASK_MATCH : JD_TASK_BUILD;
    jd_dmetrics_task(m, &k, (jd_task_end)(rand_r(&seed) % JD_TASK_END_COUNT));
    for (int p = 0; p < 3; p++)
      jd_dmetrics_phase(m, (jd_phase)(rand_r(&seed) % JD_PHASE_COUNT),
                        (double)(rand_r(&seed) % 600000) / 1000.0);
    jd_dmetrics_verdict(m, (jd_verdict)(rand_r(&seed) % JD_VERDICT_COUNT), 2);
    jd_dmetrics_engine_error(m, methods[rand_r(&seed) % 3],
                             paths[rand_r(&seed) % (sizeof paths / sizeof paths[0])]);
    jd_dmetrics_lease_renewals(m, 1);
  }
}

#define ROUNDS 5

/* Median ns per update over ROUNDS fills of fresh sets of 10 000 tasks
 * (7 updates each: task, 3 phases, verdict, engine error, renewal); *full
 * keeps the last one. */
static double update_ns(jd_dmetrics **full) {
  long long t[ROUNDS];
  for (int r = 0; r < ROUNDS; r++) {
    jd_dmetrics *m = NULL;
    if (jd_dmetrics_new(&m, 4))
      exit(1);
    long long t0 = now_ns();
    count_tasks(m);
    t[r] = now_ns() - t0;
    if (r < ROUNDS - 1)
      jd_dmetrics_free(m);
    else
      *full = m;
  }
  return (double)bench_median(t, ROUNDS) / (TASKS * 7);
}

/* The floor of an update: a bare locked add (what the daemon's own stats
 * counters cost), median ns over ROUNDS. */
static double bare_ns(void) {
  pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  volatile double x = 0;
  long long t[ROUNDS];
  for (int r = 0; r < ROUNDS; r++) {
    long long t0 = now_ns();
    for (int i = 0; i < TASKS * 7; i++) {
      pthread_mutex_lock(&mu);
      x = x + 1;
      pthread_mutex_unlock(&mu);
    }
    t[r] = now_ns() - t0;
  }
  return (double)bench_median(t, ROUNDS) / (TASKS * 7);
}

static void scrape_cost(void) {
  jd_dmetrics *fresh = NULL, *full = NULL;
  if (jd_dmetrics_new(&fresh, 4))
    exit(1);
  double upd = update_ns(&full), bare = bare_ns();
  size_t fresh_bytes = 0, full_bytes = 0;
  long long base = render_ns(fresh, &fresh_bytes);
  long long full_ns = render_ns(full, &full_bytes);
  printf("render /metrics, fresh set (baseline): %.1f us, %zu bytes\n", (double)base / 1000,
         fresh_bytes);
  printf("render /metrics after %d tasks counted: %.1f us, %zu bytes (%.2fx the baseline)\n", TASKS,
         (double)full_ns / 1000, full_bytes, (double)full_ns / (double)base);
  printf("one update: %.0f ns (a bare mutex + add: %.0f ns, %.1fx)\n", upd, bare, upd / bare);
  jd_dmetrics_free(fresh);
  jd_dmetrics_free(full);
}

/* ---- the daemon's RSS, metrics on and off ------------------------------- */

static pid_t spawn(const t_redis *srv, const char *host, const char *state, const char *extra) {
  char *cmd = NULL;
  if (asprintf(&cmd,
               "exec %s/bin/judger daemon --redis %s --host-id %s --state-dir %s --slots 1 "
               "--prefix %s --lease-ms 5000 --log-level warn %s 2>>%s/daemon.log",
               JD_BINARY_DIR, srv->url, host, state, host, extra, state) < 0)
    exit(1);
  pid_t pid = fork();
  if (pid == 0) {
    setenv("JUDGER_CONFIG", "", 1);
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  free(cmd);
  return pid;
}

static void run_matches(jd_queue *q, const char *host, int n) {
  for (int i = 0; i < n; i++) {
    char id[96], json[2048];
    snprintf(id, sizeof id, "%s-%d", host, i);
    snprintf(json, sizeof json,
             "{\"id\":\"%s\",\"type\":\"match\",\"match\":{\"id\":\"%s\",\"game_logic\":{\"id\":"
             "\"dgame\",\"image\":\"" T_BUSYBOX_IMAGE "\",\"dir\":\"%s/tests/judger/programs/"
             "daemon_game\",\"cmd\":[\"sh\",\"/app/main.sh\"]},\"players\":[{\"id\":\"idle\","
             "\"image\":\"" T_BUSYBOX_IMAGE "\",\"cmd\":[\"true\"]}],\"config\":{\"turns\":0}}}",
             id, id, JD_SOURCE_DIR);
    if (jd_queue_submit(NULL, q, JD_PRIO_MATCH, id, json)) {
      fprintf(stderr, "submit: %s\n", jd_queue_error(q));
      exit(1);
    }
  }
  for (int i = 0; i < n; i++) {
    char id[96];
    snprintf(id, sizeof id, "%s-%d", host, i);
    for (int k = 0;; k++) {
      char *r = NULL;
      if (jd_queue_get_result(&r, q, id) == 0 && r) {
        free(r);
        break;
      }
      if (k > 6000) {
        fprintf(stderr, "no result for %s\n", id);
        exit(1);
      }
      usleep(20000);
    }
  }
}

/* Idle RSS (after the daemon registered) and RSS after n matches. */
static void daemon_rss(const t_redis *srv, bool metrics, int n, long *idle, long *after) {
  char host[64];
  snprintf(host, sizeof host, "bm%s-%d", metrics ? "on" : "off", (int)getpid());
  char *state = t_tmpdir("bench-metrics");
  pid_t pid = spawn(srv, host, state, metrics ? "--metrics-listen 127.0.0.1:0" : "");
  jd_queue *q = NULL;
  jd_queue_opts qo = {.redis_url = srv->url, .prefix = host, .consumer = "bench"};
  if (jd_queue_new(&q, &qo) || jd_queue_setup(q))
    exit(1);
  run_matches(q, host, 1); /* warm: the daemon is up and has run once */
  *idle = bench_rss_kb(pid);
  run_matches(q, host, n);
  *after = bench_rss_kb(pid);
  kill(pid, SIGTERM);
  waitpid(pid, NULL, 0);
  jd_queue_free(q);
  t_rmdir(state);
}

int main(int argc, char **argv) {
  bench_host_settings();
  int n = argc > 1 ? atoi(argv[1]) : 10;
  printf("judger metrics benchmark\n");
  scrape_cost();
  if (n <= 0)
    return 0; /* the render figures only */
  t_redis *srv = t_redis_start(false, false);
  dk_client *dk = NULL;
  if (dk_client_new(&dk, NULL) || dk_ping(dk, NULL)) {
    fprintf(stderr, "the Docker engine is not reachable\n");
    return 1;
  }
  t_busybox_image(dk);
  long off_idle = 0, off_after = 0, on_idle = 0, on_after = 0;
  daemon_rss(srv, false, n, &off_idle, &off_after);
  daemon_rss(srv, true, n, &on_idle, &on_after);
  printf("daemon RSS, metrics off: %ld kB after 1 match, %ld kB after %d more\n", off_idle,
         off_after, n);
  printf("daemon RSS, metrics on:  %ld kB after 1 match, %ld kB after %d more (%+ld kB vs off)\n",
         on_idle, on_after, n, on_after - off_after);
  dk_client_free(dk);
  t_redis_stop(srv);
  return 0;
}
