// test-labels: redis
/* queue/taskset.c against a real redis-server: submit all or nothing,
 * members counted once whatever their end, "after" dependencies, cancel,
 * the view (counts, slots, ETA), the results in order; and what a member
 * costs in Redis commands and bytes over a plain task. The daemon's side is
 * played by calling the queue as it does (read, begin, store, dead). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <json-c/json.h>

#include "common/clock.h"
#include "queue/queue.h"
#include "queue/taskset.h"
#include "redis_server.h"
#include "support.h"

static t_redis *srv;
static char acl_url[128];
/* What the taskset scripts send beside T_REDIS_ACL_RULES (the member
 * list, the tasksets index, the results in chunks). */
#define TASKSET_ACL_EXTRA "+rpush +lrange +zadd +mget"

static redisReply *admin(const char *fmt, const char *a, const char *b) {
  redisContext *c = redisConnect("127.0.0.1", srv->port);
  cr_assert(c && !c->err);
  redisReply *rep = redisCommand(c, fmt, a, b);
  cr_assert(rep && rep->type != REDIS_REPLY_ERROR, "%s: %s", fmt, rep ? rep->str : c->errstr);
  redisFree(c);
  return rep;
}

static void up(void) {
  srv = t_redis_start(false, false);
  t_redis_acl_user(srv, "judger-q", "q-s3cret");
  char rules[] = TASKSET_ACL_EXTRA " +llen +sismember"; /* the last two: this test's reads */
  for (char *save = NULL, *w = strtok_r(rules, " ", &save); w; w = strtok_r(NULL, " ", &save))
    freeReplyObject(admin("ACL SETUSER %s %s", "judger-q", w));
  snprintf(acl_url, sizeof acl_url, "redis://judger-q:q-s3cret@127.0.0.1:%d/0", srv->port);
}
static void down(void) { t_redis_stop(srv); }

/* Each test its own prefix, under the ACL's "judger:". */
static char prefix[64];
static jd_queue *open_q(const char *consumer, const char *test) {
  snprintf(prefix, sizeof prefix, "judger:%s", test);
  jd_queue *q = NULL;
  jd_queue_opts o = {
      .redis_url = acl_url, .prefix = prefix, .consumer = consumer, .lease_ms = 5000};
  cr_assert_eq(jd_queue_new(&q, &o), 0);
  cr_assert_eq(jd_queue_setup(q), 0, "%s", jd_queue_error(q));
  return q;
}

static char *key(const char *fmt, const char *a) {
  static char k[8][320];
  static int i;
  char *out = k[i++ % 8], tail[200];
  snprintf(tail, sizeof tail, fmt, a);
  snprintf(out, 320, "%s:%s", prefix, tail);
  return out;
}

static long long rint_(jd_queue *q, const char *fmt, const char *a, const char *b) {
  redisReply *rep = NULL;
  cr_assert_eq(jd_redis_command(&rep, jd_queue_redis(q), fmt, a, b), 0, "%s", jd_queue_error(q));
  long long n = -1;
  cr_assert_eq(jd_reply_int(rep, &n), 0, "%s", fmt);
  freeReplyObject(rep);
  return n;
}

static char *hget(jd_queue *q, const char *k, const char *field) {
  redisReply *rep = NULL;
  cr_assert_eq(jd_redis_command(&rep, jd_queue_redis(q), "HGET %s %s", k, field), 0);
  char *s = strdup(jd_reply_str(rep) ? rep->str : "");
  freeReplyObject(rep);
  return s;
}

static void hget_is(jd_queue *q, const char *k, const char *field, const char *want) {
  char *s = hget(q, k, field);
  cr_assert_str_eq(s, want, "%s %s: %s, not %s", k, field, s, want);
  free(s);
}

/* A set of n members m<i>; after[i]: ids member i waits for, comma-joined
 * (NULL: none). */
#define MAXM 300
static int submit_set(bool *created, jd_queue *q, const char *id, size_t n,
                      const char *const *after) {
  static char ids[MAXM][32], json[MAXM][200], list[MAXM][8][32];
  static const char *pids[MAXM], *pjson[MAXM], *pclass[MAXM], *pafter[MAXM][8];
  static const char *const *ap[MAXM];
  static size_t na[MAXM];
  for (size_t i = 0; i < n; i++) {
    snprintf(ids[i], sizeof ids[i], "%s-m%zu", id, i);
    snprintf(json[i], sizeof json[i],
             "{\"id\":\"%s\",\"type\":\"match\",\"match\":{},\"taskset\":\"%s\"}", ids[i], id);
    pids[i] = ids[i];
    pjson[i] = json[i];
    pclass[i] = "c1";
    na[i] = 0;
    if (after && after[i]) {
      char tmp[256];
      snprintf(tmp, sizeof tmp, "%s", after[i]);
      for (char *save = NULL, *w = strtok_r(tmp, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        snprintf(list[i][na[i]], 32, "%s-%s", id, w);
        pafter[i][na[i]] = list[i][na[i]];
        na[i]++;
      }
    }
    ap[i] = pafter[i];
  }
  jd_taskset_sub s = {id, JD_PRIO_MATCH, true, n, pids, pjson, pclass, ap, na};
  return jd_queue_taskset_submit(created, q, &s);
}

/* The daemon's side: entries read so far, run by task id. */
static jd_entry_list got;
static void read_all(jd_queue *q) {
  cr_assert_eq(jd_queue_read_new(&got, q, JD_PRIO_MATCH, 1000), 0, "%s", jd_queue_error(q));
}
static jd_entry *entry_of(const char *tid) {
  char needle[64];
  snprintf(needle, sizeof needle, "\"id\":\"%s\"", tid);
  for (size_t i = 0; i < got.count; i++)
    if (got.items[i].task_json && strstr(got.items[i].task_json, needle))
      return &got.items[i];
  return NULL;
}
static jd_begin begin(jd_queue *q, const char *tid) {
  jd_entry *e = entry_of(tid);
  cr_assert(e, "%s was not delivered", tid);
  jd_begin b;
  cr_assert_eq(jd_queue_begin(&b, q, JD_PRIO_MATCH, e->id, tid, 3), 0, "%s", jd_queue_error(q));
  return b;
}
static jd_store_outcome store(jd_queue *q, const char *tid, long long claim, jd_task_status st) {
  jd_result_rec rec = {tid, 1, claim, st, "sum", "{\"r\":1}"};
  jd_store_outcome out;
  cr_assert_eq(jd_queue_store_result(&out, q, JD_PRIO_MATCH, entry_of(tid)->id, &rec), 0, "%s",
               jd_queue_error(q));
  return out;
}
static void run(jd_queue *q, const char *tid, jd_task_status st) {
  read_all(q);
  jd_begin b = begin(q, tid);
  cr_assert_eq(b.outcome, JD_BEGIN_RUN, "%s: %s", tid, jd_begin_outcome_name(b.outcome));
  cr_assert_eq(store(q, tid, b.claim, st), JD_STORE_WRITTEN);
}

/* The results stream's lines for taskset id (field taskset_id). */
static int taskset_lines(jd_queue *q, const char *id) {
  redisReply *rep = NULL;
  cr_assert_eq(jd_redis_command(&rep, jd_queue_redis(q), "XRANGE %s - +", key("results", "")), 0);
  int n = 0;
  for (size_t i = 0; i < rep->elements; i++) {
    redisReply *f = rep->element[i]->element[1];
    for (size_t j = 0; j + 1 < f->elements; j += 2)
      if (!strcmp(f->element[j]->str, "taskset_id") && !strcmp(f->element[j + 1]->str, id))
        n++;
  }
  freeReplyObject(rep);
  return n;
}

static jd_taskset_view view(jd_queue *q, const char *id) {
  jd_taskset_view v;
  bool found = false;
  cr_assert_eq(jd_queue_taskset_view(&v, &found, q, id), 0, "%s", jd_queue_error(q));
  cr_assert(found);
  return v;
}

static void fini_got(void) { jd_entry_list_clear(&got); }

Test(taskset, submit_is_all_or_nothing, .init = up, .fini = down) {
  jd_queue *q = open_q("h1", "t1");
  bool created = false;
  cr_assert_eq(submit_set(&created, q, "s1", 3, NULL), 0, "%s", jd_queue_error(q));
  cr_assert(created);
  cr_assert_eq(rint_(q, "XLEN %s", key("q:match", ""), NULL), 3);
  hget_is(q, key("taskset:s1", ""), "state", "running");
  hget_is(q, key("taskset:s1", ""), "total", "3");
  hget_is(q, key("taskset:s1", ""), "standings", "1");
  hget_is(q, key("task:%s", "s1-m1"), "state", "queued");
  hget_is(q, key("task:%s", "s1-m1"), "taskset", "s1");
  hget_is(q, key("task:%s", "s1-m1"), "class", "c1");
  char *entry = hget(q, key("task:%s", "s1-m1"), "entry");
  cr_assert(strchr(entry, '-'), "the entry id goes into the status record");
  free(entry);
  cr_assert_eq(rint_(q, "LLEN %s", key("taskset:s1:tasks", ""), NULL), 3);
  /* The same id again: not created, nothing written. */
  cr_assert_eq(submit_set(&created, q, "s1", 5, NULL), 0);
  cr_assert(!created);
  cr_assert_eq(rint_(q, "XLEN %s", key("q:match", ""), NULL), 3);
  hget_is(q, key("taskset:s1", ""), "total", "3");
  /* A member that exists (here: s1-m0 of another set named so), or an
   * "after" naming no member: refused, nothing of the set is written. */
  const char *bad[] = {NULL, "nobody"};
  cr_assert_eq(submit_set(&created, q, "s2", 2, bad), -1);
  cr_assert(strstr(jd_queue_error(q), "not a member"), "%s", jd_queue_error(q));
  cr_assert_eq(rint_(q, "EXISTS %s", key("taskset:s2", ""), NULL), 0);
  cr_assert_eq(rint_(q, "EXISTS %s", key("task:%s", "s2-m0"), NULL), 0);
  cr_assert_eq(rint_(q, "XLEN %s", key("q:match", ""), NULL), 3);
  /* Ids become parts of keys: a bad one is refused before Redis. */
  const char *ids[] = {"ok", "x,y"}, *js[] = {"{}", "{}"};
  jd_taskset_sub sub = {"s3", JD_PRIO_MATCH, false, 2, ids, js, NULL, NULL, NULL};
  cr_assert_eq(jd_queue_taskset_submit(&created, q, &sub), -1);
  cr_assert_eq(jd_queue_last(q), JD_REDIS_INVAL);
  sub.id = "s1:tasks";
  ids[1] = "fine";
  cr_assert_eq(jd_queue_taskset_submit(&created, q, &sub), -1);
  jd_taskset_view v;
  bool found = true;
  cr_assert_eq(jd_queue_taskset_view(&v, &found, q, "../s1"), -1);
  int64_t removed, signalled;
  cr_assert_eq(jd_queue_taskset_cancel(&removed, &signalled, &found, q, "s1:held", "x"), -1);
  cr_assert_eq(rint_(q, "EXISTS %s", key("taskset:s3", ""), NULL), 0);
  jd_queue_free(q);
}

Test(taskset, members_count_once_and_the_set_ends_once, .init = up, .fini = down) {
  jd_queue *q = open_q("h1", "t2");
  bool created = false;
  cr_assert_eq(submit_set(&created, q, "s", 3, NULL), 0);
  read_all(q);
  /* m0 finished, stored twice (the second is 'already there'). */
  jd_begin b0 = begin(q, "s-m0");
  cr_assert_eq(store(q, "s-m0", b0.claim, JD_TASK_STATUS_FINISHED), JD_STORE_WRITTEN);
  cr_assert_eq(store(q, "s-m0", b0.claim, JD_TASK_STATUS_FINISHED), JD_STORE_ALREADY);
  hget_is(q, key("taskset:s", ""), "finished", "1");
  char *started = hget(q, key("taskset:s", ""), "started_ms");
  cr_assert_neq(strlen(started), 0, "the first begin sets started_ms");
  free(started);
  /* m1: a stale run (fenced) is refused; the live one counts. */
  jd_begin b1 = begin(q, "s-m1");
  cr_assert_eq(store(q, "s-m1", b1.claim + 1000, JD_TASK_STATUS_FAILED), JD_STORE_REFUSED);
  hget_is(q, key("taskset:s", ""), "failed", "0");
  cr_assert_eq(store(q, "s-m1", b1.claim, JD_TASK_STATUS_ERROR), JD_STORE_WRITTEN);
  hget_is(q, key("taskset:s", ""), "failed", "1");
  cr_assert_eq(taskset_lines(q, "s"), 0);
  /* m2 dead-lettered: counted failed; the set ends, once. */
  jd_begin b2 = begin(q, "s-m2");
  bool held = false;
  cr_assert_eq(jd_queue_dead(&held, q, entry_of("s-m2"), "s-m2", b2.claim, "gave up", 3), 0);
  cr_assert(held);
  hget_is(q, key("taskset:s", ""), "failed", "2");
  hget_is(q, key("taskset:s", ""), "state", "finished");
  cr_assert_eq(taskset_lines(q, "s"), 1);
  cr_assert_eq(rint_(q, "SISMEMBER %s %s", key("tasksets:unranked", ""), "s"), 1);
  cr_assert_eq(rint_(q, "SISMEMBER %s %s", key("tasksets:running", ""), "s"), 0);
  /* A late store of a dead member's other entry, a second dead letter:
   * nothing counts twice, the set does not end again. */
  jd_result_rec late = {"s-m2", 2, JD_CLAIM_NONE, JD_TASK_STATUS_FINISHED, "", "{}"};
  jd_store_outcome out;
  cr_assert_eq(jd_queue_store_result(&out, q, JD_PRIO_MATCH, NULL, &late), 0);
  cr_assert_eq(out, JD_STORE_REFUSED);
  cr_assert_eq(jd_queue_dead(&held, q, entry_of("s-m2"), "s-m2", JD_CLAIM_NONE, "again", 3), 0);
  cr_assert_eq(store(q, "s-m0", b0.claim, JD_TASK_STATUS_FINISHED), JD_STORE_ALREADY);
  hget_is(q, key("taskset:s", ""), "finished", "1");
  hget_is(q, key("taskset:s", ""), "failed", "2");
  cr_assert_eq(taskset_lines(q, "s"), 1);
  /* The class history: one finished run. */
  hget_is(q, key("class:c1", ""), "n", "1");
  jd_taskset_view v = view(q, "s");
  cr_assert_str_eq(v.state, "finished");
  cr_assert_eq(v.c.total, 3);
  cr_assert_eq(v.c.finished + v.c.failed + v.c.cancelled, 3);
  cr_assert_eq(v.eta_ms, 0);
  cr_assert_gt(v.finished_ms, 0);
  fini_got();
  jd_queue_free(q);
}

Test(taskset, after_waits_for_its_sources, .init = up, .fini = down) {
  jd_queue *q = open_q("h1", "t3");
  bool created = false;
  /* m0 boot; m1, m2 after m0; m3 after m1 and m2. */
  const char *after[] = {NULL, "m0", "m0", "m1,m2"};
  cr_assert_eq(submit_set(&created, q, "d", 4, after), 0, "%s", jd_queue_error(q));
  cr_assert_eq(rint_(q, "XLEN %s", key("q:match", ""), NULL), 1);
  hget_is(q, key("task:%s", "d-m3"), "state", "held");
  hget_is(q, key("taskset:d", ""), "held", "3");
  jd_taskset_view v = view(q, "d");
  cr_assert_eq(v.c.held, 3);
  cr_assert_eq(v.c.queued, 1);
  run(q, "d-m0", JD_TASK_STATUS_FINISHED);
  cr_assert_eq(rint_(q, "XLEN %s", key("q:match", ""), NULL), 2, "m1 and m2 are released");
  hget_is(q, key("task:%s", "d-m1"), "state", "queued");
  hget_is(q, key("task:%s", "d-m3"), "state", "held");
  run(q, "d-m1", JD_TASK_STATUS_FINISHED);
  hget_is(q, key("task:%s", "d-m3"), "state", "held");
  run(q, "d-m2", JD_TASK_STATUS_FINISHED);
  hget_is(q, key("task:%s", "d-m3"), "state", "queued");
  hget_is(q, key("taskset:d", ""), "held", "0");
  run(q, "d-m3", JD_TASK_STATUS_FINISHED);
  hget_is(q, key("taskset:d", ""), "state", "finished");
  hget_is(q, key("taskset:d", ""), "finished", "4");
  cr_assert_eq(taskset_lines(q, "d"), 1);
  fini_got();
  jd_queue_free(q);
}

Test(taskset, a_source_that_fails_cancels_its_dependents, .init = up, .fini = down) {
  jd_queue *q = open_q("h1", "t4");
  bool created = false;
  /* m1 after m0, m2 after m1 (transitive), m3 free. */
  const char *after[] = {NULL, "m0", "m1", NULL};
  cr_assert_eq(submit_set(&created, q, "f", 4, after), 0, "%s", jd_queue_error(q));
  run(q, "f-m0", JD_TASK_STATUS_FAILED);
  char *r = NULL;
  cr_assert_eq(jd_queue_get_result(&r, q, "f-m1"), 0);
  cr_assert(r && strstr(r, "\"status\":\"cancelled\"") && strstr(r, "dependency f-m0 failed"), "%s",
            r);
  free(r);
  cr_assert_eq(jd_queue_get_result(&r, q, "f-m2"), 0);
  cr_assert(r && strstr(r, "dependency f-m1 cancelled"), "%s", r);
  free(r);
  hget_is(q, key("task:%s", "f-m2"), "state", "finished");
  hget_is(q, key("task:%s", "f-m2"), "status", "cancelled");
  hget_is(q, key("taskset:f", ""), "cancelled", "2");
  hget_is(q, key("taskset:f", ""), "failed", "1");
  hget_is(q, key("taskset:f", ""), "state", "running");
  run(q, "f-m3", JD_TASK_STATUS_FINISHED);
  hget_is(q, key("taskset:f", ""), "state", "finished");
  cr_assert_eq(taskset_lines(q, "f"), 1);
  fini_got();
  jd_queue_free(q);
}

Test(taskset, cancel_removes_queued_signals_running_leaves_finished, .init = up, .fini = down) {
  jd_queue *q = open_q("h1", "t5");
  bool created = false;
  /* m0 finished, m1 running, m2 queued, m3 delivered not begun, m4 held. */
  const char *after[] = {NULL, NULL, NULL, NULL, "m1"};
  cr_assert_eq(submit_set(&created, q, "c", 5, after), 0);
  run(q, "c-m0", JD_TASK_STATUS_FINISHED);
  jd_begin b1 = begin(q, "c-m1");
  cr_assert_eq(b1.outcome, JD_BEGIN_RUN);
  jd_entry *m2 = entry_of("c-m2");
  char m2_entry[48];
  snprintf(m2_entry, sizeof m2_entry, "%s", m2->id);
  int64_t removed = 0, signalled = 0;
  bool found = false;
  cr_assert_eq(jd_queue_taskset_cancel(&removed, &signalled, &found, q, "nope", "x"), 0);
  cr_assert(!found);
  cr_assert_eq(jd_queue_taskset_cancel(&removed, &signalled, &found, q, "c", "operator"), 0, "%s",
               jd_queue_error(q));
  cr_assert(found);
  cr_assert_eq(removed, 3, "m2, m3, m4");
  cr_assert_eq(signalled, 1, "m1");
  hget_is(q, key("taskset:c", ""), "state", "cancelled");
  hget_is(q, key("taskset:c", ""), "cancel_reason", "operator");
  /* Entries gone from the stream and the pending list; results written. */
  cr_assert_eq(rint_(q, "XLEN %s", key("q:match", ""), NULL), 1, "only m1's entry is left");
  char *r = NULL;
  cr_assert_eq(jd_queue_get_result(&r, q, "c-m4"), 0);
  cr_assert(r && strstr(r, "taskset cancelled: operator"), "%s", r);
  free(r);
  hget_is(q, key("task:%s", "c-m2"), "state", "finished");
  hget_is(q, key("task:%s", "c-m0"), "status", "finished");
  /* The running one is told through renew_claims. */
  bool ours = false, cancel = false;
  const char *ids[] = {"c-m1"};
  cr_assert_eq(jd_queue_renew_claims(&ours, &cancel, q, ids, &b1.claim, 1), 0);
  cr_assert(ours && cancel);
  char why[256];
  cr_assert_eq(jd_queue_cancel_reason(why, sizeof why, q, "c-m1"), 0);
  cr_assert_str_eq(why, "taskset cancelled: operator");
  /* m3, delivered before: its begin finds the result. */
  jd_begin b3 = begin(q, "c-m3");
  cr_assert_eq(b3.outcome, JD_BEGIN_DONE, "%s", jd_begin_outcome_name(b3.outcome));
  cr_assert_eq(taskset_lines(q, "c"), 0, "m1 still runs");
  /* m1 is given back for a retry: its next begin is 'cancelled' (result
   * written, entry acked), and the set ends, cancelled, once. */
  bool held = false;
  cr_assert_eq(jd_queue_retry_later(&held, q, "c-m1", b1.claim, "engine"), 0);
  jd_begin again = begin(q, "c-m1");
  cr_assert_eq(again.outcome, JD_BEGIN_CANCELLED, "%s", jd_begin_outcome_name(again.outcome));
  cr_assert_eq(rint_(q, "XLEN %s", key("q:match", ""), NULL), 0);
  hget_is(q, key("task:%s", "c-m1"), "status", "cancelled");
  hget_is(q, key("taskset:c", ""), "state", "cancelled");
  hget_is(q, key("taskset:c", ""), "cancelled", "4");
  hget_is(q, key("taskset:c", ""), "finished", "1");
  cr_assert_eq(taskset_lines(q, "c"), 1);
  /* A long reason is kept to 200 bytes, whole characters ("é" is 2). */
  char longr[400] = "", *got_r;
  for (int i = 0; i < 150; i++)
    strcat(longr, "\xc3\xa9");
  cr_assert_eq(submit_set(&created, q, "c2", 1, NULL), 0);
  cr_assert_eq(jd_queue_taskset_cancel(&removed, &signalled, &found, q, "c2", longr), 0);
  got_r = hget(q, key("taskset:c2", ""), "cancel_reason");
  cr_assert_eq(strlen(got_r), 200);
  cr_assert_eq(strncmp(got_r, longr, 200), 0);
  free(got_r);
  /* Cancelling again changes nothing. */
  cr_assert_eq(jd_queue_taskset_cancel(&removed, &signalled, &found, q, "c", "again"), 0);
  cr_assert_eq(removed + signalled, 0);
  cr_assert_eq(taskset_lines(q, "c"), 1);
  (void)m2_entry;
  fini_got();
  jd_queue_free(q);
}

Test(taskset, view_counts_slots_and_eta, .init = up, .fini = down) {
  jd_queue *q = open_q("h1", "t6");
  jd_queue *other = open_q("h2", "t6"), *gone = open_q("h3", "t6");
  cr_assert_eq(jd_queue_heartbeat(q, "{\"host\":\"h1\",\"slots\":3}", 10000), 0);
  cr_assert_eq(jd_queue_heartbeat(other, "{\"host\":\"h2\",\"slots\":2}", 10000), 0);
  cr_assert_eq(jd_queue_heartbeat(gone, "{\"host\":\"h3\",\"slots\":50}", 1), 0);
  usleep(20000); /* h3's heartbeat (1 ms) has run out: not counted */
  bool created = false;
  const char *after[] = {NULL, NULL, NULL, "m0"};
  cr_assert_eq(submit_set(&created, q, "v", 4, after), 0);
  jd_taskset_view v = view(q, "v");
  cr_assert_str_eq(v.state, "running");
  cr_assert_eq(v.prio, JD_PRIO_MATCH);
  cr_assert(v.standings);
  cr_assert_eq(v.slots, 5);
  cr_assert_eq(v.c.total, 4);
  cr_assert_eq(v.c.queued, 3);
  cr_assert_eq(v.c.held, 1);
  cr_assert_eq(v.eta_ms, -1, "class c1 has no history yet");
  cr_assert_gt(v.submitted_ms, 0);
  cr_assert_eq(v.started_ms, 0);
  /* Redis forgot its scripts (a restart, SCRIPT FLUSH): EVALSHA's NOSCRIPT
   * falls back to EVAL. */
  freeReplyObject(admin("SCRIPT FLUSH%s%s", "", ""));
  v = view(q, "v");
  cr_assert_eq(v.c.queued, 3);
  /* One run of 0.2 s gives c1 its history; one running now. */
  read_all(q);
  jd_begin b0 = begin(q, "v-m0");
  usleep(200000);
  cr_assert_eq(store(q, "v-m0", b0.claim, JD_TASK_STATUS_FINISHED), JD_STORE_WRITTEN);
  char *mean = hget(q, key("class:c1", ""), "mean_ms");
  long long mean_ms = atoll(mean);
  free(mean);
  cr_assert(mean_ms >= 190 && mean_ms < 2000, "%lld", mean_ms);
  read_all(q);
  jd_begin b1 = begin(q, "v-m1");
  cr_assert_eq(b1.outcome, JD_BEGIN_RUN);
  v = view(q, "v");
  cr_assert_eq(v.c.running, 1);
  cr_assert_eq(v.c.queued, 2, "m2 and m3 (released)");
  cr_assert_eq(v.c.held, 0);
  cr_assert_eq(v.c.finished, 1);
  cr_assert_gt(v.started_ms, 0);
  /* 3 left of about mean_ms each, 5 slots: the longest one bounds it
   * (own throughput: 1 of 4 done, 25%, blends in). */
  cr_assert(v.eta_ms >= 0 && v.eta_ms <= 3 * mean_ms + 1000, "eta %lld", (long long)v.eta_ms);
  /* The JSON: the view, the first members, no standings yet. */
  char *js = NULL;
  bool found = false;
  cr_assert_eq(jd_queue_taskset_json(&js, &found, q, "v", 2), 0, "%s", jd_queue_error(q));
  cr_assert(found);
  json_object *o = json_tokener_parse(js), *t, *x;
  cr_assert(o, "%s", js);
  cr_assert(json_object_object_get_ex(o, "tasks", &t));
  cr_assert_eq(json_object_array_length(t), 2);
  x = json_object_array_get_idx(t, 1);
  cr_assert(json_object_object_get_ex(x, "state", &x));
  cr_assert_str_eq(json_object_get_string(x), "running");
  cr_assert(json_object_object_get_ex(o, "taskset", &t));
  cr_assert(json_object_object_get_ex(t, "counts", &x));
  cr_assert(json_object_object_get_ex(x, "running", &x));
  cr_assert_eq(json_object_get_int(x), 1);
  cr_assert(json_object_object_get_ex(o, "standings", &x));
  cr_assert_null(x);
  json_object_put(o);
  free(js);
  cr_assert_eq(jd_queue_taskset_json(&js, &found, q, "none", 2), 0);
  cr_assert(!found && !js);
  /* Running sets, for the gauges. */
  jd_taskset_view *rv = NULL;
  size_t n = 0;
  cr_assert_eq(jd_queue_tasksets_running(&rv, &n, NULL, q, 10), 0);
  cr_assert_eq(n, 1);
  cr_assert_str_eq(rv[0].id, "v");
  free(rv);
  fini_got();
  jd_queue_free(gone);
  jd_queue_free(other);
  jd_queue_free(q);
}

struct seen {
  int n, with_result;
  char first[64], last[64];
};
static int on_result(void *ud, const char *task_id, const char *json) {
  struct seen *s = ud;
  char want[64];
  snprintf(want, sizeof want, "r-m%d", s->n);
  cr_assert_str_eq(task_id, want, "member order");
  if (json) {
    s->with_result++;
    cr_assert_str_eq(json, "{\"r\":1}");
  }
  s->n++;
  return 0;
}

Test(taskset, results_come_in_member_order_and_standings_are_kept, .init = up, .fini = down) {
  jd_queue *q = open_q("h1", "t7");
  bool created = false;
  cr_assert_eq(submit_set(&created, q, "r", 250, NULL), 0, "%s", jd_queue_error(q));
  read_all(q);
  for (int i = 0; i < 250; i += 2) {
    char tid[32];
    snprintf(tid, sizeof tid, "r-m%d", i);
    jd_begin b = begin(q, tid);
    cr_assert_eq(store(q, tid, b.claim, JD_TASK_STATUS_FINISHED), JD_STORE_WRITTEN);
  }
  struct seen s = {0};
  cr_assert_eq(jd_queue_taskset_each_result(q, "r", on_result, &s), 0, "%s", jd_queue_error(q));
  cr_assert_eq(s.n, 250);
  cr_assert_eq(s.with_result, 125);
  /* The other half: the set ends, is unranked until its standings are put. */
  for (int i = 1; i < 250; i += 2) {
    char tid[32];
    snprintf(tid, sizeof tid, "r-m%d", i);
    jd_begin b = begin(q, tid);
    cr_assert_eq(store(q, tid, b.claim, JD_TASK_STATUS_FAILED), JD_STORE_WRITTEN);
  }
  char **ids = NULL;
  size_t n = 0;
  cr_assert_eq(jd_queue_tasksets_unranked(&ids, &n, q, 10), 0);
  cr_assert_eq(n, 1);
  cr_assert_str_eq(ids[0], "r");
  free(ids[0]);
  free(ids);
  cr_assert_eq(jd_queue_taskset_put_standings(q, "r", "{\"programs\":[]}"), 0);
  cr_assert_eq(jd_queue_tasksets_unranked(&ids, &n, q, 10), 0);
  cr_assert_eq(n, 0);
  free(ids);
  char *st = NULL;
  cr_assert_eq(jd_queue_taskset_get_standings(&st, q, "r"), 0);
  cr_assert_str_eq(st, "{\"programs\":[]}");
  free(st);
  jd_taskset_view *rv = NULL;
  cr_assert_eq(jd_queue_tasksets_running(&rv, &n, NULL, q, 10), 0);
  cr_assert_eq(n, 0);
  free(rv);
  fini_got();
  jd_queue_free(q);
}

/* ---- what a member costs over a plain task (docs/tasksets.md) -------- */

struct cost {
  long long calls, in, out;
};
static long long info_field(const char *text, const char *field) {
  const char *p = strstr(text, field);
  return p ? atoll(p + strlen(field)) : 0;
}
/* Commands (INFO commandstats, those inside scripts included, without
 * this test's INFO and CONFIG) and bytes in and out since the last reset. */
static struct cost cost_now(void) {
  struct cost c = {0};
  redisReply *st = admin("INFO %s%s", "stats", "");
  c.in = info_field(st->str, "total_net_input_bytes:");
  c.out = info_field(st->str, "total_net_output_bytes:");
  freeReplyObject(st);
  redisReply *cs = admin("INFO %s%s", "commandstats", "");
  for (const char *p = cs->str; (p = strstr(p, "cmdstat_")); p++) {
    if (!strncmp(p, "cmdstat_info:", 13) || !strncmp(p, "cmdstat_config", 14))
      continue;
    c.calls += info_field(p, "calls=");
  }
  freeReplyObject(cs);
  freeReplyObject(admin("CONFIG RESETSTAT%s%s", "", ""));
  return c;
}

/* n tasks through the queue as the daemon runs them: read, begin, store. */
static void run_all(jd_queue *q, const char *fmt, int n) {
  jd_entry_list_clear(&got);
  read_all(q);
  cr_assert_eq(got.count, (size_t)n);
  for (int i = 0; i < n; i++) {
    char tid[32];
    snprintf(tid, sizeof tid, fmt, i);
    jd_begin b = begin(q, tid);
    cr_assert_eq(store(q, tid, b.claim, JD_TASK_STATUS_FINISHED), JD_STORE_WRITTEN);
  }
}

Test(taskset, a_member_costs_a_few_commands_more_than_a_plain_task, .init = up, .fini = down) {
  enum { N = 100 };
  jd_queue *q = open_q("h1", "t8");
  cost_now();
  for (int i = 0; i < N; i++) {
    char tid[32], json[128];
    snprintf(tid, sizeof tid, "p%d", i);
    snprintf(json, sizeof json, "{\"id\":\"p%d\",\"type\":\"match\",\"match\":{}}", i);
    cr_assert_eq(jd_queue_submit(NULL, q, JD_PRIO_MATCH, tid, json), 0);
  }
  run_all(q, "p%d", N);
  struct cost plain = cost_now();
  bool created = false;
  cr_assert_eq(submit_set(&created, q, "k", N, NULL), 0);
  run_all(q, "k-m%d", N);
  struct cost member = cost_now();
  /* A chain (each member after the one before): released one by one. */
  static char chain[N][8];
  const char *after[N] = {NULL};
  for (int i = 1; i < N; i++) {
    snprintf(chain[i], sizeof chain[i], "m%d", i - 1);
    after[i] = chain[i];
  }
  cr_assert_eq(submit_set(&created, q, "h", N, after), 0);
  cost_now();
  for (int i = 0; i < N; i++) {
    char tid[32];
    snprintf(tid, sizeof tid, "h-m%d", i);
    run(q, tid, JD_TASK_STATUS_FINISHED);
  }
  struct cost held = cost_now();
  fprintf(stderr,
          "per task (of %d): plain %.1f commands %.0f B in %.0f B out; member %.1f commands "
          "%.0f B in %.0f B out; a chained member's run %.1f commands\n",
          N, (double)plain.calls / N, (double)plain.in / N, (double)plain.out / N,
          (double)member.calls / N, (double)member.in / N, (double)member.out / N,
          (double)held.calls / N);
  cr_assert_lt(member.calls, plain.calls + 25 * N, "a member costs at most 25 commands more");
  hget_is(q, key("taskset:k", ""), "state", "finished");
  hget_is(q, key("taskset:h", ""), "state", "finished");
  fini_got();
  jd_queue_free(q);
}

static int count_cb(void *ud, const char *tid, const char *js) {
  (void)tid;
  (void)js;
  ((int *)ud)[0]++;
  return 0;
}

Test(taskset, ten_thousand_members, .init = up, .fini = down, .timeout = 60) {
  enum { N = 10000 };
  jd_queue *q = open_q("h1", "t9");
  static char ids[N][16], json[N][96];
  static const char *pids[N], *pjson[N], *pclass[N];
  for (int i = 0; i < N; i++) {
    snprintf(ids[i], sizeof ids[i], "b-%d", i);
    snprintf(json[i], sizeof json[i], "{\"id\":\"b-%d\",\"type\":\"match\",\"match\":{}}", i);
    pids[i] = ids[i];
    pjson[i] = json[i];
    pclass[i] = "big";
  }
  jd_taskset_sub s = {"big", JD_PRIO_AUTO, false, N, pids, pjson, pclass, NULL, NULL};
  bool created = false;
  int64_t t0 = jd_mono_ms();
  cr_assert_eq(jd_queue_taskset_submit(&created, q, &s), 0, "%s", jd_queue_error(q));
  int64_t t1 = jd_mono_ms();
  jd_taskset_view v = view(q, "big");
  int64_t t2 = jd_mono_ms();
  int counted = 0;
  cr_assert_eq(jd_queue_taskset_each_result(q, "big", count_cb, &counted), 0);
  int64_t t3 = jd_mono_ms();
  int64_t removed = 0, signalled = 0;
  bool found = false;
  cr_assert_eq(jd_queue_taskset_cancel(&removed, &signalled, &found, q, "big", "load"), 0);
  int64_t t4 = jd_mono_ms();
  jd_taskset_view ended = view(q, "big");
  int64_t t5 = jd_mono_ms();
  fprintf(
      stderr,
      "10000 members: submit %lld ms, view %lld ms (all open), results %lld ms, cancel %lld ms, "
      "view %lld ms (all ended)\n",
      (long long)(t1 - t0), (long long)(t2 - t1), (long long)(t3 - t2), (long long)(t4 - t3),
      (long long)(t5 - t4));
  cr_assert_eq(ended.c.cancelled, N);
  cr_assert_eq(ended.eta_ms, 0);
  cr_assert(created);
  cr_assert_eq(v.c.queued, N);
  cr_assert_eq(counted, N);
  cr_assert_eq(removed, N);
  hget_is(q, key("taskset:big", ""), "cancelled", "10000");
  cr_assert_eq(taskset_lines(q, "big"), 1);
  jd_queue_free(q);
}
