// test-labels: redis
/* daemon/live_push.c against a real redis-server: batching into one
 * append, the stream's start (live.begin) and TTLs, the backlog's bound
 * while Redis is away (the flooder's oldest dropped and counted, never
 * another task's nor a bounded event), the entry cap, retries (the stream
 * starts over), the stop's flush. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "daemon/config.h"
#include "daemon/live_push.h"
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

static jd_config cfg;

static jd_live_push *start(const char *url, int entries, int64_t ttl_ms) {
  cr_assert_eq(jd_config_defaults(&cfg), 0);
  free(cfg.redis);
  cfg.redis = strdup(url);
  free(cfg.host_id);
  cfg.host_id = strdup("h1");
  cfg.live_entries = entries;
  cfg.live_max_bytes = (int64_t)64 << 20; /* the entries are the cap here */
  cfg.live_ttl_ms = ttl_ms;
  jd_live_push *p = NULL;
  char err[256] = "";
  cr_assert_eq(jd_live_push_start(&p, &cfg, err, sizeof err), 0, "%s", err);
  return p;
}

/* A command as the default user. */
static long long cmd_int(const char *fmt, const char *arg) {
  jd_redis *r = NULL;
  cr_assert_eq(jd_redis_new(&r, srv->url, NULL), 0);
  redisReply *rep = NULL;
  cr_assert_eq(jd_redis_command(&rep, r, fmt, arg), 0, "%s", jd_redis_error(r));
  long long n = -1;
  cr_assert_eq(jd_reply_int(rep, &n), 0);
  freeReplyObject(rep);
  jd_redis_free(r);
  return n;
}

/* Script calls Redis ran (EVAL and EVALSHA) since it started. */
static long long script_calls(void) {
  jd_redis *r = NULL;
  cr_assert_eq(jd_redis_new(&r, srv->url, NULL), 0);
  redisReply *rep = NULL;
  cr_assert_eq(jd_redis_command(&rep, r, "INFO commandstats"), 0);
  long long n = 0;
  for (const char *k = rep->str; (k = strstr(k, "cmdstat_eval")); k++) {
    const char *c = strstr(k, "calls=");
    if (c)
      n += atoll(c + 6);
  }
  freeReplyObject(rep);
  jd_redis_free(r);
  return n;
}

static jd_queue *reader(void) {
  jd_queue *q = NULL;
  jd_queue_opts o = {.redis_url = srv->url};
  cr_assert_eq(jd_queue_new(&q, &o), 0);
  return q;
}

/* Waits until the stream holds n entries; its entries into *e. */
static void wait_len(jd_live_entries *e, const char *task, size_t n, int64_t ms) {
  jd_queue *q = reader();
  int64_t until = jd_mono_ms() + ms;
  for (;;) {
    cr_assert_eq(jd_queue_live_read(e, q, task, "0", 1000, -1), 0, "%s", jd_queue_error(q));
    if (e->n == n || jd_mono_ms() > until)
      break;
    jd_live_entries_free(e);
    usleep(20000);
  }
  jd_queue_free(q);
  cr_assert_eq(e->n, n, "the stream of %s holds %zu entries, not %zu", task, e->n, n);
}

static void push_seq(jd_live_push *p, const char *task, int from, int n) {
  for (int i = from; i < from + n; i++) {
    char j[64];
    int len = snprintf(j, sizeof j, "{\"event\":\"x\",\"seq\":%d}", i);
    jd_live_push_entry(p, task, j, (size_t)len);
  }
}

static int seq_of(const jd_live_entry *e) {
  const char *s = strstr(e->json, "\"seq\":");
  return s ? atoi(s + 6) : -1;
}

Test(live_push, begin_entries_end_in_few_appends_with_ttls, .init = up, .fini = down) {
  jd_live_push *p = start(acl_url, 2000, 5000);
  /* Redis away while the match starts: the entries wait in the backlog and
   * go in one append once it is back. */
  t_redis_kill(srv);
  jd_live_push_begin(p, "t1", 1, 600000);
  push_seq(p, "t1", 1, 300);
  jd_live_push_entry(p, "nobody", "{}", 2); /* no begin: ignored */
  t_redis_resume(srv);
  t_redis_acl_user(srv, "judger-q", "q-s3cret");
  jd_live_entries e = {0};
  wait_len(&e, "t1", 301, 15000);
  cr_assert_str_eq(e.v[0].json, "{\"event\":\"live.begin\",\"task_id\":\"t1\",\"attempt\":1}");
  for (size_t i = 1; i < e.n; i++)
    cr_assert_eq(seq_of(&e.v[i]), (int)i, "in order");
  jd_live_entries_free(&e);
  long long calls = script_calls();
  cr_assert(calls >= 1 && calls <= 3, "300 entries batched into one append (%lld calls)", calls);
  long long ttl = cmd_int("PTTL %s", "judger:live:t1");
  cr_assert(ttl > 500000, "while the match runs the TTL is its deadline's (%lld)", ttl);
  cr_assert_eq(cmd_int("EXISTS %s", "judger:live:nobody"), 0);
  /* Live: one at a time comes quickly. */
  push_seq(p, "t1", 301, 1);
  wait_len(&e, "t1", 302, 5000);
  jd_live_entries_free(&e);
  jd_live_push_end(p, "t1");
  int64_t until = jd_mono_ms() + 5000;
  while (cmd_int("PTTL %s", "judger:live:t1") > 5000 && jd_mono_ms() < until)
    usleep(20000);
  ttl = cmd_int("PTTL %s", "judger:live:t1");
  cr_assert(ttl > 0 && ttl <= 5000, "after the end: live_ttl_ms (%lld)", ttl);
  cr_assert_eq(jd_live_push_written(p), 301);
  cr_assert_eq(jd_live_push_dropped(p), 0);
  /* After the end, entries are not the stream's. */
  push_seq(p, "t1", 400, 1);
  jd_live_push_stop(p);
  wait_len(&e, "t1", 302, 0);
  jd_live_entries_free(&e);
  jd_config_clear(&cfg);
}

/* Waits (5 s at most) for p's written count to reach n, then checks it
 * is n: the count follows the write's answer, which the stream can show
 * first (CI read it in between). */
static void wait_written(jd_live_push *p, int64_t n) {
  int64_t until = jd_mono_ms() + 5000;
  while (jd_live_push_written(p) < n && jd_mono_ms() < until)
    usleep(10000);
  cr_assert_eq(jd_live_push_written(p), n, "%lld", (long long)jd_live_push_written(p));
}

Test(live_push, backlog_bound_drops_the_oldest_and_counts, .init = up, .fini = down) {
  /* The default user: the restarted server has no ACL user. */
  jd_live_push *p = start(srv->url, 16, 60000);
  t_redis_kill(srv);
  jd_live_push_begin(p, "t1", 1, 600000);
  push_seq(p, "t1", 1, 100);
  /* The bound: 4 x live_entries. A batch the thread had taken comes back
   * when its write fails. */
  int64_t until = jd_mono_ms() + 5000;
  while (jd_live_push_dropped(p) < 36 && jd_mono_ms() < until)
    usleep(10000);
  cr_assert_eq(jd_live_push_dropped(p), 36, "%lld", (long long)jd_live_push_dropped(p));
  t_redis_resume(srv);
  jd_live_entries e = {0};
  /* The backlog kept live.begin and the last 64; the stream's cap (16)
   * keeps the latest 16 of them. */
  wait_len(&e, "t1", 16, 15000);
  cr_assert_eq(seq_of(&e.v[0]), 85, "the oldest went: %s", e.v[0].json);
  cr_assert_eq(seq_of(&e.v[15]), 100);
  jd_live_entries_free(&e);
  wait_written(p, 64);
  cr_assert_eq(cmd_int("XLEN %s", "judger:live:t1"), 16);
  jd_live_push_stop(p);
  jd_config_clear(&cfg);
}

Test(live_push, the_bound_drops_the_flooders_entries_not_a_quiet_tasks, .init = up, .fini = down) {
  jd_live_push *p = start(srv->url, 16, 60000); /* a bound of 64 entries */
  t_redis_kill(srv);
  jd_live_push_begin(p, "quiet", 1, 600000);
  jd_live_push_begin(p, "flood", 1, 600000);
  /* The quiet match's entries are the oldest; the flooder's start is
   * bounded (kept) and then 200 frames come while Redis is away. */
  push_seq(p, "quiet", 1, 5);
  const char *started = "{\"event\":\"player.started\",\"seq\":0}";
  cr_assert(jd_live_push_event(p, "flood", started, strlen(started), true));
  push_seq(p, "flood", 1, 200);
  const char *done = "{\"event\":\"match.done\",\"seq\":6}";
  cr_assert(jd_live_push_event(p, "quiet", done, strlen(done), true));
  jd_live_push_end(p, "quiet");
  /* 207 pending, 64 kept: the flooder's 143 oldest frames went. */
  int64_t until = jd_mono_ms() + 5000;
  while (jd_live_push_dropped(p) < 143 && jd_mono_ms() < until)
    usleep(10000);
  cr_assert_eq(jd_live_push_dropped(p), 143, "%lld", (long long)jd_live_push_dropped(p));
  t_redis_resume(srv);
  jd_live_entries e = {0};
  wait_len(&e, "quiet", 7, 15000);
  for (size_t i = 1; i < e.n; i++)
    cr_assert_eq(seq_of(&e.v[i]), (int)i, "every quiet entry arrived: %s", e.v[i].json);
  cr_assert(strstr(e.v[6].json, "match.done"));
  jd_live_entries_free(&e);
  /* The flooder's stream (capped at 16) ends with its newest frame; what
   * it kept was its start and its newest 57 frames. */
  wait_len(&e, "flood", 16, 15000);
  cr_assert_eq(seq_of(&e.v[15]), 200);
  jd_live_entries_free(&e);
  wait_written(p, 64);
  jd_live_push_stop(p);
  jd_config_clear(&cfg);
}

Test(live_push, bounded_events_go_past_the_bound_up_to_twice_it, .init = up, .fini = down) {
  jd_live_push *p = start(srv->url, 16, 60000); /* a bound of 64 entries */
  t_redis_kill(srv);
  jd_live_push_begin(p, "t1", 1, 600000);
  for (int i = 1; i <= 200; i++) {
    char j[64];
    int len = snprintf(j, sizeof j, "{\"event\":\"player.started\",\"seq\":%d}", i);
    jd_live_push_event(p, "t1", j, (size_t)len, true);
  }
  /* 200 starts (a match of thousands of player starts while Redis is
   * away): 128 kept, the oldest 72 dropped. */
  int64_t until = jd_mono_ms() + 5000;
  while (jd_live_push_dropped(p) < 72 && jd_mono_ms() < until)
    usleep(10000);
  cr_assert_eq(jd_live_push_dropped(p), 72, "%lld", (long long)jd_live_push_dropped(p));
  t_redis_resume(srv);
  jd_live_entries e = {0};
  wait_len(&e, "t1", 16, 15000);
  cr_assert_eq(seq_of(&e.v[15]), 200);
  jd_live_entries_free(&e);
  wait_written(p, 128);
  jd_live_push_stop(p);
  jd_config_clear(&cfg);
}

/* {"x":"aaa..."} of len bytes (len >= 8). */
static char *json_of(size_t len) {
  char *s = malloc(len + 1);
  cr_assert(s);
  memset(s, 'a', len);
  memcpy(s, "{\"x\":\"", 6);
  memcpy(s + len - 2, "\"}", 3);
  return s;
}

Test(live_push, an_entry_over_the_cap_is_dropped_and_counted, .init = up, .fini = down) {
  jd_live_push *p = start(acl_url, 2000, 60000);
  size_t cap = jd_live_entry_cap(4096);
  cr_assert_eq(cap, 4096 + 512);
  cr_assert_eq(jd_live_entry_cap(16), 1024 + 512, "at least 1 KiB of frame");
  jd_live_push_begin_cap(p, "t1", 1, 600000, 0, JD_CLAIM_NONE, cap);
  char *big = json_of(cap + 1), *fits = json_of(cap);
  cr_assert_not(jd_live_push_event(p, "t1", big, cap + 1, false), "over the cap: not for the hub");
  cr_assert_eq(jd_live_push_dropped(p), 1);
  cr_assert(jd_live_push_event(p, "t1", fits, cap, false), "at the cap: kept");
  cr_assert(jd_live_push_event(p, "t1", big, cap + 1, true), "a bounded event is kept");
  cr_assert_not(jd_live_push_event(p, "nobody", "{}", 2, false), "no begin");
  jd_live_entries e = {0};
  wait_len(&e, "t1", 3, 5000);
  cr_assert_eq(e.v[1].len, cap);
  cr_assert_eq(e.v[2].len, cap + 1);
  jd_live_entries_free(&e);
  cr_assert_eq(jd_live_push_dropped(p), 1);
  free(big);
  free(fits);
  jd_live_push_stop(p);
  jd_config_clear(&cfg);
}

Test(live_push, a_new_attempt_starts_the_stream_over, .init = up, .fini = down) {
  jd_live_push *p = start(acl_url, 2000, 60000);
  jd_live_push_begin(p, "t1", 1, 600000);
  push_seq(p, "t1", 1, 5);
  jd_live_entries e = {0};
  wait_len(&e, "t1", 6, 5000);
  jd_live_entries_free(&e);
  jd_live_push_begin(p, "t1", 2, 600000);
  push_seq(p, "t1", 1, 2);
  jd_live_push_end(p, "t1");
  int64_t until = jd_mono_ms() + 5000;
  do {
    jd_live_entries_free(&e);
    usleep(20000);
    wait_len(&e, "t1", 3, 5000);
  } while (!strstr(e.v[0].json, "\"attempt\":2") && jd_mono_ms() < until);
  cr_assert_str_eq(e.v[0].json, "{\"event\":\"live.begin\",\"task_id\":\"t1\",\"attempt\":2}");
  cr_assert_eq(seq_of(&e.v[1]), 1);
  jd_live_entries_free(&e);
  jd_live_push_stop(p);
  jd_config_clear(&cfg);
}

Test(live_push, stop_flushes_and_gives_up_after_two_seconds, .init = up, .fini = down) {
  jd_live_push *p = start(acl_url, 2000, 60000);
  jd_live_push_begin(p, "t1", 1, 600000);
  push_seq(p, "t1", 1, 1000);
  jd_live_push_end(p, "t1");
  jd_live_push_stop(p);
  cr_assert_eq(cmd_int("XLEN %s", "judger:live:t1"), 1001);
  long long ttl = cmd_int("PTTL %s", "judger:live:t1");
  cr_assert(ttl > 0 && ttl <= 60000, "the end's TTL is written before the stop (%lld)", ttl);
  /* Redis away: the stop waits at most about 2 s and counts what it lost. */
  p = start(acl_url, 2000, 60000);
  t_redis_kill(srv);
  jd_live_push_begin(p, "t2", 1, 600000);
  push_seq(p, "t2", 1, 10);
  int64_t t0 = jd_mono_ms();
  jd_live_push_stop(p);
  int64_t took = jd_mono_ms() - t0;
  cr_assert(took < 4500, "stop took %lld ms", (long long)took);
  jd_config_clear(&cfg);
  /* NULL-safe. */
  jd_live_push_stop(NULL);
  cr_assert_eq(jd_live_push_dropped(NULL), 0);
}

Test(live_push, maxlen_from_the_settings_and_the_frame_size) {
  jd_config c;
  cr_assert_eq(jd_config_defaults(&c), 0);
  c.live_entries = 2000;
  c.live_max_bytes = 8 << 20;
  cr_assert_eq(jd_live_maxlen(&c, 8192), 771); /* 8 MiB / 10880: 5/4 of (8192 + 512) */
  cr_assert_eq(jd_live_maxlen(&c, 100), 2000);
  cr_assert_eq(jd_live_maxlen(&c, 1 << 20), 16);
  c.live_entries = 20;
  cr_assert_eq(jd_live_maxlen(&c, 8192), 20);
  jd_config_clear(&c);
}

Test(live_push, a_late_attempt_is_fenced_by_the_next_runs_claim, .init = up, .fini = down) {
  jd_live_push *p = start(acl_url, 2000, 60000);
  jd_live_push_begin_max(p, "t1", 1, 600000, 0, 5);
  push_seq(p, "t1", 1, 3);
  jd_live_entries e = {0};
  wait_len(&e, "t1", 4, 5000);
  jd_live_entries_free(&e);
  /* Another host's attempt 2 took the claim and started the stream over. */
  jd_redis *r = NULL;
  cr_assert_eq(jd_redis_new(&r, srv->url, NULL), 0);
  redisReply *rep = NULL;
  cr_assert_eq(jd_redis_command(&rep, r, "SET judger:claim:t1 6"), 0);
  freeReplyObject(rep);
  cr_assert_eq(jd_redis_command(&rep, r, "DEL judger:live:t1"), 0);
  freeReplyObject(rep);
  jd_redis_free(r);
  push_seq(p, "t1", 4, 5);
  int64_t until = jd_mono_ms() + 5000;
  while (jd_live_push_dropped(p) < 5 && jd_mono_ms() < until)
    usleep(10000);
  cr_assert_eq(jd_live_push_dropped(p), 5);
  push_seq(p, "t1", 9, 2); /* dropped at once: the task is fenced */
  cr_assert_eq(jd_live_push_dropped(p), 7);
  jd_live_push_end(p, "t1");
  jd_live_push_stop(p);
  cr_assert_eq(cmd_int("EXISTS %s", "judger:live:t1"), 0, "nothing of attempt 1 written");
  jd_config_clear(&cfg);
}
