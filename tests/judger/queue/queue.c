// test-labels: redis
/* judger/queue.c against a real redis-server: priorities, pending entries,
 * leases and claims, attempts, dead letters, results written once. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/clock.h"
#include "common/util.h"
#include "queue/queue.h"
#include "redis_server.h"
#include "support.h"

static t_redis *srv;
/* Every queue test runs as the least-privileged ACL user of
 * docs/deployment.md (T_REDIS_ACL_RULES: the "judger:" keys and the
 * commands the queue sends, nothing else), so a command the queue starts
 * to send without the docs' rules saying so fails here. */
static char acl_url[128];

static void up(void) {
  srv = t_redis_start(false, false);
  t_redis_acl_user(srv, "judger-q", "q-s3cret");
  snprintf(acl_url, sizeof acl_url, "redis://judger-q:q-s3cret@127.0.0.1:%d/0", srv->port);
}
static void down(void) { t_redis_stop(srv); }

static jd_queue *open_q(const char *consumer, int64_t lease_ms) {
  jd_queue *q = NULL;
  jd_queue_opts o = {.redis_url = acl_url, .consumer = consumer, .lease_ms = lease_ms};
  cr_assert_eq(jd_queue_new(&q, &o), 0);
  cr_assert_eq(jd_queue_setup(q), 0, "%s", jd_queue_error(q));
  return q;
}

static void submit(jd_queue *q, jd_priority p, const char *id) {
  char json[256];
  snprintf(json, sizeof json, "{\"id\":\"%s\",\"type\":\"match\",\"match\":{}}", id);
  char *eid = NULL;
  cr_assert_eq(jd_queue_submit(&eid, q, p, id, json), 0, "%s", jd_queue_error(q));
  cr_assert(eid && strchr(eid, '-'));
  free(eid);
}

static long long cmd_int(jd_queue *q, const char *fmt, const char *arg) {
  redisReply *rep = NULL;
  cr_assert_eq(jd_redis_command(&rep, jd_queue_redis(q), fmt, arg), 0);
  long long n = -1;
  cr_assert_eq(jd_reply_int(rep, &n), 0);
  freeReplyObject(rep);
  return n;
}

static char *hget(jd_queue *q, const char *key, const char *field) {
  redisReply *rep = NULL;
  cr_assert_eq(jd_redis_command(&rep, jd_queue_redis(q), "HGET %s %s", key, field), 0);
  char *s = jd_reply_str(rep) ? strdup(rep->str) : NULL;
  freeReplyObject(rep);
  return s;
}

Test(queue, setup_is_idempotent, .init = up, .fini = down) {
  jd_queue *q = open_q("h1", 1000);
  cr_assert_eq(jd_queue_setup(q), 0);
  cr_assert_eq(cmd_int(q, "XLEN %s", "judger:q:build"), 0);
  jd_queue_free(q);
}

Test(queue, new_entries_come_once_and_in_stream_order, .init = up, .fini = down) {
  jd_queue *q = open_q("h1", 1000);
  submit(q, JD_PRIO_AUTO, "a1");
  submit(q, JD_PRIO_AUTO, "a2");
  submit(q, JD_PRIO_BUILD, "b1");
  jd_entry_list l = {0};
  cr_assert_eq(jd_queue_read_new(&l, q, JD_PRIO_BUILD, 5), 0);
  cr_assert_eq(l.count, 1);
  cr_assert_eq(l.items[0].prio, JD_PRIO_BUILD);
  cr_assert(strstr(l.items[0].task_json, "\"b1\""));
  cr_assert_eq(jd_queue_read_new(&l, q, JD_PRIO_AUTO, 1), 0);
  cr_assert_eq(jd_queue_read_new(&l, q, JD_PRIO_AUTO, 5), 0);
  cr_assert_eq(l.count, 3);
  cr_assert(strstr(l.items[1].task_json, "\"a1\""));
  cr_assert(strstr(l.items[2].task_json, "\"a2\""));
  /* Nothing new: a second consumer gets nothing either. */
  jd_queue *q2 = open_q("h2", 1000);
  jd_entry_list l2 = {0};
  for (int p = 0; p < JD_PRIO_COUNT; p++)
    cr_assert_eq(jd_queue_read_new(&l2, q2, (jd_priority)p, 5), 0);
  cr_assert_eq(l2.count, 0);
  /* Status: waiting 0, pending counted per host. */
  char *st = NULL;
  cr_assert_eq(jd_queue_status_json(&st, q, 10), 0);
  json_object *o = json_tokener_parse(st);
  json_object *v;
  cr_assert(json_object_object_get_ex(o, "pending_per_host", &v));
  cr_assert(json_object_object_get_ex(v, "h1", &v));
  cr_assert(json_object_object_get_ex(v, "auto", &v));
  cr_assert_eq(json_object_get_int(v), 2);
  json_object_put(o);
  free(st);
  jd_entry_list_clear(&l);
  jd_entry_list_clear(&l2);
  jd_queue_free(q2);
  jd_queue_free(q);
}

Test(queue, blocking_read_wakes_on_an_entry, .init = up, .fini = down) {
  jd_queue *q = open_q("h1", 1000);
  jd_entry_list l = {0};
  int64_t t0 = jd_unix_ms();
  cr_assert_eq(jd_queue_read_block(&l, q, 1, 300), 0);
  cr_assert_eq(l.count, 0);
  cr_assert(jd_unix_ms() - t0 >= 250, "BLOCK must block");
  submit(q, JD_PRIO_MATCH, "m1");
  cr_assert_eq(jd_queue_read_block(&l, q, 1, 300), 0);
  cr_assert_eq(l.count, 1);
  cr_assert_eq(l.items[0].prio, JD_PRIO_MATCH);
  jd_entry_list_clear(&l);
  jd_queue_free(q);
}

Test(queue, own_pending_entries_are_read_back_first, .init = up, .fini = down) {
  jd_queue *q = open_q("h1", 60000);
  for (int i = 0; i < 5; i++) {
    char id[16];
    snprintf(id, sizeof id, "t%d", i);
    submit(q, JD_PRIO_MATCH, id);
  }
  jd_entry_list l = {0};
  cr_assert_eq(jd_queue_read_new(&l, q, JD_PRIO_MATCH, 5), 0);
  cr_assert_eq(l.count, 5);
  jd_entry_list_clear(&l);
  jd_queue_ack(q, JD_PRIO_MATCH, "0-1"); /* unknown id: harmless */
  /* "Restart": a new handle with the same consumer name pages its history. */
  jd_queue_free(q);
  q = open_q("h1", 60000);
  char after[48] = "0";
  cr_assert_eq(jd_queue_read_own(&l, q, JD_PRIO_MATCH, after, 2), 0);
  cr_assert_eq(jd_queue_read_own(&l, q, JD_PRIO_MATCH, after, 2), 0);
  cr_assert_eq(jd_queue_read_own(&l, q, JD_PRIO_MATCH, after, 2), 0);
  cr_assert_eq(jd_queue_read_own(&l, q, JD_PRIO_MATCH, after, 2), 0);
  cr_assert_eq(l.count, 5);
  cr_assert(strstr(l.items[0].task_json, "\"t0\""));
  cr_assert(strstr(l.items[4].task_json, "\"t4\""));
  /* An entry deleted from the stream while pending comes back marked. */
  cr_assert_eq(
      jd_redis_command(NULL, jd_queue_redis(q), "XDEL %s %s", "judger:q:match", l.items[0].id), 0);
  jd_entry_list l2 = {0};
  char after2[48] = "0";
  cr_assert_eq(jd_queue_read_own(&l2, q, JD_PRIO_MATCH, after2, 10), 0);
  cr_assert_eq(l2.count, 5);
  cr_assert(l2.items[0].deleted);
  cr_assert_null(l2.items[0].task_json);
  jd_entry_list_clear(&l);
  jd_entry_list_clear(&l2);
  jd_queue_free(q);
}

Test(queue, leases_renew_and_expire, .init = up, .fini = down) {
  jd_queue *a = open_q("ha", 400), *b = open_q("hb", 400);
  submit(a, JD_PRIO_BUILD, "t1");
  jd_entry_list la = {0}, lb = {0};
  cr_assert_eq(jd_queue_read_new(&la, a, JD_PRIO_BUILD, 1), 0);
  cr_assert_eq(la.count, 1);
  const char *ids[] = {la.items[0].id};
  jd_priority prios[] = {JD_PRIO_BUILD};
  bool ours = false;
  /* Renewed every 150 ms, the entry is never claimable. */
  for (int i = 0; i < 6; i++) {
    usleep(150000);
    cr_assert_eq(jd_queue_renew(&ours, a, prios, ids, 1), 0, "%s", jd_queue_error(a));
    cr_assert(ours);
    cr_assert_eq(jd_queue_autoclaim(&lb, b, JD_PRIO_BUILD, 5), 0);
    cr_assert_eq(lb.count, 0, "a renewed lease was claimed");
  }
  /* Not renewed: claimed after the lease, and a's renewal learns it. */
  usleep(500000);
  cr_assert_eq(jd_queue_autoclaim(&lb, b, JD_PRIO_BUILD, 5), 0);
  cr_assert_eq(lb.count, 1);
  cr_assert_str_eq(lb.items[0].id, la.items[0].id);
  cr_assert(strstr(lb.items[0].task_json, "\"t1\""));
  cr_assert_eq(jd_queue_renew(&ours, a, prios, ids, 1), 0);
  cr_assert(!ours, "the old owner must see it lost the lease");
  jd_entry_list_clear(&la);
  jd_entry_list_clear(&lb);
  jd_queue_free(a);
  jd_queue_free(b);
}

Test(queue, release_makes_an_entry_claimable_at_once, .init = up, .fini = down) {
  jd_queue *a = open_q("ha", 60000), *b = open_q("hb", 60000);
  submit(a, JD_PRIO_MATCH, "t1");
  jd_entry_list la = {0}, lb = {0};
  cr_assert_eq(jd_queue_read_new(&la, a, JD_PRIO_MATCH, 1), 0);
  cr_assert_eq(jd_queue_autoclaim(&lb, b, JD_PRIO_MATCH, 5), 0);
  cr_assert_eq(lb.count, 0);
  cr_assert_eq(jd_queue_release(a, JD_PRIO_MATCH, la.items[0].id), 0, "%s", jd_queue_error(a));
  cr_assert_eq(jd_queue_autoclaim(&lb, b, JD_PRIO_MATCH, 5), 0);
  cr_assert_eq(lb.count, 1);
  jd_entry_list_clear(&la);
  jd_entry_list_clear(&lb);
  jd_queue_free(a);
  jd_queue_free(b);
}

Test(queue, attempts_count_and_drain_gives_one_back, .init = up, .fini = down) {
  jd_queue *q = open_q("h1", 60000);
  submit(q, JD_PRIO_MATCH, "t1");
  jd_entry_list l = {0};
  cr_assert_eq(jd_queue_read_new(&l, q, JD_PRIO_MATCH, 1), 0);
  jd_begin b;
  cr_assert_eq(jd_queue_begin(&b, q, JD_PRIO_MATCH, l.items[0].id, "t1", 3), 0);
  cr_assert_eq(b.outcome, JD_BEGIN_RUN);
  cr_assert_eq(b.attempt, 1);
  char *state = hget(q, "judger:task:t1", "state");
  cr_assert_str_eq(state, "running");
  free(state);
  cr_assert_eq(jd_queue_progress(q, "t1", b.claim, "{\"turn\":3,\"turns\":10}"), 0);
  char *prog = hget(q, "judger:task:t1", "progress");
  cr_assert_str_eq(prog, "{\"turn\":3,\"turns\":10}");
  free(prog);
  cr_assert_eq(jd_queue_drained(q, JD_PRIO_MATCH, l.items[0].id, "t1", b.claim), 0, "%s",
               jd_queue_error(q));
  state = hget(q, "judger:task:t1", "state");
  cr_assert_str_eq(state, "queued");
  free(state);
  char *att = hget(q, "judger:task:t1", "attempts");
  cr_assert_str_eq(att, "0");
  free(att);
  cr_assert_eq(jd_queue_begin(&b, q, JD_PRIO_MATCH, l.items[0].id, "t1", 3), 0);
  cr_assert_eq(b.attempt, 1, "a drained attempt is not counted");
  /* A system fault gives the claim up: the next run is attempt 2. */
  bool held = false;
  cr_assert_eq(jd_queue_retry_later(&held, q, "t1", b.claim, "engine gone"), 0);
  cr_assert(held);
  cr_assert_eq(jd_queue_begin(&b, q, JD_PRIO_MATCH, l.items[0].id, "t1", 2), 0);
  cr_assert_eq(b.outcome, JD_BEGIN_RUN);
  cr_assert_eq(b.attempt, 2);
  cr_assert_eq(jd_queue_retry_later(&held, q, "t1", b.claim, "engine gone"), 0);
  /* max_attempts runs made: no third run, and the count stays 2. */
  cr_assert_eq(jd_queue_begin(&b, q, JD_PRIO_MATCH, l.items[0].id, "t1", 2), 0);
  cr_assert_eq(b.outcome, JD_BEGIN_EXHAUSTED);
  cr_assert_eq(b.attempt, 2);
  att = hget(q, "judger:task:t1", "attempts");
  cr_assert_str_eq(att, "2", "attempts count real runs only");
  free(att);
  jd_entry_list_clear(&l);
  jd_queue_free(q);
}

Test(queue, one_claim_per_task_fences_the_old_run, .init = up, .fini = down) {
  jd_queue *a = open_q("ha", 300), *b = open_q("hb", 300);
  submit(a, JD_PRIO_MATCH, "t1");
  submit(a, JD_PRIO_MATCH, "t1"); /* a second entry of the same task */
  jd_entry_list l = {0};
  cr_assert_eq(jd_queue_read_new(&l, a, JD_PRIO_MATCH, 2), 0);
  cr_assert_eq(l.count, 2);
  jd_begin ba, bb;
  cr_assert_eq(jd_queue_begin(&ba, a, JD_PRIO_MATCH, l.items[0].id, "t1", 3), 0);
  cr_assert_eq(ba.outcome, JD_BEGIN_RUN);
  /* While a holds the claim: the other entry is a duplicate, the same
   * entry (taken over) is busy; neither counts an attempt. */
  cr_assert_eq(jd_queue_begin(&bb, b, JD_PRIO_MATCH, l.items[1].id, "t1", 3), 0);
  cr_assert_eq(bb.outcome, JD_BEGIN_DUPLICATE, "%s", jd_begin_outcome_name(bb.outcome));
  cr_assert_eq(jd_queue_begin(&bb, b, JD_PRIO_MATCH, l.items[0].id, "t1", 3), 0);
  cr_assert_eq(bb.outcome, JD_BEGIN_BUSY, "%s", jd_begin_outcome_name(bb.outcome));
  char *att = hget(a, "judger:task:t1", "attempts");
  cr_assert_str_eq(att, "1");
  free(att);
  /* Renewal keeps it; a frozen a stops renewing and b takes over. */
  bool ours = false;
  const char *ids[] = {"t1"};
  cr_assert_eq(jd_queue_renew_claims(&ours, NULL, a, ids, &ba.claim, 1), 0);
  cr_assert(ours);
  int64_t t0 = jd_mono_ms();
  do {
    cr_assert_eq(jd_queue_begin(&bb, b, JD_PRIO_MATCH, l.items[0].id, "t1", 3), 0);
    if (bb.outcome != JD_BEGIN_RUN)
      usleep(20000);
  } while (bb.outcome != JD_BEGIN_RUN && jd_mono_ms() - t0 < 3000);
  cr_assert_eq(bb.outcome, JD_BEGIN_RUN);
  cr_assert_eq(bb.attempt, 2);
  cr_assert_neq(bb.claim, ba.claim);
  /* a wakes up: every write of its run is refused. */
  cr_assert_eq(jd_queue_renew_claims(&ours, NULL, a, ids, &ba.claim, 1), 0);
  cr_assert(!ours, "the old run must not get its claim back");
  cr_assert_eq(jd_queue_progress(a, "t1", ba.claim, "{\"stale\":true}"), 0);
  bool held = true;
  cr_assert_eq(jd_queue_retry_later(&held, a, "t1", ba.claim, "old run"), 0);
  cr_assert(!held);
  jd_result_rec stale = {"t1", 1, ba.claim, JD_TASK_STATUS_FAILED, "stale", "{\"stale\":true}"};
  jd_store_outcome out = JD_STORE_WRITTEN;
  cr_assert_eq(jd_queue_store_result(&out, a, JD_PRIO_MATCH, l.items[0].id, &stale), 0);
  cr_assert_eq(out, JD_STORE_REFUSED);
  char *state = hget(a, "judger:task:t1", "state"), *host = hget(a, "judger:task:t1", "host"),
       *prog = hget(a, "judger:task:t1", "progress");
  cr_assert_str_eq(state, "running");
  cr_assert_str_eq(host, "hb");
  cr_assert_str_eq(prog, "", "the old run's progress was refused");
  free(state);
  free(host);
  free(prog);
  cr_assert_eq(cmd_int(a, "XLEN %s", "judger:q:match"), 2, "a refused store acks nothing");
  /* The holder's result is stored and its claim released. */
  jd_result_rec rec = {"t1", 2, bb.claim, JD_TASK_STATUS_FINISHED, "ok", "{\"ok\":true}"};
  cr_assert_eq(jd_queue_store_result(&out, b, JD_PRIO_MATCH, l.items[0].id, &rec), 0);
  cr_assert_eq(out, JD_STORE_WRITTEN);
  cr_assert_eq(cmd_int(a, "EXISTS %s", "judger:claim:t1"), 0);
  jd_entry_list_clear(&l);
  jd_queue_free(a);
  jd_queue_free(b);
}

Test(queue, entries_over_the_size_cap_are_not_copied, .init = up, .fini = down) {
  jd_queue *q = NULL;
  jd_queue_opts o = {.redis_url = acl_url, .consumer = "h1", .entry_max_bytes = 2048};
  cr_assert_eq(jd_queue_new(&q, &o), 0);
  cr_assert_eq(jd_queue_setup(q), 0);
  char *big = malloc(4097);
  memset(big, 'x', 4096);
  big[4096] = '\0';
  cr_assert_eq(jd_redis_command(NULL, jd_queue_redis(q), "XADD judger:q:auto * task %s", big), 0);
  free(big);
  jd_entry_list l = {0};
  cr_assert_eq(jd_queue_read_new(&l, q, JD_PRIO_AUTO, 1), 0);
  cr_assert_eq(l.count, 1);
  cr_assert(l.items[0].too_big);
  cr_assert_null(l.items[0].task_json);
  cr_assert_eq(l.items[0].task_len, 4096);
  jd_entry_list_clear(&l);
  jd_queue_free(q);
}

Test(queue, result_is_written_once, .init = up, .fini = down) {
  jd_queue *a = open_q("ha", 60000);
  submit(a, JD_PRIO_MATCH, "t1");
  submit(a, JD_PRIO_MATCH, "t1"); /* the same task twice */
  jd_entry_list l = {0};
  cr_assert_eq(jd_queue_read_new(&l, a, JD_PRIO_MATCH, 2), 0);
  cr_assert_eq(l.count, 2);
  jd_begin b;
  cr_assert_eq(jd_queue_begin(&b, a, JD_PRIO_MATCH, l.items[0].id, "t1", 3), 0);
  jd_result_rec rec = {
      "t1", b.attempt, b.claim, JD_TASK_STATUS_FINISHED, "scores 1 0", "{\"status\":\"finished\"}"};
  jd_store_outcome out = JD_STORE_REFUSED;
  cr_assert_eq(jd_queue_store_result(&out, a, JD_PRIO_MATCH, l.items[0].id, &rec), 0, "%s",
               jd_queue_error(a));
  cr_assert_eq(out, JD_STORE_WRITTEN);
  /* The duplicate is seen before running, and a late store is refused. */
  cr_assert_eq(jd_queue_begin(&b, a, JD_PRIO_MATCH, l.items[1].id, "t1", 3), 0);
  cr_assert_eq(b.outcome, JD_BEGIN_DONE);
  jd_result_rec late = {"t1", 2, 99, JD_TASK_STATUS_FINISHED, "other", "{\"late\":true}"};
  cr_assert_eq(jd_queue_store_result(&out, a, JD_PRIO_MATCH, l.items[1].id, &late), 0);
  cr_assert_eq(out, JD_STORE_ALREADY);
  char *res = NULL;
  cr_assert_eq(jd_queue_get_result(&res, a, "t1"), 0);
  cr_assert_str_eq(res, "{\"status\":\"finished\"}");
  free(res);
  cr_assert_eq(cmd_int(a, "XLEN %s", "judger:results"), 1);
  /* Both entries acked and deleted. */
  cr_assert_eq(cmd_int(a, "XLEN %s", "judger:q:match"), 0);
  char *state = hget(a, "judger:task:t1", "state");
  cr_assert_str_eq(state, "finished");
  free(state);
  jd_entry_list_clear(&l);
  jd_queue_free(a);
}

Test(queue, dead_letters_keep_the_reason_and_ack, .init = up, .fini = down) {
  jd_queue *q = open_q("h1", 60000);
  cr_assert_eq(
      jd_redis_command(NULL, jd_queue_redis(q), "XADD %s * task %s", "judger:q:auto", "{not json"),
      0);
  jd_entry_list l = {0};
  cr_assert_eq(jd_queue_read_new(&l, q, JD_PRIO_AUTO, 1), 0);
  cr_assert_eq(l.count, 1);
  cr_assert_eq(jd_queue_dead(NULL, q, &l.items[0], NULL, JD_CLAIM_NONE, "task: not JSON", 0), 0,
               "%s", jd_queue_error(q));
  cr_assert_eq(cmd_int(q, "XLEN %s", "judger:dead"), 1);
  cr_assert_eq(cmd_int(q, "XLEN %s", "judger:q:auto"), 0);
  char *st = NULL;
  cr_assert_eq(jd_queue_status_json(&st, q, 10), 0);
  cr_assert(strstr(st, "task: not JSON"), "%s", st);
  free(st);
  jd_entry_list_clear(&l);
  jd_queue_free(q);
}

Test(queue, host_registry_expires, .init = up, .fini = down) {
  jd_queue *a = open_q("ha", 1000), *b = open_q("hb", 1000);
  cr_assert_eq(jd_queue_heartbeat(a, "{\"host\":\"ha\",\"tasks\":[{\"task_id\":\"x\"}]}", 300), 0);
  cr_assert_eq(jd_queue_heartbeat(b, "{\"host\":\"hb\",\"tasks\":[]}", 60000), 0);
  char *st = NULL;
  cr_assert_eq(jd_queue_status_json(&st, b, 10), 0);
  cr_assert(strstr(st, "\"ha\"") && strstr(st, "\"x\""), "%s", st);
  free(st);
  char **dead = NULL;
  cr_assert_eq(jd_queue_dead_hosts(&dead, b), 0);
  cr_assert_null(dead[0]);
  free(dead);
  usleep(400000);
  cr_assert_eq(jd_queue_dead_hosts(&dead, b), 0);
  cr_assert_str_eq(dead[0], "ha");
  cr_assert_null(dead[1]);
  free(dead[0]);
  free(dead);
  cr_assert_eq(jd_queue_host_gone(b), 0);
  jd_queue_free(a);
  jd_queue_free(b);
}

Test(queue, redis_without_its_data_gets_groups_back, .init = up, .fini = down) {
  jd_queue *q = open_q("h1", 1000);
  /* The queue's user may not flush: the operator's does. */
  cr_assert_eq(jd_redis_command(NULL, jd_queue_redis(q), "FLUSHALL"), -1);
  cr_assert_eq(jd_queue_last(q), JD_REDIS_REPLY);
  jd_redis *admin = NULL;
  cr_assert_eq(jd_redis_new(&admin, srv->url, NULL), 0);
  cr_assert_eq(jd_redis_command(NULL, admin, "FLUSHALL"), 0, "%s", jd_redis_error(admin));
  jd_redis_free(admin);
  jd_entry_list l = {0};
  cr_assert_eq(jd_queue_read_block(&l, q, 1, 50), 0, "%s", jd_queue_error(q));
  cr_assert_eq(jd_queue_read_new(&l, q, JD_PRIO_BUILD, 1), 0);
  cr_assert_eq(l.count, 0);
  jd_queue_free(q);
}

/* A host running many tasks renews all their claims: batches must fit the
 * script call's arguments (a batch of 16 once failed from 15 tasks up, and
 * every claim of the host then expired). */
Test(queue, forty_claims_are_renewed_in_one_call, .init = up, .fini = down) {
  enum { N = 40 };
  jd_queue *a = open_q("ha", 300);
  char ids_buf[N][16];
  const char *ids[N];
  long long claims[N];
  bool ours[N];
  for (int i = 0; i < N; i++) {
    snprintf(ids_buf[i], sizeof ids_buf[i], "m%d", i);
    ids[i] = ids_buf[i];
    submit(a, JD_PRIO_MATCH, ids[i]);
  }
  jd_entry_list l = {0};
  cr_assert_eq(jd_queue_read_new(&l, a, JD_PRIO_MATCH, N), 0);
  cr_assert_eq(l.count, N);
  for (int i = 0; i < N; i++) {
    jd_begin b;
    cr_assert_eq(jd_queue_begin(&b, a, JD_PRIO_MATCH, l.items[i].id, ids[i], 3), 0);
    cr_assert_eq(b.outcome, JD_BEGIN_RUN);
    claims[i] = b.claim;
    ours[i] = false;
  }
  cr_assert_eq(jd_queue_renew_claims(ours, NULL, a, ids, claims, N), 0);
  for (int i = 0; i < N; i++)
    cr_assert(ours[i], "claim %d not renewed", i);
  jd_entry_list_clear(&l);
  jd_queue_free(a);
}

/* The ACL user of docs/deployment.md touches the judger's keys only, and a
 * wrong password is refused at connect with Redis's reason (a system
 * fault for the daemon: ECONN, retried, the reason logged). */
Test(queue, the_acl_user_is_held_to_its_prefix_and_a_wrong_password_is_refused, .init = up,
     .fini = down) {
  jd_queue *q = open_q("h1", 1000);
  jd_redis *r = jd_queue_redis(q);
  cr_assert_eq(jd_redis_command(NULL, r, "SET %s %s", "judger:ok", "1"), 0, "%s",
               jd_redis_error(r));
  cr_assert_eq(jd_redis_command(NULL, r, "SET %s %s", "other:key", "1"), -1);
  cr_assert_eq(jd_redis_last(r), JD_REDIS_REPLY);
  cr_assert(strstr(jd_redis_error(r), "NOPERM"), "%s", jd_redis_error(r));
  cr_assert_eq(jd_redis_command(NULL, r, "CONFIG GET %s", "dir"), -1);
  cr_assert_eq(jd_redis_last(r), JD_REDIS_REPLY);
  cr_assert_eq(jd_redis_command(NULL, r, "KEYS %s", "*"), -1);
  cr_assert_eq(jd_redis_last(r), JD_REDIS_REPLY);
  jd_queue_free(q);

  char bad[128];
  snprintf(bad, sizeof bad, "redis://judger-q:wrong@127.0.0.1:%d/0", srv->port);
  jd_queue *w = NULL;
  jd_queue_opts o = {.redis_url = bad, .consumer = "h2"};
  cr_assert_eq(jd_queue_new(&w, &o), 0);
  cr_assert_eq(jd_queue_setup(w), -1);
  cr_assert(jd_queue_lost(w));
  cr_assert(strstr(jd_queue_error(w), "WRONGPASS"), "%s", jd_queue_error(w));
  /* The password never shows in what the judger prints. */
  cr_assert(!strstr(jd_queue_error(w), "wrong@"), "%s", jd_queue_error(w));
  jd_queue_free(w);
}

Test(queue, peek_shows_the_next_undelivered_entry_and_delivers_nothing, .init = up, .fini = down) {
  jd_queue *a = open_q("host-a", 30000), *b = open_q("host-b", 30000);
  jd_entry e;
  bool found = true;
  cr_assert_eq(jd_queue_peek_next(&e, &found, a), 0, "%s", jd_queue_error(a));
  cr_assert_not(found, "an empty queue");
  submit(a, JD_PRIO_AUTO, "t-auto");
  submit(a, JD_PRIO_MATCH, "t-m1");
  submit(a, JD_PRIO_MATCH, "t-m2");
  /* The reader's order: the highest priority first, first come within. */
  cr_assert_eq(jd_queue_peek_next(&e, &found, a), 0, "%s", jd_queue_error(a));
  cr_assert(found);
  cr_assert_eq(e.prio, JD_PRIO_MATCH);
  cr_assert(e.task_json && strstr(e.task_json, "t-m1"));
  char m1[48];
  snprintf(m1, sizeof m1, "%s", e.id);
  free(e.task_json);
  /* Peeking twice delivers nothing: another consumer reads that entry. */
  cr_assert_eq(jd_queue_peek_next(&e, &found, a), 0);
  cr_assert_str_eq(e.id, m1);
  free(e.task_json);
  bool here = true;
  cr_assert_eq(jd_queue_delivered_here(&here, a, JD_PRIO_MATCH, m1), 0);
  cr_assert_not(here);
  jd_entry_list l = {0};
  cr_assert_eq(jd_queue_read_new(&l, b, JD_PRIO_MATCH, 1), 0);
  cr_assert_eq(l.count, 1);
  cr_assert_str_eq(l.items[0].id, m1);
  jd_entry_list_clear(&l);
  cr_assert_eq(jd_queue_delivered_here(&here, a, JD_PRIO_MATCH, m1), 0);
  cr_assert_not(here, "delivered to host-b, not to host-a");
  cr_assert_eq(jd_queue_delivered_here(&here, b, JD_PRIO_MATCH, m1), 0);
  cr_assert(here);
  /* The next one now; a deleted entry is skipped. */
  cr_assert_eq(jd_queue_peek_next(&e, &found, a), 0);
  cr_assert(found && e.task_json && strstr(e.task_json, "t-m2"));
  cr_assert_eq(jd_redis_command(NULL, jd_queue_redis(b), "XDEL %s %s", "judger:q:match", e.id), 0);
  free(e.task_json);
  cr_assert_eq(jd_queue_peek_next(&e, &found, a), 0);
  cr_assert(found && e.prio == JD_PRIO_AUTO && strstr(e.task_json, "t-auto"));
  free(e.task_json);
  jd_queue_free(a);
  jd_queue_free(b);
}
