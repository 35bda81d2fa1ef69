// test-labels: redis
/* judger/queue/live.c against a real redis-server, as the least-privileged
 * ACL user (T_REDIS_ACL_RULES): append in one script, read with XRANGE and
 * XREAD BLOCK, trim to the cap, time to live, reset on a new attempt. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "queue/live.h"
#include "redis_server.h"
#include "support.h"

static t_redis *srv;
static char acl_url[128];

static void up(void) {
  srv = t_redis_start(false, false);
  t_redis_acl_user(srv, "judger-q", "q-s3cret");
  snprintf(acl_url, sizeof acl_url, "redis://judger-q:q-s3cret@127.0.0.1:%d/0", srv->port);
}
static void down(void) { t_redis_stop(srv); }

static jd_queue *open_q(void) {
  jd_queue *q = NULL;
  jd_queue_opts o = {.redis_url = acl_url, .consumer = "h1"};
  cr_assert_eq(jd_queue_new(&q, &o), 0);
  return q;
}

/* A command as the default user (PTTL, EXISTS: not the judger's). */
static long long cmd_int(jd_queue *q, const char *fmt, const char *arg) {
  (void)q;
  jd_redis *r = NULL;
  cr_assert_eq(jd_redis_new(&r, srv->url, NULL), 0);
  redisReply *rep = NULL;
  cr_assert_eq(jd_redis_command(&rep, r, fmt, arg), 0, "%s", jd_redis_error(r));
  jd_redis_free(r);
  long long n = -1;
  cr_assert_eq(jd_reply_int(rep, &n), 0);
  freeReplyObject(rep);
  return n;
}

/* Appends events {"seq":from..from+n-1} in one call. */
static void append_seq(jd_queue *q, const char *task, bool reset, int from, int n, size_t maxlen,
                       int64_t ttl_ms) {
  char buf[64][48];
  const char *jsons[64];
  size_t lens[64];
  cr_assert(n <= 64);
  for (int i = 0; i < n; i++) {
    lens[i] = (size_t)snprintf(buf[i], sizeof buf[i], "{\"seq\":%d}", from + i);
    jsons[i] = buf[i];
  }
  cr_assert_eq(jd_queue_live_append(q, task, reset, jsons, lens, (size_t)n, maxlen, ttl_ms), 0,
               "%s", jd_queue_error(q));
}

Test(live, append_then_read_in_order_with_ttl, .init = up, .fini = down) {
  jd_queue *q = open_q();
  append_seq(q, "t1", true, 1, 5, 100, 60000);
  append_seq(q, "t1", false, 6, 3, 100, 60000);
  cr_assert_eq(cmd_int(q, "XLEN %s", "judger:live:t1"), 8);
  long long ttl = cmd_int(q, "PTTL %s", "judger:live:t1");
  cr_assert(ttl > 50000 && ttl <= 60000, "the TTL is set by every append (%lld)", ttl);
  jd_live_entries e = {0};
  cr_assert_eq(jd_queue_live_read(&e, q, "t1", "0", 3, -1), 0, "%s", jd_queue_error(q));
  cr_assert_eq(e.n, 3);
  cr_assert_str_eq(e.v[0].json, "{\"seq\":1}");
  cr_assert_eq(e.v[0].len, strlen("{\"seq\":1}"));
  cr_assert_str_eq(e.v[2].json, "{\"seq\":3}");
  char after[48];
  snprintf(after, sizeof after, "%s", e.v[2].id);
  jd_live_entries_free(&e);
  /* After an id: the rest, exclusive of it. */
  cr_assert_eq(jd_queue_live_read(&e, q, "t1", after, 100, -1), 0);
  cr_assert_eq(e.n, 5);
  cr_assert_str_eq(e.v[0].json, "{\"seq\":4}");
  cr_assert_str_eq(e.v[4].json, "{\"seq\":8}");
  jd_live_entries_free(&e);
  /* XREAD without blocking from the start reads the same. */
  cr_assert_eq(jd_queue_live_read(&e, q, "t1", "0", 100, 0), 0);
  cr_assert_eq(e.n, 8);
  jd_live_entries_free(&e);
  /* No such stream: nothing, no error. */
  cr_assert_eq(jd_queue_live_read(&e, q, "nope", "0", 100, -1), 0);
  cr_assert_eq(e.n, 0);
  jd_live_entries_free(&e);
  jd_queue_free(q);
}

Test(live, bad_task_ids_and_foreign_entries, .init = up, .fini = down) {
  jd_queue *q = open_q();
  const char *j[] = {"{}"};
  size_t l[] = {2};
  cr_assert_eq(jd_queue_live_append(q, "../x", false, j, l, 1, 10, 1000), -1);
  cr_assert_eq(jd_queue_last(q), JD_REDIS_INVAL);
  jd_live_entries e = {0};
  cr_assert_eq(jd_queue_live_read(&e, q, "a b", "0", 10, -1), -1);
  /* An entry someone else wrote: no "e", or a non-string one, reads as "". */
  redisReply *rep = NULL;
  cr_assert_eq(jd_redis_command(&rep, jd_queue_redis(q), "XADD judger:live:t2 * x 1"), 0);
  freeReplyObject(rep);
  append_seq(q, "t2", false, 1, 1, 10, 1000);
  cr_assert_eq(jd_queue_live_read(&e, q, "t2", "0", 10, -1), 0);
  cr_assert_eq(e.n, 2);
  cr_assert_str_eq(e.v[0].json, "");
  cr_assert_eq(e.v[0].len, 0);
  cr_assert_str_eq(e.v[1].json, "{\"seq\":1}");
  jd_live_entries_free(&e);
  /* A count past JD_LIVE_READ_MAX is capped, not refused. */
  cr_assert_eq(jd_queue_live_read(&e, q, "t2", "0", 1000000, -1), 0);
  cr_assert_eq(e.n, 2);
  jd_live_entries_free(&e);
  jd_queue_free(q);
}

Test(live, trimmed_to_exactly_maxlen, .init = up, .fini = down) {
  jd_queue *q = open_q();
  for (int i = 0; i < 10; i++)
    append_seq(q, "t1", i == 0, 1 + 50 * i, 50, 120, 60000);
  cr_assert_eq(cmd_int(q, "XLEN %s", "judger:live:t1"), 120);
  jd_live_entries e = {0};
  cr_assert_eq(jd_queue_live_read(&e, q, "t1", "0", 1, -1), 0);
  cr_assert_eq(e.n, 1);
  cr_assert_str_eq(e.v[0].json, "{\"seq\":381}", "the oldest go: %s", e.v[0].json);
  jd_live_entries_free(&e);
  jd_queue_free(q);
}

Test(live, reset_starts_over_and_expire_sets_the_ttl, .init = up, .fini = down) {
  jd_queue *q = open_q();
  append_seq(q, "t1", true, 1, 10, 100, 600000);
  append_seq(q, "t1", true, 100, 2, 100, 600000);
  jd_live_entries e = {0};
  cr_assert_eq(jd_queue_live_read(&e, q, "t1", "0", 100, -1), 0);
  cr_assert_eq(e.n, 2);
  cr_assert_str_eq(e.v[0].json, "{\"seq\":100}");
  jd_live_entries_free(&e);
  cr_assert_eq(jd_queue_live_expire(q, "t1", 3000), 0, "%s", jd_queue_error(q));
  long long ttl = cmd_int(q, "PTTL %s", "judger:live:t1");
  cr_assert(ttl > 0 && ttl <= 3000, "%lld", ttl);
  /* An append of nothing still sets the TTL of a stream that exists, and
   * makes none that does not. */
  cr_assert_eq(jd_queue_live_append(q, "t1", false, NULL, NULL, 0, 100, 90000), 0);
  cr_assert(cmd_int(q, "PTTL %s", "judger:live:t1") > 3000);
  cr_assert_eq(jd_queue_live_append(q, "t9", false, NULL, NULL, 0, 100, 90000), 0);
  cr_assert_eq(cmd_int(q, "EXISTS %s", "judger:live:t9"), 0);
  /* It does expire. */
  cr_assert_eq(jd_queue_live_expire(q, "t1", 50), 0);
  int64_t t0 = jd_mono_ms();
  while (cmd_int(q, "EXISTS %s", "judger:live:t1") && jd_mono_ms() - t0 < 5000)
    usleep(20000);
  cr_assert_eq(cmd_int(q, "EXISTS %s", "judger:live:t1"), 0);
  jd_queue_free(q);
}

static void *late_append(void *arg) {
  (void)arg;
  usleep(300000);
  jd_queue *q = open_q();
  append_seq(q, "t1", false, 2, 1, 100, 60000);
  jd_queue_free(q);
  return NULL;
}

Test(live, xread_blocks_until_an_entry, .init = up, .fini = down) {
  jd_queue *q = open_q();
  append_seq(q, "t1", true, 1, 1, 100, 60000);
  jd_live_entries e = {0};
  cr_assert_eq(jd_queue_live_read(&e, q, "t1", "0", 10, 1000), 0);
  cr_assert_eq(e.n, 1, "entries already there come at once");
  char after[48];
  snprintf(after, sizeof after, "%s", e.v[0].id);
  jd_live_entries_free(&e);
  /* Nothing new: a timeout, 0 entries. */
  int64_t t0 = jd_mono_ms();
  cr_assert_eq(jd_queue_live_read(&e, q, "t1", after, 10, 300), 0, "%s", jd_queue_error(q));
  cr_assert_eq(e.n, 0);
  cr_assert(jd_mono_ms() - t0 >= 250, "XREAD BLOCK must block");
  /* An entry appended while blocked wakes the reader. */
  pthread_t th;
  pthread_create(&th, NULL, late_append, NULL);
  t0 = jd_mono_ms();
  cr_assert_eq(jd_queue_live_read(&e, q, "t1", after, 10, 5000), 0, "%s", jd_queue_error(q));
  int64_t waited = jd_mono_ms() - t0;
  pthread_join(th, NULL);
  cr_assert_eq(e.n, 1);
  cr_assert_str_eq(e.v[0].json, "{\"seq\":2}");
  cr_assert(waited >= 200 && waited < 4000, "woken by the append (%lld ms)", (long long)waited);
  jd_live_entries_free(&e);
  jd_queue_free(q);
}

Test(live, fenced_by_another_runs_claim, .init = up, .fini = down) {
  jd_queue *q = open_q();
  const char *j[] = {"{\"seq\":1}"};
  size_t l[] = {9};
  bool refused = true;
  /* Nobody holds the claim: written. */
  cr_assert_eq(jd_queue_live_append_fenced(&refused, q, "t1", 5, true, j, l, 1, 10, 60000), 0);
  cr_assert_not(refused);
  /* Our own claim: written. */
  redisReply *rep = NULL;
  cr_assert_eq(jd_redis_command(&rep, jd_queue_redis(q), "SET judger:claim:t1 5"), 0);
  freeReplyObject(rep);
  cr_assert_eq(jd_queue_live_append_fenced(&refused, q, "t1", 5, false, j, l, 1, 10, 60000), 0);
  cr_assert_not(refused);
  /* Another run's: nothing written, not even a reset. */
  cr_assert_eq(jd_redis_command(&rep, jd_queue_redis(q), "SET judger:claim:t1 6"), 0);
  freeReplyObject(rep);
  cr_assert_eq(jd_queue_live_append_fenced(&refused, q, "t1", 5, true, j, l, 1, 10, 60000), 0);
  cr_assert(refused);
  cr_assert_eq(cmd_int(q, "XLEN %s", "judger:live:t1"), 2);
  /* Unfenced (JD_CLAIM_NONE): written. */
  cr_assert_eq(jd_queue_live_append(q, "t1", false, j, l, 1, 10, 60000), 0);
  cr_assert_eq(cmd_int(q, "XLEN %s", "judger:live:t1"), 3);
  jd_queue_free(q);
}
