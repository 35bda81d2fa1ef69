// test-labels: redis
/* jd_queue_confirm against real redis-server processes: a primary and a
 * replica started by the test (REPLICAOF), the replica paused with SIGSTOP
 * to make WAIT come back short; auto without replicas and 0 never WAIT
 * (the primary's commandstats say whether WAIT was sent). */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "common/clock.h"
#include "queue/queue.h"
#include "redis_sentinel.h"
#include "redis_server.h"
#include "support.h"

static t_redis *primary, *replica;
static bool replica_stopped;
static long long waits0; /* the primary's WAITs before the test's own (warm-up) */
static char acl_url[128];

/* One command on a server as its default user; the reply's text (status,
 * string, bulk) into out. */
static void admin(const t_redis *r, char *out, size_t n, const char *fmt, ...) {
  redisContext *c = redisConnect("127.0.0.1", r->port);
  cr_assert(c && !c->err, "connect to port %d: %s", r->port, c ? c->errstr : "no memory");
  va_list ap;
  va_start(ap, fmt);
  redisReply *rep = redisvCommand(c, fmt, ap);
  va_end(ap);
  cr_assert(rep, "command on port %d: %s", r->port, c->errstr);
  if (out)
    snprintf(out, n, "%s", rep->str ? rep->str : "");
  freeReplyObject(rep);
  redisFree(c);
}

/* Waits until the primary reports n replicas online. */
static void wait_replicas(int n, int timeout_ms) {
  char info[4096], want[64];
  snprintf(want, sizeof want, "connected_slaves:%d", n);
  int64_t end = jd_mono_ms() + timeout_ms;
  for (;;) {
    admin(primary, info, sizeof info, "INFO replication");
    if (strstr(info, want) && (n == 0 || strstr(info, "state=online")))
      return;
    cr_assert(jd_mono_ms() < end, "no %d replicas online after %d ms:\n%s", n, timeout_ms, info);
    usleep(20000);
  }
}

/* Until a WAIT of the default user is acked: a replica fresh from its
 * full sync acks the first ones only at its once-a-second cron. */
static void warm_up(void) {
  redisContext *c = redisConnect("127.0.0.1", primary->port);
  cr_assert(c && !c->err);
  int64_t end = jd_mono_ms() + 10000;
  for (long long acked = 0; acked < 1;) {
    freeReplyObject(redisCommand(c, "SET warm-up 1"));
    redisReply *rep = redisCommand(c, "WAIT 1 200");
    cr_assert(rep && rep->type == REDIS_REPLY_INTEGER);
    acked = rep->integer;
    freeReplyObject(rep);
    cr_assert(jd_mono_ms() < end, "the replica acks no WAIT");
  }
  redisFree(c);
}

static void up(void) {
  primary = t_redis_start(false, false);
  t_redis_acl_user(primary, "judger-q", "q-s3cret");
  snprintf(acl_url, sizeof acl_url, "redis://judger-q:q-s3cret@127.0.0.1:%d/0", primary->port);
}

/* WAITs the primary ran (its commandstats), 0 when none. */
static long long waits_on_primary(void) {
  char info[8192];
  admin(primary, info, sizeof info, "INFO commandstats");
  const char *p = strstr(info, "cmdstat_wait:calls=");
  return p ? atoll(p + strlen("cmdstat_wait:calls=")) : 0;
}

static void start_replica(void) {
  replica = t_redis_start(false, false);
  /* The full sync at once (diskless syncs wait 5 s for more replicas). */
  admin(primary, NULL, 0, "CONFIG SET repl-diskless-sync-delay 0");
  char port[16];
  snprintf(port, sizeof port, "%d", primary->port);
  admin(replica, NULL, 0, "REPLICAOF 127.0.0.1 %s", port);
  wait_replicas(1, 10000);
  char info[4096];
  int64_t end = jd_mono_ms() + 10000;
  for (;;) {
    admin(replica, info, sizeof info, "INFO replication");
    if (strstr(info, "master_link_status:up"))
      break;
    cr_assert(jd_mono_ms() < end, "the replica's link is not up:\n%s", info);
    usleep(20000);
  }
  warm_up();
  waits0 = waits_on_primary();
}

static void down(void) {
  if (replica && replica_stopped)
    kill(replica->pid, SIGCONT);
  t_redis_stop(replica);
  t_redis_stop(primary);
  replica = primary = NULL;
  replica_stopped = false;
  waits0 = 0;
}

static jd_queue *open_q(int min_acked, int64_t wait_ms) {
  jd_queue *q = NULL;
  jd_queue_opts o = {.redis_url = acl_url,
                     .consumer = "h1",
                     .lease_ms = 5000,
                     .min_replicas_acked = min_acked,
                     .replica_wait_ms = wait_ms};
  cr_assert_eq(jd_queue_new(&q, &o), 0);
  cr_assert_eq(jd_queue_setup(q), 0, "%s", jd_queue_error(q));
  return q;
}

static void submit(jd_queue *q, const char *id) {
  char json[256];
  snprintf(json, sizeof json, "{\"id\":\"%s\",\"type\":\"match\",\"match\":{}}", id);
  cr_assert_eq(jd_queue_submit(NULL, q, JD_PRIO_MATCH, id, json), 0, "%s", jd_queue_error(q));
}

Test(replicas, a_replica_confirms_the_writes, .init = up, .fini = down) {
  start_replica();
  jd_queue *q = open_q(1, 4000);
  submit(q, "t1");
  bool ok = false;
  int64_t t0 = jd_mono_ms();
  cr_assert_eq(jd_queue_confirm(&ok, q), 0, "%s", jd_queue_error(q));
  cr_assert(ok, "the replica acked: confirmed");
  cr_assert(jd_queue_waited(q));
  cr_assert_lt(jd_mono_ms() - t0, 1000, "confirmed at once, not at the timeout");
  cr_assert_eq(waits_on_primary() - waits0, 1);
  /* The write is on the replica. */
  char len[32];
  admin(replica, len, sizeof len, "TYPE judger:q:match");
  cr_assert_str_eq(len, "stream");
  jd_queue_free(q);
}

Test(replicas, a_paused_replica_makes_it_short_after_the_wait, .init = up, .fini = down) {
  start_replica();
  jd_queue *q = open_q(1, 300);
  cr_assert_eq(kill(replica->pid, SIGSTOP), 0);
  replica_stopped = true;
  submit(q, "t1");
  bool ok = true;
  int64_t t0 = jd_mono_ms();
  cr_assert_eq(jd_queue_confirm(&ok, q), 0, "%s", jd_queue_error(q));
  int64_t took = jd_mono_ms() - t0;
  cr_assert_not(ok, "no replica acked: short");
  cr_assert(jd_queue_waited(q));
  cr_assert_geq(took, 280, "WAIT waits replica_wait_ms (%lld ms)", (long long)took);
  cr_assert_lt(took, 2000, "and no longer (%lld ms)", (long long)took);
  /* Resumed: the same writes are confirmed now. */
  cr_assert_eq(kill(replica->pid, SIGCONT), 0);
  replica_stopped = false;
  cr_assert_eq(jd_queue_confirm(&ok, q), 0, "%s", jd_queue_error(q));
  cr_assert(ok);
  jd_queue_free(q);
}

Test(replicas, auto_without_replicas_sends_no_wait, .init = up, .fini = down) {
  jd_queue *q = open_q(-1, 300);
  submit(q, "t1");
  bool ok = false;
  int64_t t0 = jd_mono_ms();
  cr_assert_eq(jd_queue_confirm(&ok, q), 0, "%s", jd_queue_error(q));
  cr_assert(ok, "nothing to wait for: confirmed");
  cr_assert_not(jd_queue_waited(q));
  cr_assert_lt(jd_mono_ms() - t0, 250);
  cr_assert_eq(waits_on_primary() - waits0, 0);
  jd_queue_free(q);
}

Test(replicas, auto_with_a_replica_waits_for_one, .init = up, .fini = down) {
  start_replica();
  jd_queue *q = open_q(-1, 300);
  submit(q, "t1");
  bool ok = false;
  cr_assert_eq(jd_queue_confirm(&ok, q), 0, "%s", jd_queue_error(q));
  cr_assert(ok);
  cr_assert(jd_queue_waited(q));
  cr_assert_eq(kill(replica->pid, SIGSTOP), 0);
  replica_stopped = true;
  submit(q, "t2");
  cr_assert_eq(jd_queue_confirm(&ok, q), 0, "%s", jd_queue_error(q));
  cr_assert_not(ok, "the paused replica is still the primary's: short");
  cr_assert_eq(waits_on_primary() - waits0, 2);
  jd_queue_free(q);
}

Test(replicas, zero_never_waits, .init = up, .fini = down) {
  start_replica();
  cr_assert_eq(kill(replica->pid, SIGSTOP), 0);
  replica_stopped = true;
  jd_queue *q = open_q(0, 300);
  submit(q, "t1");
  bool ok = false;
  cr_assert_eq(jd_queue_confirm(&ok, q), 0, "%s", jd_queue_error(q));
  cr_assert(ok);
  cr_assert_not(jd_queue_waited(q));
  cr_assert_eq(waits_on_primary() - waits0, 0);
  jd_queue_free(q);
}

Test(replicas, more_than_there_are_is_short, .init = up, .fini = down) {
  start_replica();
  jd_queue *q = open_q(2, 200);
  submit(q, "t1");
  bool ok = true;
  cr_assert_eq(jd_queue_confirm(&ok, q), 0, "%s", jd_queue_error(q));
  cr_assert_not(ok, "one replica of the two required");
  jd_queue_free(q);
}

Test(replicas, a_broken_connection_confirms_nothing, .init = up, .fini = down) {
  start_replica();
  jd_queue *q = open_q(1, 300);
  submit(q, "t1");
  /* The connection goes after the write: a WAIT on a new one would
   * confirm nothing written on the old one, so it is not sent. */
  admin(primary, NULL, 0, "CLIENT KILL USER judger-q");
  bool ok = true;
  cr_assert_eq(jd_queue_confirm(&ok, q), -1);
  cr_assert(jd_queue_lost(q), "%s", jd_queue_error(q));
  cr_assert_not(ok);
  cr_assert_eq(jd_queue_confirm(&ok, q), -1, "still not connected: not confirmed");
  cr_assert(jd_queue_lost(q));
  cr_assert_not(ok);
  jd_queue_free(q);
}

Test(replicas, auto_asks_again_once_a_replica_is_gone, .init = up, .fini = down) {
  start_replica();
  jd_queue *q = open_q(-1, 200);
  submit(q, "t1");
  bool ok = false;
  cr_assert_eq(jd_queue_confirm(&ok, q), 0, "%s", jd_queue_error(q));
  cr_assert(ok && jd_queue_waited(q));
  admin(replica, NULL, 0, "REPLICAOF NO ONE");
  wait_replicas(0, 5000);
  submit(q, "t2");
  /* Within the second the count is kept: one WAIT, short; then asked
   * again, and no replica is required any more. */
  cr_assert_eq(jd_queue_confirm(&ok, q), 0, "%s", jd_queue_error(q));
  if (jd_queue_waited(q))
    cr_assert_not(ok, "the replica is gone: short");
  cr_assert_eq(jd_queue_confirm(&ok, q), 0, "%s", jd_queue_error(q));
  cr_assert(ok, "no replica: nothing to wait for");
  cr_assert_not(jd_queue_waited(q));
  jd_queue_free(q);
}

/* ---- the fence, the connection of the writes, sticky auto (review 27) ---- */

/* The value of the primary's fence counter (0 when none yet). */
static long long fence_value(void) {
  char v[32];
  admin(primary, v, sizeof v, "GET judger:fence");
  return atoll(v);
}

/* Takes the task's entry (from the new ones) and begins it on q: the
 * run's claim. */
static long long begin_one(jd_queue *q, const char *id) {
  jd_entry_list l = {0};
  cr_assert_eq(jd_queue_read_new(&l, q, JD_PRIO_MATCH, 16), 0, "%s", jd_queue_error(q));
  char want[96];
  snprintf(want, sizeof want, "\"id\":\"%s\"", id);
  size_t i = 0;
  while (i < l.count && !(l.items[i].task_json && strstr(l.items[i].task_json, want)))
    i++;
  cr_assert_lt(i, l.count, "no new entry of %s", id);
  jd_begin b;
  cr_assert_eq(jd_queue_begin(&b, q, JD_PRIO_MATCH, l.items[i].id, id, 3), 0, "%s",
               jd_queue_error(q));
  cr_assert_eq(b.outcome, JD_BEGIN_RUN);
  jd_entry_list_clear(&l);
  return b.claim;
}

static jd_store_outcome store_one(jd_queue *q, const char *id, long long claim) {
  jd_result_rec rec = {id, 1, claim, JD_TASK_STATUS_FINISHED, "ok", "{\"ok\":true}"};
  jd_store_outcome out = JD_STORE_REFUSED;
  cr_assert_eq(jd_queue_store_result(&out, q, JD_PRIO_MATCH, NULL, &rec), 0, "%s",
               jd_queue_error(q));
  return out;
}

Test(replicas, every_wait_follows_a_fence_write, .init = up, .fini = down) {
  start_replica();
  jd_queue *q = open_q(1, 300);
  submit(q, "t1");
  bool ok = false;
  long long f0 = fence_value();
  for (int i = 0; i < 3; i++) {
    cr_assert_eq(jd_queue_confirm(&ok, q), 0, "%s", jd_queue_error(q));
    cr_assert(ok);
  }
  cr_assert_eq(waits_on_primary() - waits0, 3);
  cr_assert_eq(fence_value() - f0, 3, "one INCR of <prefix>:fence before each WAIT");
  /* The fence is written on the replica too: the WAIT covered it. */
  char v[32];
  admin(replica, v, sizeof v, "GET judger:fence");
  cr_assert_eq(atoll(v), fence_value());
  jd_queue_free(q);
}

Test(replicas, an_already_there_store_with_a_paused_replica_is_short, .init = up, .fini = down) {
  start_replica();
  jd_queue *q = open_q(1, 300);
  submit(q, "t1");
  long long claim = begin_one(q, "t1");
  cr_assert_eq(store_one(q, "t1", claim), JD_STORE_WRITTEN);
  bool ok = false;
  cr_assert_eq(jd_queue_confirm(&ok, q), 0, "%s", jd_queue_error(q));
  cr_assert(ok);
  cr_assert_eq(kill(replica->pid, SIGSTOP), 0);
  replica_stopped = true;
  /* A new connection that writes nothing: Redis 7.2+ would confirm its
   * WAIT at once (its woff is 0). The fence makes it wait for a write the
   * paused replica never acked. */
  jd_queue *q2 = open_q(1, 300);
  cr_assert_eq(store_one(q2, "t1", claim), JD_STORE_ALREADY);
  ok = true;
  cr_assert_eq(jd_queue_confirm(&ok, q2), 0, "%s", jd_queue_error(q2));
  cr_assert(jd_queue_waited(q2));
  cr_assert_not(ok, "the paused replica acked nothing after the fence: short");
  jd_queue_free(q2);
  jd_queue_free(q);
}

/* Drops q's connection on the server and reconnects it (a PING). */
static void reconnect(jd_queue *q) {
  uint64_t g = jd_redis_generation(jd_queue_redis(q));
  admin(primary, NULL, 0, "CLIENT KILL USER judger-q");
  for (int i = 0; i < 50 && jd_redis_generation(jd_queue_redis(q)) == g; i++)
    if (jd_redis_command(NULL, jd_queue_redis(q), "PING"))
      usleep(jd_queue_backoff_ms(q) * 1000 + 1000);
  cr_assert_neq(jd_redis_generation(jd_queue_redis(q)), g, "reconnected");
}

Test(replicas, writes_on_another_connection_are_not_confirmed, .init = up, .fini = down) {
  start_replica();
  jd_queue *q = open_q(1, 300);
  submit(q, "t1");
  uint64_t g1 = jd_redis_generation(jd_queue_redis(q));
  reconnect(q);
  bool ok = true;
  cr_assert_eq(jd_queue_confirm_since(&ok, q, g1), -1, "a WAIT here says nothing of g1's writes");
  cr_assert(jd_queue_lost(q));
  cr_assert_not(ok);
  /* A batch across the reconnect: confirm (the queue's own record) refuses. */
  submit(q, "t2");
  reconnect(q);
  submit(q, "t3");
  ok = true;
  cr_assert_eq(jd_queue_confirm(&ok, q), -1, "t2 and t3 went over two connections");
  cr_assert(jd_queue_lost(q));
  cr_assert_not(ok);
  /* A result stored, then the connection changes before its WAIT (the
   * spool's case): not confirmed; stored again ('already there') on the
   * new connection, that one is. */
  submit(q, "t5");
  long long claim = begin_one(q, "t5");
  cr_assert_eq(store_one(q, "t5", claim), JD_STORE_WRITTEN);
  uint64_t gs = jd_redis_generation(jd_queue_redis(q));
  reconnect(q);
  cr_assert_eq(jd_queue_confirm_since(&ok, q, gs), -1);
  cr_assert(jd_queue_lost(q) && !ok);
  cr_assert_eq(store_one(q, "t5", claim), JD_STORE_ALREADY);
  cr_assert_eq(jd_queue_confirm_since(&ok, q, jd_redis_generation(jd_queue_redis(q))), 0, "%s",
               jd_queue_error(q));
  cr_assert(ok);
  /* The writes of the current connection alone are confirmed. */
  submit(q, "t4");
  uint64_t g = jd_redis_generation(jd_queue_redis(q));
  cr_assert_eq(jd_queue_confirm_since(&ok, q, g), 0, "%s", jd_queue_error(q));
  cr_assert(ok);
  cr_assert_eq(jd_queue_confirm(&ok, q), 0, "%s", jd_queue_error(q));
  cr_assert(ok);
  jd_queue_free(q);
}

/* ---- auto in sentinel mode: sticky once a replica was seen ----------------- */

static t_sentinel_set *sset;

static void sentinel_down(void) {
  t_sentinel_stop(sset);
  sset = NULL;
}

static jd_queue *open_url(const char *url) {
  jd_queue *q = NULL;
  jd_queue_opts o = {.redis_url = url,
                     .consumer = "h1",
                     .lease_ms = 5000,
                     .min_replicas_acked = -1,
                     .replica_wait_ms = 200};
  cr_assert_eq(jd_queue_new(&q, &o), 0);
  cr_assert_eq(jd_queue_setup(q), 0, "%s", jd_queue_error(q));
  return q;
}

Test(replicas, auto_in_sentinel_mode_keeps_requiring_the_replica_it_saw, .fini = sentinel_down,
     .timeout = 60) {
  sset = t_sentinel_start(NULL);
  jd_queue *qs = open_url(sset->url), *qd = open_url(sset->admin_url[0]);
  bool ok = false, waited = false;
  cr_assert_eq(jd_queue_confirm(&ok, qs), 0, "%s", jd_queue_error(qs));
  cr_assert(ok && jd_queue_waited(qs), "the replica confirms (sentinel mode)");
  cr_assert_eq(jd_queue_confirm(&ok, qd), 0, "%s", jd_queue_error(qd));
  cr_assert(ok && jd_queue_waited(qd), "the replica confirms (direct mode)");
  /* The replica dies: the primary reports none. */
  cr_assert_eq(kill(sset->data[1].pid, SIGKILL), 0);
  waitpid(sset->data[1].pid, NULL, 0);
  sset->data[1].pid = 0;
  int64_t end = jd_mono_ms() + 10000;
  while (t_sentinel_info(sset, 0, "replication", "connected_slaves") != 0) {
    cr_assert(jd_mono_ms() < end, "the primary still reports its replica");
    usleep(20000);
  }
  /* Direct mode: once auto asks the primary again, nothing to wait for. */
  end = jd_mono_ms() + 5000;
  do {
    submit(qd, "d1");
    cr_assert_eq(jd_queue_confirm(&ok, qd), 0, "%s", jd_queue_error(qd));
    waited = jd_queue_waited(qd);
    cr_assert(jd_mono_ms() < end, "direct mode still waits for the dead replica");
  } while (waited);
  cr_assert(ok, "direct mode: no replica, confirmed without a WAIT");
  /* Sentinel mode: past auto's next asks, still one required: short. */
  end = jd_mono_ms() + 2500;
  for (int i = 0; jd_mono_ms() < end; i++) {
    submit(qs, "s1");
    ok = true;
    cr_assert_eq(jd_queue_confirm(&ok, qs), 0, "%s", jd_queue_error(qs));
    cr_assert(jd_queue_waited(qs) && !ok, "sentinel mode, confirm %d: waited and short", i);
  }
  jd_queue_free(qs);
  jd_queue_free(qd);
}

/* ---- the fence and the WAIT in one round trip ---- */

/* A field of the primary's INFO (section sect) on the admin context c. */
static long long info_field(redisContext *c, const char *sect, const char *field) {
  redisReply *rep = redisCommand(c, "INFO %s", sect);
  cr_assert(rep && rep->type == REDIS_REPLY_STRING, "INFO %s", sect);
  const char *p = strstr(rep->str, field);
  long long v = p ? atoll(p + strlen(field)) : 0;
  freeReplyObject(rep);
  return v;
}

Test(replicas, the_fence_and_the_wait_go_in_one_round_trip, .init = up, .fini = down) {
  start_replica();
  jd_queue *q = open_q(1, 100);
  submit(q, "t1");
  bool ok = false;
  cr_assert_eq(jd_queue_confirm(&ok, q), 0, "%s", jd_queue_error(q));
  cr_assert(ok);
  /* Paused: nothing else reads on the primary but its admin connection. */
  cr_assert_eq(kill(replica->pid, SIGSTOP), 0);
  replica_stopped = true;
  redisContext *c = redisConnect("127.0.0.1", primary->port);
  cr_assert(c && !c->err);
  long long incr0 = info_field(c, "commandstats", "cmdstat_incr:calls=");
  long long wait0 = info_field(c, "commandstats", "cmdstat_wait:calls=");
  long long reads0 = info_field(c, "stats", "total_reads_processed:");
  enum { K = 5 };
  for (int i = 0; i < K; i++) {
    int64_t t0 = jd_mono_ms();
    cr_assert_eq(jd_queue_confirm(&ok, q), 0, "%s", jd_queue_error(q));
    int64_t took = jd_mono_ms() - t0;
    cr_assert_not(ok, "the paused replica acked nothing: short");
    cr_assert_lt(took, 1000, "short after the WAIT's 100 ms (%lld ms)", (long long)took);
  }
  long long reads = info_field(c, "stats", "total_reads_processed:") - reads0;
  cr_assert_eq(info_field(c, "commandstats", "cmdstat_incr:calls=") - incr0, K);
  /* The INFO above ran before the calls were counted: + 0. */
  cr_assert_eq(info_field(c, "commandstats", "cmdstat_wait:calls=") - wait0, K);
  /* One read per confirm (both commands in one write) and one for the
   * INFO; two round trips would be 2 K + 1. */
  printf("%d confirms: the primary read %lld times (the INFO included)\n", K, reads);
  cr_assert_leq(reads, K + 2, "%lld reads for %d confirms", reads, K);
  redisFree(c);
  jd_queue_free(q);
}

Test(replicas, a_fence_refused_as_readonly_is_lost, .init = up, .fini = down) {
  start_replica();
  jd_queue *q = open_q(1, 300);
  submit(q, "t1");
  /* The primary is demoted under the live connection: the replica becomes
   * the primary, the old one its replica (no client is killed). */
  admin(replica, NULL, 0, "REPLICAOF NO ONE");
  char port[16];
  snprintf(port, sizeof port, "%d", replica->port);
  admin(primary, NULL, 0, "REPLICAOF 127.0.0.1 %s", port);
  uint64_t g = jd_redis_generation(jd_queue_redis(q));
  cr_assert(jd_redis_connected(jd_queue_redis(q)));
  bool ok = true;
  int64_t t0 = jd_mono_ms();
  cr_assert_eq(jd_queue_confirm(&ok, q), -1, "the fence is refused");
  cr_assert_lt(jd_mono_ms() - t0, 1000, "at once, not after the WAIT");
  cr_assert_not(ok);
  cr_assert_not(jd_queue_waited(q), "no WAIT answer taken");
  cr_assert_eq(jd_redis_last(jd_queue_redis(q)), JD_REDIS_CONN, "%s", jd_queue_error(q));
  cr_assert(strstr(jd_queue_error(q), "READONLY") || strstr(jd_queue_error(q), "LOADING") ||
                strstr(jd_queue_error(q), "MASTERDOWN"),
            "%s", jd_queue_error(q));
  cr_assert_not(jd_redis_connected(jd_queue_redis(q)), "the connection is dropped");
  cr_assert_eq(jd_redis_generation(jd_queue_redis(q)), g);
  jd_queue_free(q);
}
