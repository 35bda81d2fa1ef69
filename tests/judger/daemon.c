// test-labels: engine redis
/* judger/daemon.c: the queue logic with a fake executor against a real
 * redis-server (priorities, sharing, poison tasks, malformed entries,
 * drain, Redis restarts, stalls), then end to end with the real `judger`
 * binary and the real engine (kill -9 mid-match, SIGTERM). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "daemon.h"
#include "queue.h"
#include "redis_server.h"
#include "support.h"
#include "util.h"

/* ---- a fake executor ----------------------------------------------------
 * The task's spec says what to do: {"sleep_ms": N, "behave": "ok" | "retry"
 * | "invalid" | "hang", "progress": true}. It records every start. */

#define MAX_RUNS 256

typedef struct fake {
  pthread_mutex_t mu;
  char order[MAX_RUNS][64]; /* task ids in start order */
  char host[MAX_RUNS][64];
  int nruns;
  int running, max_running;
} fake;

static int fake_validate(void *self, const jd_task *t, char *err, size_t errlen) {
  (void)self;
  if (strstr(t->spec_json, "\"behave\":\"invalid\"")) {
    snprintf(err, errlen, "match.behave: invalid on purpose");
    return -1;
  }
  return 0;
}

static int fake_execute(void *self, const jd_task *t, const jd_exec_env *env, jd_exec_result *res) {
  fake *f = self;
  json_object *spec = json_tokener_parse(t->spec_json);
  json_object *v = NULL;
  int64_t sleep_ms = json_object_object_get_ex(spec, "sleep_ms", &v) ? json_object_get_int64(v) : 0;
  const char *behave =
      json_object_object_get_ex(spec, "behave", &v) ? json_object_get_string(v) : "ok";
  bool progress = json_object_object_get_ex(spec, "progress", &v) && json_object_get_boolean(v);
  pthread_mutex_lock(&f->mu);
  if (f->nruns < MAX_RUNS) {
    snprintf(f->order[f->nruns], 64, "%s", t->id);
    snprintf(f->host[f->nruns], 64, "%s", env->host_id);
    f->nruns++;
  }
  if (++f->running > f->max_running)
    f->max_running = f->running;
  pthread_mutex_unlock(&f->mu);
  bool cancelled = false;
  int64_t end = jd_unix_ms() + sleep_ms;
  for (int turn = 1; jd_unix_ms() < end; turn++) {
    if (dk_cancel_fired(env->cancel)) {
      cancelled = true;
      break;
    }
    if (progress || strcmp(behave, "hang")) {
      char ev[128];
      snprintf(ev, sizeof ev, "{\"event\":\"match.progress\",\"turn\":%d}", turn);
      env->progress(env->ud, ev);
    }
    usleep(20000);
  }
  char path[512];
  snprintf(path, sizeof path, "%s/replay.json", env->out_dir);
  jd_write_file(path, "{\"turns\":1}", 11);
  pthread_mutex_lock(&f->mu);
  f->running--;
  pthread_mutex_unlock(&f->mu);
  json_object_put(spec);
  if (!strcmp(behave, "retry")) {
    res->reason = strdup("engine unreachable (fake)");
    return JD_EXEC_RETRY;
  }
  res->status = strdup(cancelled ? "cancelled" : "finished");
  res->summary = strdup("scores 1 0");
  asprintf(&res->result_json, "{\"match_id\":\"%s\",\"status\":\"%s\",\"scores\":[1,0]}", t->id,
           res->status);
  return JD_EXEC_DONE;
}

static fake *fake_new(void) {
  fake *f = calloc(1, sizeof *f);
  pthread_mutex_init(&f->mu, NULL);
  return f;
}

static int fake_count(fake *f, const char *id) {
  int n = 0;
  pthread_mutex_lock(&f->mu);
  for (int i = 0; i < f->nruns; i++)
    n += !strcmp(f->order[i], id);
  pthread_mutex_unlock(&f->mu);
  return n;
}

/* ---- daemons in threads ----------------------------------------------- */

typedef struct running {
  jd_daemon *d;
  pthread_t th;
  int rc;
  char *state;
} running;

static t_redis *srv;
static fake *fk;

static void up(void) {
  srv = t_redis_start(false, true);
  fk = fake_new();
}
static void down(void) {
  t_redis_stop(srv);
  free(fk);
}

static void *run_thread(void *arg) {
  running *r = arg;
  r->rc = jd_daemon_run(r->d);
  return NULL;
}

typedef struct dopts {
  const char *host;
  int slots;
  int64_t lease_ms, grace_ms, stall_ms;
  int max_attempts;
} dopts;

static running *start_daemon(dopts o) {
  running *r = calloc(1, sizeof *r);
  r->state = t_tmpdir("daemon");
  jd_config c;
  cr_assert_eq(jd_config_defaults(&c), 0);
  char err[256];
  char slots[16], lease[32], grace[32], stall[32], att[16];
  snprintf(slots, sizeof slots, "%d", o.slots ? o.slots : 1);
  snprintf(lease, sizeof lease, "%lld", (long long)(o.lease_ms ? o.lease_ms : 2000));
  snprintf(grace, sizeof grace, "%lld", (long long)o.grace_ms);
  snprintf(stall, sizeof stall, "%lld", (long long)o.stall_ms);
  snprintf(att, sizeof att, "%d", o.max_attempts ? o.max_attempts : 3);
  const char *kv[][2] = {{"redis", srv->url}, {"host_id", o.host}, {"slots", slots},
                         {"lease_ms", lease}, {"grace_ms", grace}, {"stall_ms", stall},
                         {"max_attempts", att}, {"state_dir", r->state}, {"block_ms", "300"},
                         {"log_level", "warn"}};
  for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
    cr_assert_eq(jd_config_set(&c, kv[i][0], kv[i][1], err, sizeof err), 0, "%s", err);
  jd_executor ex = {fake_validate, fake_execute, fk};
  cr_assert_eq(jd_daemon_new(&r->d, &c, NULL, &ex), 0);
  jd_config_clear(&c);
  pthread_create(&r->th, NULL, run_thread, r);
  for (int i = 0; i < 500; i++) {
    jd_daemon_stats st;
    jd_daemon_stats_get(r->d, &st);
    if (st.ready)
      return r;
    usleep(10000);
  }
  cr_assert_fail("daemon %s did not get ready", o.host);
  return NULL;
}

static void stop_daemon(running *r, bool drain) {
  jd_daemon_stop(r->d, drain);
  pthread_join(r->th, NULL);
  cr_assert_eq(r->rc, 0, "%s", jd_daemon_error(r->d));
  jd_daemon_free(r->d);
  t_rmdir(r->state);
  free(r);
}

static jd_queue *client(void) {
  jd_queue *q = NULL;
  jd_queue_opts o = {.redis_url = srv->url, .consumer = "test-client"};
  cr_assert_eq(jd_queue_new(&q, &o), 0);
  return q;
}

static void submit(jd_queue *q, jd_priority p, const char *id, const char *spec) {
  char json[1024];
  snprintf(json, sizeof json, "{\"id\":\"%s\",\"type\":\"match\",\"match\":%s}", id, spec);
  int rc;
  for (int i = 0; i < 50 && (rc = jd_queue_submit(NULL, q, p, id, json)) == JD_REDIS_ECONN; i++)
    usleep(100000);
  cr_assert_eq(rc, 0, "%s", jd_queue_error(q));
}

static char *result_of(jd_queue *q, const char *id) {
  char *json = NULL;
  int rc = jd_queue_get_result(&json, q, id);
  return rc == 0 ? json : NULL;
}

/* Waits until the task has a stored result; returns it (caller frees). */
static char *wait_result(jd_queue *q, const char *id, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 50) {
    char *r = result_of(q, id);
    if (r)
      return r;
    usleep(50000);
  }
  cr_assert_fail("no result for %s within %d ms", id, timeout_ms);
  return NULL;
}

static char *hget(jd_queue *q, const char *id, const char *field) {
  redisReply *rep = NULL;
  if (jd_redis_command(&rep, jd_queue_redis(q), "HGET judger:task:%s %s", id, field))
    return NULL;
  char *s = jd_reply_str(rep) ? strdup(rep->str) : NULL;
  freeReplyObject(rep);
  return s;
}

static long long xlen(jd_queue *q, const char *key) {
  redisReply *rep = NULL;
  cr_assert_eq(jd_redis_command(&rep, jd_queue_redis(q), "XLEN %s", key), 0);
  long long n = rep->integer;
  freeReplyObject(rep);
  return n;
}

static void wait_started(const char *id, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 10) {
    if (fake_count(fk, id) > 0)
      return;
    usleep(10000);
  }
  cr_assert_fail("%s did not start within %d ms", id, timeout_ms);
}

/* ---- fake-executor tests ------------------------------------------------ */

Test(daemon, a_build_behind_twenty_bulk_matches_starts_next, .init = up, .fini = down) {
  jd_queue *q = client();
  running *r = start_daemon((dopts){.host = "prio-host", .slots = 1});
  submit(q, JD_PRIO_AUTO, "first", "{\"sleep_ms\":500}");
  wait_started("first", 3000);
  /* While the only slot is busy, all three streams fill up. */
  for (int i = 0; i < 20; i++) {
    char id[32];
    snprintf(id, sizeof id, "auto-%02d", i);
    submit(q, JD_PRIO_AUTO, id, "{}");
  }
  for (int i = 0; i < 5; i++) {
    char id[32];
    snprintf(id, sizeof id, "match-%d", i);
    submit(q, JD_PRIO_MATCH, id, "{}");
  }
  submit(q, JD_PRIO_BUILD, "build-0", "{}");
  free(wait_result(q, "auto-19", 20000));
  cr_assert_eq(fk->nruns, 27);
  cr_assert_str_eq(fk->order[0], "first");
  cr_assert_str_eq(fk->order[1], "build-0", "after the running task came %s", fk->order[1]);
  for (int i = 0; i < 5; i++)
    cr_assert(!strncmp(fk->order[2 + i], "match-", 6), "position %d: %s", 2 + i,
              fk->order[2 + i]);
  for (int i = 0; i < 20; i++) {
    char id[32];
    snprintf(id, sizeof id, "auto-%02d", i);
    cr_assert_str_eq(fk->order[7 + i], id, "bulk work keeps its order");
  }
  stop_daemon(r, true);
  jd_queue_free(q);
}

Test(daemon, two_daemons_share_the_work_and_run_nothing_twice, .init = up, .fini = down) {
  jd_queue *q = client();
  running *a = start_daemon((dopts){.host = "share-a", .slots = 2});
  running *b = start_daemon((dopts){.host = "share-b", .slots = 2});
  for (int i = 0; i < 40; i++) {
    char id[32];
    snprintf(id, sizeof id, "t-%02d", i);
    submit(q, (jd_priority)(i % 3), id, "{\"sleep_ms\":60}");
  }
  for (int i = 0; i < 40; i++) {
    char id[32];
    snprintf(id, sizeof id, "t-%02d", i);
    free(wait_result(q, id, 30000));
  }
  stop_daemon(a, true);
  stop_daemon(b, true);
  int on_a = 0, on_b = 0;
  for (int i = 0; i < 40; i++) {
    char id[32];
    snprintf(id, sizeof id, "t-%02d", i);
    cr_assert_eq(fake_count(fk, id), 1, "%s ran %d times", id, fake_count(fk, id));
  }
  for (int i = 0; i < fk->nruns; i++) {
    on_a += !strcmp(fk->host[i], "share-a");
    on_b += !strcmp(fk->host[i], "share-b");
  }
  cr_assert(on_a > 5 && on_b > 5, "both hosts must work: a=%d b=%d", on_a, on_b);
  cr_assert(fk->max_running <= 4);
  cr_assert_eq(xlen(q, "judger:results"), 40);
  jd_queue_free(q);
}

Test(daemon, a_poison_task_is_dead_lettered_after_n_attempts, .init = up, .fini = down) {
  jd_queue *q = client();
  running *r = start_daemon((dopts){.host = "poison-host", .lease_ms = 500, .max_attempts = 3});
  submit(q, JD_PRIO_MATCH, "poison", "{\"behave\":\"retry\"}");
  submit(q, JD_PRIO_MATCH, "healthy", "{}");
  free(wait_result(q, "healthy", 5000));
  for (int i = 0; i < 100 && xlen(q, "judger:dead") == 0; i++)
    usleep(100000);
  cr_assert_eq(xlen(q, "judger:dead"), 1);
  cr_assert_eq(fake_count(fk, "poison"), 3, "ran %d times", fake_count(fk, "poison"));
  char *state = hget(q, "poison", "state"), *reason = hget(q, "poison", "reason");
  cr_assert_str_eq(state, "dead");
  cr_assert(strstr(reason, "3 attempts"), "%s", reason);
  free(state);
  free(reason);
  cr_assert_null(result_of(q, "poison"));
  cr_assert_eq(xlen(q, "judger:q:match"), 0, "a dead task leaves the stream");
  stop_daemon(r, true);
  jd_queue_free(q);
}

Test(daemon, malformed_entries_go_to_the_dead_letters_at_once, .init = up, .fini = down) {
  jd_queue *q = client();
  running *r = start_daemon((dopts){.host = "bad-host"});
  jd_redis *rd = jd_queue_redis(q);
  cr_assert_eq(jd_redis_command(NULL, rd, "XADD judger:q:build * task %s", "{not json"), 0);
  cr_assert_eq(jd_redis_command(NULL, rd, "XADD judger:q:match * nottask 1"), 0);
  submit(q, JD_PRIO_AUTO, "inv", "{\"behave\":\"invalid\"}");
  int64_t t0 = jd_unix_ms();
  while (xlen(q, "judger:dead") < 3 && jd_unix_ms() - t0 < 5000)
    usleep(20000);
  cr_assert_eq(xlen(q, "judger:dead"), 3);
  cr_assert(jd_unix_ms() - t0 < 2000, "dead-lettering must not wait for retries");
  cr_assert_eq(fk->nruns, 0);
  redisReply *rep = NULL;
  cr_assert_eq(jd_redis_command(&rep, rd, "XRANGE judger:dead - +"), 0);
  char all[4096] = "";
  for (size_t i = 0; i < rep->elements; i++) {
    redisReply *f = rep->element[i]->element[1];
    for (size_t k = 0; k + 1 < f->elements; k += 2)
      if (!strcmp(f->element[k]->str, "reason")) {
        strncat(all, f->element[k + 1]->str, sizeof all - strlen(all) - 2);
        strcat(all, "|");
      }
  }
  freeReplyObject(rep);
  cr_assert(strstr(all, "not JSON") && strstr(all, "no 'task' field") &&
                strstr(all, "invalid on purpose"),
            "reasons: %s", all);
  for (int p = 0; p < 3; p++) {
    char key[32];
    snprintf(key, sizeof key, "judger:q:%s", p == 0 ? "build" : p == 1 ? "match" : "auto");
    cr_assert_eq(xlen(q, key), 0, "%s still holds the entry", key);
  }
  stop_daemon(r, true);
  jd_queue_free(q);
}

Test(daemon, a_duplicate_task_runs_once, .init = up, .fini = down) {
  jd_queue *q = client();
  submit(q, JD_PRIO_MATCH, "dup", "{}");
  submit(q, JD_PRIO_MATCH, "dup", "{}");
  running *r = start_daemon((dopts){.host = "dup-host"});
  char *res = wait_result(q, "dup", 5000);
  for (int i = 0; i < 50 && xlen(q, "judger:q:match") > 0; i++)
    usleep(50000);
  cr_assert_eq(xlen(q, "judger:q:match"), 0);
  cr_assert_eq(fake_count(fk, "dup"), 1);
  cr_assert_eq(xlen(q, "judger:results"), 1);
  json_object *o = json_tokener_parse(res);
  json_object *task = NULL, *v = NULL;
  cr_assert(json_object_object_get_ex(o, "task", &task));
  cr_assert(json_object_object_get_ex(task, "host", &v));
  cr_assert_str_eq(json_object_get_string(v), "dup-host");
  cr_assert(json_object_object_get_ex(task, "attempt", &v));
  cr_assert_eq(json_object_get_int(v), 1);
  json_object_put(o);
  free(res);
  stop_daemon(r, true);
  jd_queue_free(q);
}

Test(daemon, progress_reaches_the_status_record, .init = up, .fini = down) {
  jd_queue *q = client();
  running *r = start_daemon((dopts){.host = "prog-host", .lease_ms = 600});
  submit(q, JD_PRIO_MATCH, "prog", "{\"sleep_ms\":1500}");
  wait_started("prog", 3000);
  char *p = NULL;
  for (int i = 0; i < 40 && !(p && strstr(p, "turn")); i++) {
    free(p);
    usleep(50000);
    p = hget(q, "prog", "progress");
  }
  cr_assert(p && strstr(p, "\"turn\""), "progress: %s", p ? p : "(none)");
  free(p);
  char *state = hget(q, "prog", "state"), *host = hget(q, "prog", "host");
  cr_assert_str_eq(state, "running");
  cr_assert_str_eq(host, "prog-host");
  free(state);
  free(host);
  char *st = NULL;
  cr_assert_eq(jd_queue_status_json(&st, q, 5), 0);
  cr_assert(strstr(st, "\"prog\"") && strstr(st, "prog-host"), "%s", st);
  free(st);
  free(wait_result(q, "prog", 5000));
  state = hget(q, "prog", "state");
  cr_assert_str_eq(state, "finished");
  free(state);
  stop_daemon(r, true);
  jd_queue_free(q);
}

Test(daemon, a_stalled_match_is_ended, .init = up, .fini = down) {
  jd_queue *q = client();
  running *r = start_daemon((dopts){.host = "stall-host", .lease_ms = 300, .stall_ms = 400});
  submit(q, JD_PRIO_MATCH, "stuck", "{\"sleep_ms\":20000,\"behave\":\"hang\"}");
  int64_t t0 = jd_unix_ms();
  char *res = wait_result(q, "stuck", 5000);
  cr_assert(jd_unix_ms() - t0 < 4000);
  char *status = hget(q, "stuck", "status");
  cr_assert_str_eq(status, "stalled");
  free(status);
  free(res);
  stop_daemon(r, true);
  jd_queue_free(q);
}

Test(daemon, drain_lets_a_short_task_finish, .init = up, .fini = down) {
  jd_queue *q = client();
  running *r = start_daemon((dopts){.host = "drain-ok", .grace_ms = 5000});
  submit(q, JD_PRIO_MATCH, "short", "{\"sleep_ms\":400}");
  wait_started("short", 3000);
  stop_daemon(r, true); /* returns once the task is done */
  char *res = result_of(q, "short");
  cr_assert_not_null(res, "the task finished within the grace period");
  cr_assert(strstr(res, "\"finished\""));
  free(res);
  jd_queue_free(q);
}

Test(daemon, drain_gives_a_long_task_back_without_counting_it, .init = up, .fini = down) {
  jd_queue *q = client();
  running *a = start_daemon((dopts){.host = "drain-a", .grace_ms = 300, .lease_ms = 60000});
  submit(q, JD_PRIO_MATCH, "long", "{\"sleep_ms\":3000}");
  wait_started("long", 3000);
  int64_t t0 = jd_unix_ms();
  stop_daemon(a, true);
  cr_assert(jd_unix_ms() - t0 < 2500, "the grace period bounds the stop");
  cr_assert_null(result_of(q, "long"));
  char *state = hget(q, "long", "state"), *att = hget(q, "long", "attempts"),
       *by = hget(q, "long", "drained_by");
  cr_assert_str_eq(state, "queued");
  cr_assert_str_eq(att, "0", "a drained attempt is not counted");
  cr_assert_str_eq(by, "drain-a");
  free(state);
  free(att);
  free(by);
  /* Given back: another judger takes it at once, not after the 60 s lease. */
  running *b = start_daemon((dopts){.host = "drain-b", .lease_ms = 60000});
  char *res = wait_result(q, "long", 8000);
  json_object *o = json_tokener_parse(res);
  json_object *task = NULL, *v = NULL;
  cr_assert(json_object_object_get_ex(o, "task", &task));
  cr_assert(json_object_object_get_ex(task, "attempt", &v));
  cr_assert_eq(json_object_get_int(v), 1);
  cr_assert(json_object_object_get_ex(task, "host", &v));
  cr_assert_str_eq(json_object_get_string(v), "drain-b");
  json_object_put(o);
  free(res);
  stop_daemon(b, true);
  jd_queue_free(q);
}

Test(daemon, redis_restarted_mid_task_the_result_still_arrives, .init = up, .fini = down) {
  jd_queue *q = client();
  running *r = start_daemon((dopts){.host = "restart-host", .lease_ms = 1500});
  submit(q, JD_PRIO_MATCH, "through", "{\"sleep_ms\":1500}");
  wait_started("through", 3000);
  t_redis_restart(srv, 300);
  /* And away when the result is ready: it waits for Redis to come back. */
  submit(q, JD_PRIO_MATCH, "later", "{\"sleep_ms\":200}");
  free(wait_result(q, "through", 15000));
  wait_started("later", 10000);
  t_redis_kill(srv);
  usleep(1000000);
  t_redis_resume(srv);
  free(wait_result(q, "later", 15000));
  cr_assert_eq(fake_count(fk, "through"), 1);
  cr_assert_eq(fake_count(fk, "later"), 1);
  stop_daemon(r, true);
  jd_queue_free(q);
}
