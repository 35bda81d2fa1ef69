/* Benchmark of the queue under Redis Sentinel (issue 27; figures for
 * docs/performance.md "Failover"). A set of the benchmark's own
 * (tests/support/redis_sentinel.h: a primary, a replica, three sentinels,
 * down-after 2 s (--down-after: at 1 s a loaded host sees Sentinel fail
 * over on its own now and then), failover-timeout 3 s) and the queue itself (jd_queue, no
 * engine: a "run" is a claim and a store), on the redis-sentinel:// URL:
 *
 *  - failover: a consumer thread takes trivial tasks one after another (as
 *    a daemon's worker: read, begin (claim), confirm, store, confirm; a lost
 *    connection waits out the queue's backoff, 50 ms at least, as the
 *    daemon's reader does) from a backlog the main thread keeps full. The
 *    primary is killed with SIGKILL K times (default 5); for each, (a) ms
 *    from the kill to Sentinel's failover complete (a sentinel names the
 *    replica and it answers ROLE master; polled every 10 ms) and (b) ms from
 *    the kill to the first task the consumer took on the new primary
 *    (jd_redis_peer). Then the old node comes back as a replica. Goal:
 *    b - a < 2 s.
 *  - throughput: N claim+store cycles (as above) by one queue with
 *    min_replicas_acked 0 (never WAIT), then by one with -1 (auto: the
 *    replica is up, so WAIT 1 after the claim and after the store),
 *    interleaved R rounds; cycles/s medians and their ratio. Goal: auto
 *    less than 10 % slower. Then the same through an in-process daemon
 *    (jd_daemon, 4 slots, an executor that does nothing): N/4 tasks
 *    submitted at once, the time to their last result, per setting.
 *  - with --matches N (only this): real matches. A real `judger daemon`
 *    process (bench_daemon_spawn, --slots 2, as bench_daemon) on the
 *    redis-sentinel:// URL runs N trivial matches (the daemon test game,
 *    0 turns: bench_daemon's) per round, after one untimed warm-up match;
 *    each round a daemon of its own with --min-replicas-acked 0, then one
 *    with -1 (auto; the replica up), the order swapped every other round
 *    (ABBA: the host's drift falls on both), R rounds (default 3).
 *    Matches/min from the first submit to the N-th result, the WAITs the
 *    primary counted (INFO commandstats) per match, the medians and their
 *    ratio. Needs the engine too.
 *
 * Needs redis-server; run
 *   build/bin/bench_failover [--failovers K] [--cycles N] [--rounds R] [--down-after MS]
 *                            [--backoff-max MS]
 *   build/bin/bench_failover --matches N [--rounds R]
 *   (defaults 5, 1000, 5, 2000, the queue's: 1000 in sentinel mode) */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bench.h"
#include "common/clock.h"
#include "daemon/config.h"
#include "daemon/daemon.h"
#include "queue/queue.h"
#include "queue/redis.h"
#include "redis_sentinel.h"
#include "support.h"

static t_sentinel_set *set;
static long backoff_max_ms; /* the queues' redis.backoff_max_ms; 0 = the default */

/* ---- the consumer ------------------------------------------------------ */

typedef struct consumer {
  jd_queue *q;
  atomic_bool stop;
  pthread_mutex_t mu;
  long long last_take_ms; /* jd_mono_ms of the last task taken (begin: run) */
  int last_take_port;     /* the primary it was taken on */
  long long taken;
} consumer;

static int peer_port(jd_queue *q) {
  const char *peer = jd_redis_peer(jd_queue_redis(q));
  const char *colon = peer ? strrchr(peer, ':') : NULL;
  return colon ? atoi(colon + 1) : 0;
}

/* One cycle: the next new entry, claimed, confirmed, a result stored and
 * confirmed. 1 when a task was taken (begin said run), 0 when there was
 * none, -1 on an error (lost: Redis unreachable). *took_at (may be NULL):
 * jd_mono_ms when begin said run (0: it did not), *took_port the primary's
 * port then (a WAIT after it may be short and take replica_wait_ms). */
static int cycle(jd_queue *q, const char *consumer_name, long long *took_at, int *took_port) {
  jd_entry_list l = {0};
  if (jd_queue_read_new(&l, q, JD_PRIO_MATCH, 1))
    return -1;
  if (!l.count)
    return 0;
  const jd_entry *e = &l.items[0];
  char tid[JD_TASK_ID_MAX + 1];
  snprintf(tid, sizeof tid, "%s-%s", consumer_name, e->id);
  jd_begin b;
  bool confirmed = false;
  int rc = jd_queue_begin(&b, q, JD_PRIO_MATCH, e->id, tid, 3);
  if (!rc && b.outcome == JD_BEGIN_RUN && took_at) {
    *took_at = jd_mono_ms();
    *took_port = peer_port(q);
  }
  if (!rc && b.outcome == JD_BEGIN_RUN)
    rc = jd_queue_confirm(&confirmed, q);
  if (!rc && b.outcome == JD_BEGIN_RUN) {
    jd_result_rec rec = {tid, b.attempt, b.claim, JD_TASK_STATUS_FINISHED, "bench", "{}"};
    jd_store_outcome out;
    rc = jd_queue_store_result(&out, q, JD_PRIO_MATCH, e->id, &rec);
    if (!rc)
      rc = jd_queue_confirm(&confirmed, q);
  }
  int taken = !rc && b.outcome == JD_BEGIN_RUN;
  jd_entry_list_clear(&l);
  return rc ? -1 : taken;
}

static void *consume(void *arg) {
  consumer *c = arg;
  while (!atomic_load(&c->stop)) {
    long long at = 0;
    int port = 0;
    int rc = cycle(c->q, "fo", &at, &port);
    if (at) {
      pthread_mutex_lock(&c->mu);
      c->last_take_ms = at;
      c->last_take_port = port;
      c->taken++;
      pthread_mutex_unlock(&c->mu);
    }
    if (rc > 0) {
      usleep(5000); /* a task every ~5 ms: the backlog lasts through a failover */
    } else if (rc < 0) {
      int64_t ms = jd_queue_backoff_ms(c->q);
      usleep((useconds_t)(ms < 50 ? 50 : ms) * 1000);
    } else {
      usleep(2000);
    }
  }
  return NULL;
}

static jd_queue *open_queue(const char *consumer_name, int min_acked) {
  jd_queue *q = NULL;
  jd_queue_opts o = {.redis_url = set->url,
                     .consumer = consumer_name,
                     .lease_ms = 60000,
                     .min_replicas_acked = min_acked,
                     .redis = {.backoff_max_ms = backoff_max_ms}};
  if (jd_queue_new(&q, &o) || jd_queue_setup(q)) {
    fprintf(stderr, "queue on %s: %s\n", set->url, q ? jd_queue_error(q) : "no memory");
    exit(1);
  }
  return q;
}

/* Submits n trivial tasks (ids tag-0...), retrying a lost connection. */
static void submit(jd_queue *q, const char *tag, int n) {
  static long long seq;
  for (int i = 0; i < n; i++) {
    char id[64], json[160];
    snprintf(id, sizeof id, "%s-%lld", tag, seq++);
    snprintf(json, sizeof json, "{\"id\":\"%s\",\"type\":\"match\",\"match\":{}}", id);
    for (int tries = 0; jd_queue_submit(NULL, q, JD_PRIO_MATCH, id, json); tries++) {
      if (tries == 100) {
        fprintf(stderr, "submit: %s\n", jd_queue_error(q));
        exit(1);
      }
      usleep(100000);
    }
  }
}

/* ---- failovers ----------------------------------------------------------- */

/* ms from kill_ms to the consumer's first take on port; -1 after 30 s. */
static long long first_take(consumer *c, long long kill_ms, int port) {
  for (long long end = jd_mono_ms() + 30000; jd_mono_ms() < end; usleep(1000)) {
    pthread_mutex_lock(&c->mu);
    bool there = c->last_take_ms > kill_ms && c->last_take_port == port;
    long long at = c->last_take_ms;
    pthread_mutex_unlock(&c->mu);
    if (there)
      return at - kill_ms;
  }
  return -1;
}

static void failovers(int k) {
  consumer c = {.q = open_queue("bench-fo", -1)};
  pthread_mutex_init(&c.mu, NULL);
  jd_queue *sub = open_queue("bench-sub", -1);
  submit(sub, "fo", 1200);
  pthread_t th;
  pthread_create(&th, NULL, consume, &c);
  long long a[16], b[16], d[16];
  printf("failover: kill -9 of the primary -> (a) Sentinel's failover done, (b) first task taken "
         "on the new primary\n");
  for (int i = 0; i < k; i++) {
    submit(sub, "fo", 400); /* ~2 s of work beyond the failover */
    int old = t_sentinel_kill_primary(set);
    long long kill_ms = jd_mono_ms();
    a[i] = t_sentinel_wait_failover(set, old, 30000);
    b[i] = first_take(&c, kill_ms, set->data[1 - old].port);
    d[i] = b[i] - a[i];
    printf("  %d: (a) %lld ms, (b) %lld ms, b - a %lld ms\n", i + 1, a[i], b[i], d[i]);
    fflush(stdout);
    t_sentinel_restart_node(set, old);
  }
  atomic_store(&c.stop, true);
  pthread_join(th, NULL);
  long long ma = bench_median(a, k), mb = bench_median(b, k), md = bench_median(d, k);
  qsort(d, (size_t)k, sizeof d[0], bench_cmp_ll);
  printf("failover: medians (a) %lld ms, (b) %lld ms, b - a %lld ms (max %lld; goal < 2000); "
         "%lld tasks taken\n",
         ma, mb, md, d[k - 1], c.taken);
  jd_queue_free(sub);
  jd_queue_free(c.q);
  pthread_mutex_destroy(&c.mu);
}

/* ---- throughput ---------------------------------------------------------- */

/* Cycles per second of q over n tasks submitted first (not timed). */
static double rate(jd_queue *q, jd_queue *sub, const char *tag, int n) {
  submit(sub, tag, n);
  long long t0 = jd_mono_ms();
  for (int done = 0; done < n;) {
    int rc = cycle(q, tag, NULL, NULL);
    if (rc < 0) {
      fprintf(stderr, "cycle: %s\n", jd_queue_error(q));
      exit(1);
    }
    if (rc == 0) {
      fprintf(stderr, "cycle: the stream ran dry after %d of %d\n", done, n);
      exit(1);
    }
    done++;
  }
  long long ms = jd_mono_ms() - t0;
  return ms > 0 ? n * 1000.0 / ms : 0;
}

static int cmp_double(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return a < b ? -1 : a > b;
}

static void throughput(int n, int rounds) {
  jd_queue *q0 = open_queue("bench-t0", 0), *qa = open_queue("bench-ta", -1);
  jd_queue *sub = open_queue("bench-tsub", 0);
  double r0[32], ra[32];
  rate(q0, sub, "w0", n / 4 + 1); /* warm-up: scripts loaded, connections made */
  rate(qa, sub, "wa", n / 4 + 1);
  for (int i = 0; i < rounds; i++) {
    r0[i] = rate(q0, sub, "t0", n);
    ra[i] = rate(qa, sub, "ta", n);
    printf("  round %d: acked 0 %.0f cycles/s, auto (1 replica) %.0f cycles/s\n", i + 1, r0[i],
           ra[i]);
  }
  qsort(r0, (size_t)rounds, sizeof r0[0], cmp_double);
  qsort(ra, (size_t)rounds, sizeof ra[0], cmp_double);
  double m0 = r0[rounds / 2], ma = ra[rounds / 2];
  printf("throughput: claim+store cycles, %d per round, %d rounds: min_replicas_acked 0 %.0f/s, "
         "auto %.0f/s (medians): auto is %.1f %% slower (goal < 10 %%); the two WAITs add "
         "%.3f ms per cycle\n",
         n, rounds, m0, ma, (1 - ma / m0) * 100, 1000 / ma - 1000 / m0);
  jd_queue_free(q0);
  jd_queue_free(qa);
  jd_queue_free(sub);
}

/* ---- throughput through a daemon ------------------------------------------ */

/* A task that does nothing: its result is {"ok": true}. */
static int noop_execute(void *self, const jd_task *t, void *prepared, const jd_exec_env *env,
                        jd_exec_result *res) {
  (void)self, (void)t, (void)prepared, (void)env;
  res->status = JD_TASK_STATUS_FINISHED;
  res->result = json_object_new_object();
  json_object_object_add(res->result, "ok", json_object_new_boolean(1));
  return JD_EXEC_DONE;
}

static void *daemon_thread(void *d) {
  jd_daemon_run(d);
  return NULL;
}

static long long results_len(jd_queue *q) {
  redisReply *rep = NULL;
  long long n = -1;
  if (jd_redis_command(&rep, jd_queue_redis(q), "XLEN judger:results") == 0)
    jd_reply_int(rep, &n);
  freeReplyObject(rep);
  return n;
}

/* Tasks per second of an in-process daemon (4 slots, the no-op executor)
 * with min_replicas_acked `acked`: n tasks submitted at once, timed from
 * the first submit to the n-th result. */
static double daemon_rate(jd_queue *sub, int acked, int n, int round) {
  char host[64], ack[16], err[256];
  snprintf(host, sizeof host, "bench-fo-%d-%d", acked < 0 ? 9 : acked, round);
  snprintf(ack, sizeof ack, "%d", acked);
  char *state = t_tmpdir("bench-fo");
  jd_config c;
  jd_config_defaults(&c);
  const char *kv[][2] = {{"redis", set->url},         {"host_id", host},     {"slots", "4"},
                         {"lease_ms", "30000"},       {"state_dir", state},  {"block_ms", "300"},
                         {"min_replicas_acked", ack}, {"log_level", "error"}};
  for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
    if (jd_config_set(&c, kv[i][0], kv[i][1], err, sizeof err)) {
      fprintf(stderr, "%s: %s\n", kv[i][0], err);
      exit(1);
    }
  jd_executor ex = {.execute = noop_execute};
  jd_daemon *d = NULL;
  if (jd_daemon_new(&d, &c, NULL, &ex)) {
    fprintf(stderr, "daemon: cannot start\n");
    exit(1);
  }
  jd_config_clear(&c);
  pthread_t th;
  pthread_create(&th, NULL, daemon_thread, d);
  bench_wait_host(sub, host);
  long long before = results_len(sub), t0 = jd_mono_ms();
  char tag[32];
  snprintf(tag, sizeof tag, "d%s-%d", ack, round);
  submit(sub, tag, n);
  for (long long end = t0 + 120000; results_len(sub) < before + n; usleep(2000))
    if (jd_mono_ms() > end) {
      fprintf(stderr, "daemon: %lld of %d results after 120 s\n", results_len(sub) - before, n);
      exit(1);
    }
  long long ms = jd_mono_ms() - t0;
  jd_daemon_stop(d, false);
  pthread_join(th, NULL);
  jd_daemon_free(d);
  t_rmdir(state);
  return ms > 0 ? n * 1000.0 / ms : 0;
}

static void daemon_throughput(int n, int rounds) {
  jd_queue *sub = open_queue("bench-dsub", 0);
  double r0[32], ra[32];
  for (int i = 0; i < rounds; i++) {
    r0[i] = daemon_rate(sub, 0, n, i);
    ra[i] = daemon_rate(sub, -1, n, i);
    printf("  round %d: acked 0 %.0f tasks/s, auto (1 replica) %.0f tasks/s\n", i + 1, r0[i],
           ra[i]);
  }
  qsort(r0, (size_t)rounds, sizeof r0[0], cmp_double);
  qsort(ra, (size_t)rounds, sizeof ra[0], cmp_double);
  double m0 = r0[rounds / 2], ma = ra[rounds / 2];
  printf("daemon: no-op tasks through a daemon (4 slots), %d per round, %d rounds: "
         "min_replicas_acked 0 %.0f/s, auto %.0f/s (medians): auto is %.1f %% slower "
         "(goal < 10 %%)\n",
         n, rounds, m0, ma, (1 - ma / m0) * 100);
  jd_queue_free(sub);
}

/* ---- real matches through a judger daemon process --------------------------- */

static dk_client *dk;
static pid_t match_daemon; /* the running daemon of --matches; 0 = none */

/* Stops the daemon (SIGTERM: its teardown removes its containers), then
 * everything else; exits 1. */
static void matches_fail(const char *what, const char *state) {
  fprintf(stderr, "%s (the daemon's log: %s/daemon.log, kept)\n", what, state);
  if (match_daemon > 0) {
    kill(match_daemon, SIGTERM);
    waitpid(match_daemon, NULL, 0);
  }
  t_sentinel_stop(set);
  exit(1);
}

/* True when the result of id is stored (id not NULL), else when host has
 * nothing labelled left (ready false) or has registered (ready true). */
static bool matches_there(jd_queue *q, const char *id, const char *host, bool ready) {
  if (id) {
    char *r = NULL;
    bool there = jd_queue_get_result(&r, q, id) == 0 && r;
    free(r);
    return there;
  }
  if (!ready)
    return bench_leftovers(dk, host) == 0;
  redisReply *rep = NULL;
  long long n = 0;
  if (jd_redis_command(&rep, jd_queue_redis(q), "EXISTS judger:host:%s", host) == 0)
    jd_reply_int(rep, &n);
  freeReplyObject(rep);
  return n > 0;
}

/* Waits (ms at most) until matches_there(); stops everything otherwise. */
static void matches_wait(jd_queue *q, const char *id, const char *host, bool ready,
                         const char *state, int ms) {
  for (long long end = jd_mono_ms() + ms;; usleep(id ? 5000 : 20000)) {
    if (matches_there(q, id, host, ready))
      return;
    if (jd_mono_ms() > end) {
      char what[192];
      snprintf(what, sizeof what, "%s: nothing after %d ms", id ? id : host, ms);
      matches_fail(what, state);
    }
  }
}

/* WAIT calls the primary counted so far (INFO commandstats: no line before
 * the first WAIT, then 0); -1 when no sentinel names it. */
static long long primary_waits(void) {
  int p = t_sentinel_primary(set);
  long long n = p < 0 ? -1 : t_sentinel_info(set, p, "commandstats", "cmdstat_wait");
  return p < 0 ? -1 : n < 0 ? 0 : n;
}

/* One round of one setting: a daemon of its own, a warm-up match, then n
 * matches submitted at once; matches/min to the n-th result. *waits: the
 * primary's WAITs over the n matches. */
static double match_rate(jd_queue *sub, int acked, int n, int round, long long *waits) {
  char host[64], extra[64], id[96];
  snprintf(host, sizeof host, "bench-fo-%d-%s-%d", (int)getpid(), acked ? "auto" : "ack0", round);
  snprintf(extra, sizeof extra, "--min-replicas-acked=%d", acked);
  char *state = t_tmpdir("bench-fo");
  match_daemon = bench_daemon_spawn(JD_BINARY_DIR "/bin/judger", set->url, host, state, 2, extra);
  matches_wait(sub, NULL, host, true, state, 30000);
  snprintf(id, sizeof id, "%s-warm", host);
  bench_submit_match(sub, id, 0);
  matches_wait(sub, id, host, false, state, 60000);
  matches_wait(sub, NULL, host, false, state, 60000);
  long long w0 = primary_waits(), t0 = jd_mono_ms();
  for (int i = 0; i < n; i++) {
    snprintf(id, sizeof id, "%s-%d", host, i);
    bench_submit_match(sub, id, 0);
  }
  for (int i = 0; i < n; i++) {
    snprintf(id, sizeof id, "%s-%d", host, i);
    matches_wait(sub, id, host, false, state, 120000);
  }
  long long ms = jd_mono_ms() - t0, w1 = primary_waits();
  *waits = w0 < 0 || w1 < 0 ? -1 : w1 - w0;
  kill(match_daemon, SIGTERM);
  waitpid(match_daemon, NULL, 0);
  match_daemon = 0;
  if (bench_leftovers(dk, host) > 0)
    printf("  %s: leftovers after the daemon exited!\n", host);
  bench_drop_stock(dk, host);
  t_rmdir(state);
  return ms > 0 ? n * 60000.0 / ms : 0;
}

static void matches(int n, int rounds) {
  bench_host_settings();
  if (dk_client_new(&dk, NULL) || dk_ping(dk, NULL)) {
    fprintf(stderr, "the Docker engine is not reachable\n");
    t_sentinel_stop(set);
    exit(1);
  }
  t_busybox_image(dk);
  jd_queue *sub = open_queue("bench-msub", 0);
  double r[2][32], ratio[32];
  for (int i = 0; i < rounds; i++) {
    long long w[2];
    for (int k = 0; k < 2; k++) {
      int which = i % 2 ? 1 - k : k; /* 0: acked 0, 1: auto */
      r[which][i] = match_rate(sub, which ? -1 : 0, n, i, &w[which]);
    }
    printf("  round %d: acked 0 %.1f matches/min (%.1f WAITs a match), auto (1 replica) %.1f "
           "matches/min (%.1f WAITs a match): auto/0 %.3f\n",
           i + 1, r[0][i], (double)w[0] / n, r[1][i], (double)w[1] / n, r[1][i] / r[0][i]);
    fflush(stdout);
    ratio[i] = r[1][i] / r[0][i];
  }
  qsort(ratio, (size_t)rounds, sizeof ratio[0], cmp_double);
  qsort(r[0], (size_t)rounds, sizeof r[0][0], cmp_double);
  qsort(r[1], (size_t)rounds, sizeof r[1][0], cmp_double);
  double m0 = r[0][rounds / 2], ma = r[1][rounds / 2];
  printf("matches: trivial matches through a judger daemon (--slots 2), %d per round, %d rounds: "
         "min_replicas_acked 0 %.1f/min, auto %.1f/min (medians): auto/0 %.3f, auto is %.1f %% "
         "slower (goal < 10 %%); the rounds' own auto/0: median %.3f (%.3f to %.3f)\n",
         n, rounds, m0, ma, ma / m0, (1 - ma / m0) * 100, ratio[rounds / 2], ratio[0],
         ratio[rounds - 1]);
  jd_queue_free(sub);
  dk_client_free(dk);
}

int main(int argc, char **argv) {
  int k = 5, n = 1000, rounds = 0, down_after = 2000, nmatches = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--failovers"))
      k = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--cycles"))
      n = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--rounds"))
      rounds = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--down-after"))
      down_after = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--backoff-max"))
      backoff_max_ms = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--matches"))
      nmatches = atoi(argv[i + 1]);
  }
  if (!rounds)
    rounds = nmatches ? 3 : 5;
  if (k < 1 || k > 16 || n < 1 || rounds < 1 || rounds > 32 || down_after < 100 || nmatches < 0 ||
      nmatches > 1000) {
    fprintf(stderr, "usage: bench_failover [--failovers 1..16] [--cycles N] [--rounds 1..32] "
                    "[--down-after MS] [--backoff-max MS]\n"
                    "       bench_failover --matches 1..1000 [--rounds 1..32]\n");
    return 2;
  }
  t_sentinel_opts o = {.down_after_ms = down_after};
  set = t_sentinel_start(&o);
  printf("failover: a primary, a replica, three sentinels (down-after %d ms, failover-timeout "
         "%d ms) on 127.0.0.1; %s\n",
         set->o.down_after_ms, set->o.failover_timeout_ms, set->url);
  if (nmatches) {
    matches(nmatches, rounds);
  } else {
    failovers(k);
    throughput(n, rounds);
    daemon_throughput(n / 4, rounds);
  }
  t_sentinel_stop(set);
  return 0;
}
