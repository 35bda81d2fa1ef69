// test-labels: engine redis serial
/* Tasksets end to end: the real `judger daemon` on the real engine and a
 * real redis-server of the test's own. A set's counts stay exact and it
 * finishes once through a kill -9 of a daemon and a Redis restart; a cancel
 * removes what waits, ends what runs and leaves what finished; a set
 * written as one stream entry is submitted by the daemon (a bad one is a
 * dead letter naming its member); dependents wait for their source; the
 * standings are written when the set ends. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/clock.h"
#include "daemon_proc.h"
#include "queue/queue.h"
#include "queue/redis.h"
#include "queue/taskset.h"
#include "redis_server.h"
#include "support.h"
#include "taskset/taskset.h"

static t_redis *srv;

static void up(void) { srv = t_redis_start(false, true); }
static void down(void) { t_redis_stop(srv); }

/* A taskset file of n members <prefix>-<i> of the daemon test game; member
 * i lasts turns[i] seconds and waits for the members named in after[i]
 * (a JSON array text, or NULL). Caller frees. */
static char *taskset_json(const char *id, const char *prefix, size_t n, const int *turns,
                          const char *const *after) {
  json_object *set = json_object_new_object(), *tasks = json_object_new_array();
  json_object_object_add(set, "id", json_object_new_string(id));
  json_object_object_add(set, "priority", json_object_new_string("match"));
  for (size_t i = 0; i < n; i++) {
    char tid[64];
    snprintf(tid, sizeof tid, "%s-%zu", prefix, i);
    char *text = t_game_match_json(tid, turns[i]);
    json_object *m = json_tokener_parse(text);
    free(text);
    cr_assert_not_null(m);
    if (after && after[i])
      json_object_object_add(m, "after", json_tokener_parse(after[i]));
    json_object_array_add(tasks, m);
  }
  json_object_object_add(set, "tasks", tasks);
  char *out = strdup(json_object_to_json_string_ext(set, JSON_C_TO_STRING_PLAIN));
  json_object_put(set);
  return out;
}

static void submit_set(jd_queue *q, const char *json) {
  jd_taskset *ts = NULL;
  char err[512];
  cr_assert_eq(jd_taskset_parse(&ts, json, JD_TASKSET_MAX_MEMBERS_DEFAULT, 0, err, sizeof err), 0,
               "%s", err);
  cr_assert_eq(jd_taskset_submit(q, ts, err, sizeof err), 0, "%s", err);
  jd_taskset_free(ts);
}

/* Waits until the set's terminal count reaches at least done (or it ended
 * when done < 0); returns its view. */
static jd_taskset_view wait_done(jd_queue *q, const char *id, int64_t done, int timeout_ms,
                                 const char *log) {
  jd_taskset_view v;
  for (int64_t until = jd_mono_ms() + timeout_ms;; usleep(100000)) {
    /* A Redis restart in between: the view is read again. */
    bool found = false;
    if (jd_queue_taskset_view(&v, &found, q, id) == 0 && found) {
      int64_t n = v.c.finished + v.c.failed + v.c.cancelled;
      if (done >= 0 ? n >= done : strcmp(v.state, "running") != 0)
        return v;
    }
    cr_assert(jd_mono_ms() < until, "taskset %s: not there in time (log %s)", id, log);
  }
}

/* Entries of the results stream naming this task (or taskset) id in
 * field. */
static int results_naming(jd_queue *q, const char *field, const char *id) {
  redisReply *rep = NULL;
  cr_assert_eq(jd_redis_command(&rep, jd_queue_redis(q), "XRANGE judger:results - +"), 0);
  int n = 0;
  for (size_t i = 0; i < rep->elements; i++) {
    redisReply *f = rep->element[i]->element[1];
    for (size_t k = 0; k + 1 < f->elements; k += 2)
      if (!strcmp(f->element[k]->str, field) && !strcmp(f->element[k + 1]->str, id))
        n++;
  }
  freeReplyObject(rep);
  return n;
}

static char *status_of_result(jd_queue *q, const char *tid) {
  char *res = NULL;
  cr_assert_eq(jd_queue_get_result(&res, q, tid), 0);
  cr_assert_not_null(res, "no result for %s", tid);
  json_object *o = json_tokener_parse(res), *task = NULL, *st = NULL;
  free(res);
  cr_assert(json_object_object_get_ex(o, "task", &task) &&
            json_object_object_get_ex(task, "status", &st));
  char *s = strdup(json_object_get_string(st));
  json_object_put(o);
  return s;
}

static char *wait_standings(jd_queue *q, const char *id, int timeout_ms) {
  char *json = NULL;
  for (int64_t until = jd_mono_ms() + timeout_ms; jd_mono_ms() < until; usleep(20000))
    if (jd_queue_taskset_get_standings(&json, q, id) == 0 && json)
      return json;
  cr_assert_fail("taskset %s: no standings", id);
  return NULL;
}

Test(taskset_daemon, counts_stay_exact_through_a_kill9_and_a_redis_restart, .init = up,
     .fini = down, .timeout = 300) {
  dk_client *c = t_client();
  t_busybox_image(c);
  char *ha = t_unique("jdts-a"), *hb = t_unique("jdts-b");
  char *sa = t_tmpdir("dstate-tsa"), *sb = t_tmpdir("dstate-tsb");
  jd_queue *q = t_queue_client(srv->url);
  enum { N = 10 };
  int turns[N];
  for (int i = 0; i < N; i++)
    turns[i] = 1;
  char *json = taskset_json("ts-faults", "tsf", N, turns, NULL);
  submit_set(q, json);
  t_proc *a = t_daemon_spawn(srv->url, ha, sa, NULL), *b = t_daemon_spawn(srv->url, hb, sb, NULL);
  wait_done(q, "ts-faults", 2, 60000, a->log);
  /* kill -9 of a daemon mid-set, then its restart (same host, same state). */
  t_proc_free(a);
  a = t_daemon_spawn(srv->url, ha, sa, NULL);
  wait_done(q, "ts-faults", 5, 60000, b->log);
  t_redis_restart(srv, 1500);
  jd_taskset_view v = wait_done(q, "ts-faults", -1, 120000, b->log);
  cr_assert_str_eq(v.state, "finished");
  cr_assert_eq(v.c.total, N);
  cr_assert_eq(v.c.finished, N, "finished %lld failed %lld cancelled %lld", (long long)v.c.finished,
               (long long)v.c.failed, (long long)v.c.cancelled);
  cr_assert_eq(v.c.failed + v.c.cancelled, 0);
  for (int i = 0; i < N; i++) {
    char tid[32];
    snprintf(tid, sizeof tid, "tsf-%d", i);
    cr_assert_eq(results_naming(q, "task_id", tid), 1, "%s: one result", tid);
  }
  cr_assert_eq(results_naming(q, "taskset_id", "ts-faults"), 1, "the set finishes once");
  free(wait_standings(q, "ts-faults", 15000));
  kill(a->pid, SIGTERM);
  kill(b->pid, SIGTERM);
  cr_assert_eq(t_proc_wait(a, 15000), 0);
  cr_assert_eq(t_proc_wait(b, 15000), 0);
  t_cleanup_host(c, ha);
  t_cleanup_host(c, hb);
  t_proc_free(a);
  t_proc_free(b);
  jd_queue_free(q);
  free(json);
  t_rmdir(sa);
  t_rmdir(sb);
  free(ha);
  free(hb);
  dk_client_free(c);
}

Test(taskset_daemon, a_cancel_removes_the_queued_ends_the_running_and_keeps_the_finished,
     .init = up, .fini = down, .timeout = 240) {
  dk_client *c = t_client();
  t_busybox_image(c);
  char *h = t_unique("jdts-cancel");
  char *st = t_tmpdir("dstate-tsc");
  jd_queue *q = t_queue_client(srv->url);
  int turns[5] = {1, 60, 60, 60, 60};
  char *json = taskset_json("ts-cancel", "tsc", 5, turns, NULL);
  submit_set(q, json);
  t_proc *d = t_daemon_spawn(srv->url, h, st, NULL);
  free(t_wait_result(q, "tsc-0", 60000, d->log));
  free(t_wait_task_state(q, "tsc-1", "running", 60000));
  int64_t removed = 0, signalled = 0;
  bool found = false;
  int64_t t0 = jd_mono_ms();
  cr_assert_eq(
      jd_queue_taskset_cancel(&removed, &signalled, &found, q, "ts-cancel", "test ends it"), 0,
      "%s", jd_queue_error(q));
  cr_assert(found);
  cr_assert_eq(removed, 3);
  cr_assert_eq(signalled, 1);
  free(t_wait_result(q, "tsc-1", 30000, d->log));
  int64_t ended_ms = jd_mono_ms() - t0;
  const char *want[5] = {"finished", "cancelled", "cancelled", "cancelled", "cancelled"};
  for (int i = 0; i < 5; i++) {
    char tid[16];
    snprintf(tid, sizeof tid, "tsc-%d", i);
    char *s = status_of_result(q, tid);
    cr_assert_str_eq(s, want[i], "%s", tid);
    free(s);
  }
  jd_taskset_view v = wait_done(q, "ts-cancel", 5, 10000, d->log);
  cr_assert_str_eq(v.state, "cancelled");
  cr_assert_eq(v.c.finished, 1);
  cr_assert_eq(v.c.cancelled, 4);
  cr_log_info("the running member ended %lld ms after the cancel", (long long)ended_ms);
  for (int i = 0; i < 100 && t_host_containers(c, h) > 0; i++)
    usleep(100000);
  cr_assert_eq(t_host_containers(c, h), 0, "log %s", d->log);
  kill(d->pid, SIGTERM);
  cr_assert_eq(t_proc_wait(d, 15000), 0);
  t_cleanup_host(c, h);
  t_proc_free(d);
  jd_queue_free(q);
  free(json);
  t_rmdir(st);
  free(h);
  dk_client_free(c);
}

/* XADD judger:q:match * taskset <json>. */
static void add_set_entry(jd_queue *q, const char *json) {
  redisReply *rep = NULL;
  cr_assert_eq(jd_queue_setup(q), 0);
  cr_assert_eq(jd_redis_command(&rep, jd_queue_redis(q), "XADD judger:q:match * taskset %s", json),
               0, "%s", jd_queue_error(q));
  freeReplyObject(rep);
}

static bool dead_letter_says(jd_queue *q, const char *needle) {
  redisReply *rep = NULL;
  if (jd_redis_command(&rep, jd_queue_redis(q), "XRANGE judger:dead - +"))
    return false;
  bool says = false;
  for (size_t i = 0; i < rep->elements && !says; i++) {
    redisReply *f = rep->element[i]->element[1];
    for (size_t k = 0; k + 1 < f->elements; k += 2)
      if (!strcmp(f->element[k]->str, "reason") && strstr(f->element[k + 1]->str, needle))
        says = true;
  }
  freeReplyObject(rep);
  return says;
}

Test(taskset_daemon, a_set_written_as_one_entry_runs_its_dependents_after_their_source, .init = up,
     .fini = down, .timeout = 240) {
  dk_client *c = t_client();
  t_busybox_image(c);
  char *h = t_unique("jdts-entry");
  char *st = t_tmpdir("dstate-tse");
  jd_queue *q = t_queue_client(srv->url);
  int turns[3] = {1, 1, 1};
  const char *after[3] = {NULL, "[\"tse-0\"]", "[\"tse-0\"]"};
  char *json = taskset_json("ts-entry", "tse", 3, turns, after);
  const char *bad = "{\"id\":\"ts-bad\",\"tasks\":[{\"id\":\"x0\",\"type\":\"match\",\"match\":{}},"
                    "{\"id\":\"x1\",\"type\":\"match\",\"match\":{},\"after\":[\"nobody\"]}]}";
  add_set_entry(q, bad);
  add_set_entry(q, json);
  t_proc *d = t_daemon_spawn(srv->url, h, st, "--slots 2");
  jd_taskset_view v = wait_done(q, "ts-entry", -1, 90000, d->log);
  cr_assert_str_eq(v.state, "finished");
  cr_assert_eq(v.c.finished, 3);
  char *src_end = t_task_field(q, "tse-0", "finished_ms");
  for (int i = 1; i < 3; i++) {
    char tid[16];
    snprintf(tid, sizeof tid, "tse-%d", i);
    char *start = t_task_field(q, tid, "started_ms");
    cr_assert(start && src_end && atoll(start) >= atoll(src_end),
              "%s started at %s, before its source ended at %s", tid, start, src_end);
    free(start);
  }
  free(src_end);
  cr_assert(dead_letter_says(q, "tasks[1] (x1)"), "the bad set's dead letter names its member");
  bool found = true;
  cr_assert_eq(jd_queue_taskset_view(&v, &found, q, "ts-bad"), 0);
  cr_assert(!found, "nothing of the bad set was written");
  free(wait_standings(q, "ts-entry", 15000));
  kill(d->pid, SIGTERM);
  cr_assert_eq(t_proc_wait(d, 15000), 0);
  t_cleanup_host(c, h);
  t_proc_free(d);
  jd_queue_free(q);
  free(json);
  t_rmdir(st);
  free(h);
  dk_client_free(c);
}

/* A member the daemon cannot read (over its entry_max_bytes) is still
 * counted in its set, named by its entry: the set ends. A set written as
 * an entry twice is submitted once and both entries are acked. */
Test(taskset_daemon, an_unreadable_member_still_ends_its_set_and_a_set_written_twice_is_acked,
     .init = up, .fini = down, .timeout = 240) {
  dk_client *c = t_client();
  t_busybox_image(c);
  char *h = t_unique("jdts-caps");
  char *st = t_tmpdir("dstate-tsk");
  jd_queue *q = t_queue_client(srv->url);
  int turns[2] = {1, 1};
  char *big = taskset_json("ts-big", "tsb", 2, turns, NULL);
  /* Member 1 grows past the daemon's 8 KiB entry cap (a config of padding). */
  json_object *set = json_tokener_parse(big), *tasks = NULL, *match = NULL, *config = NULL;
  cr_assert(json_object_object_get_ex(set, "tasks", &tasks));
  json_object *m1 = json_object_array_get_idx(tasks, 1);
  cr_assert(json_object_object_get_ex(m1, "match", &match) &&
            json_object_object_get_ex(match, "config", &config));
  char pad[12000];
  memset(pad, 'x', sizeof pad - 1);
  pad[sizeof pad - 1] = '\0';
  json_object_object_add(config, "pad", json_object_new_string(pad));
  free(big);
  big = strdup(json_object_to_json_string_ext(set, JSON_C_TO_STRING_PLAIN));
  json_object_put(set);
  submit_set(q, big);
  int one[1] = {1};
  char *twice = taskset_json("ts-twice", "tst", 1, one, NULL);
  add_set_entry(q, twice);
  add_set_entry(q, twice);
  t_proc *d = t_daemon_spawn(srv->url, h, st, "--entry-max-bytes 8192");
  jd_taskset_view v = wait_done(q, "ts-big", -1, 90000, d->log);
  cr_assert_str_eq(v.state, "finished");
  cr_assert_eq(v.c.finished, 1);
  cr_assert_eq(v.c.failed, 1, "the unreadable member counts as failed");
  char *state = t_task_field(q, "tsb-1", "state");
  cr_assert_str_eq(state, "dead");
  free(state);
  cr_assert(dead_letter_says(q, "over entry_max_bytes"));
  v = wait_done(q, "ts-twice", -1, 60000, d->log);
  cr_assert_eq(v.c.total, 1);
  cr_assert_eq(v.c.finished, 1);
  cr_assert(!dead_letter_says(q, "ts-twice"), "the second entry is no dead letter");
  /* Both set entries acked (and deleted): nothing left on the stream. */
  long long len = -1;
  for (int64_t until = jd_mono_ms() + 20000; jd_mono_ms() < until; usleep(50000)) {
    redisReply *rep = NULL;
    cr_assert_eq(jd_redis_command(&rep, jd_queue_redis(q), "XLEN judger:q:match"), 0);
    len = rep->integer;
    freeReplyObject(rep);
    if (len == 0)
      break;
  }
  cr_assert_eq(len, 0, "entries left on the stream (log %s)", d->log);
  kill(d->pid, SIGTERM);
  cr_assert_eq(t_proc_wait(d, 15000), 0);
  t_cleanup_host(c, h);
  t_proc_free(d);
  jd_queue_free(q);
  free(big);
  free(twice);
  t_rmdir(st);
  free(h);
  dk_client_free(c);
}
