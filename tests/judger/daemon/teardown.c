// test-labels: engine redis
/* Teardowns off the slot (judger/daemon/teardown.c), in-process with the
 * real executor on the real engine and a real redis-server. The executor's
 * teardown is wrapped in a gate the test opens: while it is closed, the
 * match's result is already stored, the match's network and unused warm
 * container still exist (and the periodic reconciliation leaves them
 * alone), and the slot runs the next task; once it opens nothing labelled
 * is left. A drain (SIGTERM's jd_daemon_stop) waits for pending teardowns. */
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "daemon/config.h"
#include "daemon/daemon.h"
#include "daemon/executor.h"
#include "daemon_proc.h"
#include "match_support.h"
#include "redis_server.h"

static t_redis *srv;

static void up(void) { srv = t_redis_start(false, false); }
static void down(void) { t_redis_stop(srv); }

/* The gate around the real teardown. */
static struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool open;
  int entered, done;
  double seconds; /* the last real teardown's */
  double (*real)(void *self, void *pending);
} gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0, 0, 0, NULL};

static double gated_teardown(void *self, void *pending) {
  pthread_mutex_lock(&gate.mu);
  gate.entered++;
  while (!gate.open)
    pthread_cond_wait(&gate.cv, &gate.mu);
  pthread_mutex_unlock(&gate.mu);
  double s = gate.real(self, pending);
  pthread_mutex_lock(&gate.mu);
  gate.seconds = s;
  gate.done++;
  pthread_mutex_unlock(&gate.mu);
  return s;
}

static void gate_set(bool open) {
  pthread_mutex_lock(&gate.mu);
  gate.open = open;
  pthread_cond_broadcast(&gate.cv);
  pthread_mutex_unlock(&gate.mu);
}

typedef struct running {
  tm_env env;
  jd_daemon *d;
  pthread_t th;
  int rc;
} running;

static void *run_thread(void *arg) {
  running *r = arg;
  r->rc = jd_daemon_run(r->d);
  return NULL;
}

static void start(running *r) {
  tm_setup(&r->env);
  jd_config c;
  cr_assert_eq(jd_config_defaults(&c), 0);
  char err[256];
  const char *kv[][2] = {{"redis", srv->url},         {"host_id", r->env.host},
                         {"state_dir", r->env.state}, {"slots", "1"},
                         {"lease_ms", "2000"},        {"block_ms", "100"},
                         {"grace_ms", "5000"},        {"log_level", "error"},
                         {"reconcile_ms", "300"},     {"reconcile_grace_ms", "100"}};
  for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
    cr_assert_eq(jd_config_set(&c, kv[i][0], kv[i][1], err, sizeof err), 0, "%s", err);
  /* The task's programs are in the checkout: this host lets tasks name them. */
  r->env.ctx.policy.program_roots = JD_SOURCE_DIR;
  jd_executor ex;
  jd_executor_real(&ex, &r->env.ctx);
  gate.real = ex.teardown;
  ex.teardown = gated_teardown;
  gate_set(false);
  cr_assert_eq(jd_daemon_new(&r->d, &c, &r->env.ctx, &ex), 0);
  jd_config_clear(&c);
  cr_assert_eq(pthread_create(&r->th, NULL, run_thread, r), 0);
}

static jd_daemon_stats stats(running *r) {
  jd_daemon_stats st;
  jd_daemon_stats_get(r->d, &st);
  return st;
}

/* Waits until the daemon has `n` pending teardowns. */
static void wait_teardowns(running *r, int n) {
  for (int i = 0; i < 600 && stats(r).teardowns != n; i++)
    usleep(50000);
  cr_assert_eq(stats(r).teardowns, n);
}

/* Starts the daemon and runs one match to its stored result, its teardown
 * held at the gate; returns the queue client. */
static jd_queue *first_match(running *r, const char *id) {
  start(r);
  jd_queue *q = t_queue_client(srv->url);
  t_submit_game_match(q, id, 0);
  free(t_wait_result(q, id, 60000, "(in process)"));
  wait_teardowns(r, 1);
  return q;
}

/* No labelled container or network, no work directory (before
 * tm_assert_clean, which also removes what it finds). */
static void nothing_left(running *r) {
  cr_assert_eq(t_host_containers(r->env.dk, r->env.host), 0);
  cr_assert_eq(t_host_networks(r->env.dk, r->env.host), 0);
  cr_assert_eq(t_workdirs(r->env.state), 0);
}

static void finish(running *r) {
  gate_set(true);
  pthread_join(r->th, NULL);
  cr_assert_eq(r->rc, 0);
  jd_daemon_free(r->d);
  tm_assert_clean(&r->env);
  tm_teardown(&r->env);
}

Test(teardown, the_result_is_stored_before_the_teardown_and_the_slot_moves_on, .init = up,
     .fini = down, .timeout = 180) {
  running r = {0};
  jd_queue *q = first_match(&r, "td-first");
  /* Stored, yet the match's work directory is still there: only the
   * teardown, waiting at the gate, removes it. (Containers and networks are
   * no witness: each unit thread removes its own as its program ends, which
   * under load can all happen before the result is stored; and an unused
   * warm player's container exists or not depending on how soon the game
   * ends.) */
  cr_assert_eq(t_workdirs(r.env.state), 1);
  /* Two reconciliation sweeps later they still are: a pending teardown's
   * owner label is held like a running task's. */
  uint64_t sweeps = stats(&r).sweeps;
  for (int i = 0; i < 200 && stats(&r).sweeps < sweeps + 2; i++)
    usleep(50000);
  cr_assert_geq(stats(&r).sweeps, sweeps + 2);
  cr_assert_eq(t_workdirs(r.env.state), 1);
  /* The slot is free: the next task runs and is stored meanwhile. */
  t_submit_game_match(q, "td-second", 0);
  free(t_wait_result(q, "td-second", 60000, "(in process)"));
  cr_assert_eq(gate.done, 0, "no teardown may have run yet");
  gate_set(true);
  for (int i = 0; i < 600 && (stats(&r).teardowns || stats(&r).busy); i++)
    usleep(50000);
  cr_assert_eq(stats(&r).teardowns, 0);
  cr_assert_eq(gate.done, 2);
  cr_assert_gt(gate.seconds, 0.0, "the teardown phase is timed");
  nothing_left(&r);
  jd_daemon_stop(r.d, true);
  finish(&r);
  jd_queue_free(q);
}

Test(teardown, a_drain_waits_for_pending_teardowns, .init = up, .fini = down, .timeout = 180) {
  running r = {0};
  jd_queue *q = first_match(&r, "td-drain");
  jd_daemon_stop(r.d, true);
  for (int i = 0; i < 600 && stats(&r).busy; i++)
    usleep(50000);
  /* The workers are idle, yet the daemon does not return while the
   * teardown waits. */
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_nsec += 500 * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  cr_assert_eq(pthread_timedjoin_np(r.th, NULL, &until), ETIMEDOUT);
  cr_assert_eq(t_workdirs(r.env.state), 1);
  gate_set(true);
  pthread_join(r.th, NULL);
  cr_assert_eq(r.rc, 0);
  cr_assert_eq(gate.done, 1);
  /* Nothing is left once the daemon returned. */
  nothing_left(&r);
  jd_daemon_free(r.d);
  tm_assert_clean(&r.env);
  tm_teardown(&r.env);
  jd_queue_free(q);
}
