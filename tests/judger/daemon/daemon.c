// test-labels: engine redis
/* judger/daemon.c: the queue logic with a fake executor against a real
 * redis-server (priorities, sharing, poison tasks, malformed entries,
 * drain, Redis restarts, stalls), then end to end with the real `judger`
 * binary and the real engine (kill -9 mid-match, SIGTERM). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/clock.h"
#include "common/tmpfile.h"
#include "common/util.h"
#include "daemon/daemon.h"
#include "daemon_proc.h"
#include "match/match_result.h"
#include "queue/queue.h"
#include "redis_server.h"
#include "support.h"

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

/* The prepared form of a task is its parsed spec (a json_object). */
static int fake_prepare(void **prepared, void *self, const jd_task *t, char *err, size_t errlen) {
  (void)self;
  *prepared = NULL;
  json_object *behave = NULL;
  if (json_object_object_get_ex(t->spec, "behave", &behave) &&
      !strcmp(json_object_get_string(behave), "invalid")) {
    snprintf(err, errlen, "match.behave: invalid on purpose");
    return -1;
  }
  *prepared = json_object_get(t->spec);
  return 0;
}

static void fake_release(void *self, void *prepared) {
  (void)self;
  json_object_put(prepared);
}

static int fake_execute(void *self, const jd_task *t, void *prepared, const jd_exec_env *env,
                        jd_exec_result *res) {
  fake *f = self;
  json_object *spec = prepared;
  json_object *v = NULL;
  int64_t sleep_ms = json_object_object_get_ex(spec, "sleep_ms", &v) ? json_object_get_int64(v) : 0;
  char behave[32];
  snprintf(behave, sizeof behave, "%s",
           json_object_object_get_ex(spec, "behave", &v) ? json_object_get_string(v) : "ok");
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
      char fields[64];
      snprintf(fields, sizeof fields, "{\"turn\":%d}", turn);
      const jd_match_event ev = {.type = JD_EVENT_MATCH_PROGRESS, .progress.json = fields};
      env->event(env->ud, &ev);
    }
    usleep(20000);
  }
  char path[512];
  snprintf(path, sizeof path, "%s/replay.json", env->out_dir);
  jd_write_file(path, "{\"turns\":1}", 11);
  pthread_mutex_lock(&f->mu);
  f->running--;
  pthread_mutex_unlock(&f->mu);
  if (!strcmp(behave, "retry")) {
    res->reason = strdup("engine unreachable (fake)");
    return JD_EXEC_RETRY;
  }
  res->status = cancelled ? JD_TASK_STATUS_CANCELLED : JD_TASK_STATUS_FINISHED;
  res->summary = strdup("scores 1 0");
  res->result = json_object_new_object();
  json_object_object_add(res->result, "match_id", json_object_new_string(t->id));
  json_object_object_add(res->result, "status",
                         json_object_new_string(jd_task_status_name(res->status)));
  json_object *scores = json_object_new_array();
  json_object_array_add(scores, json_object_new_int(1));
  json_object_array_add(scores, json_object_new_int(0));
  json_object_object_add(res->result, "scores", scores);
  if (json_object_object_get_ex(spec, "out_dir", &v))
    json_object_object_add(res->result, "out_dir", json_object_get(v));
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
  const char *kv[][2] = {{"redis", srv->url},   {"host_id", o.host},     {"slots", slots},
                         {"lease_ms", lease},   {"grace_ms", grace},     {"stall_ms", stall},
                         {"max_attempts", att}, {"state_dir", r->state}, {"block_ms", "300"},
                         {"log_level", "warn"}};
  for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
    cr_assert_eq(jd_config_set(&c, kv[i][0], kv[i][1], err, sizeof err), 0, "%s", err);
  jd_executor ex = {
      .prepare = fake_prepare, .execute = fake_execute, .release = fake_release, .self = fk};
  cr_assert_eq(jd_daemon_new(&r->d, &c, NULL, &ex), 0);
  jd_config_clear(&c);
  pthread_create(&r->th, NULL, run_thread, r);
  t_daemon_wait_ready(r->d, o.host);
  return r;
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
  for (int i = 0; i < 50 && (rc = jd_queue_submit(NULL, q, p, id, json)) && jd_queue_lost(q); i++)
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
    cr_assert(!strncmp(fk->order[2 + i], "match-", 6), "position %d: %s", 2 + i, fk->order[2 + i]);
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
  cr_assert(on_a > 2 && on_b > 2, "both hosts must work: a=%d b=%d", on_a, on_b);
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
  char *state = t_task_field(q, "poison", "state"), *reason = t_task_field(q, "poison", "reason");
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
  cr_assert(jd_unix_ms() - t0 < 3500, "dead-lettering must not wait for retries");
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

Test(daemon, four_entries_of_one_id_make_one_run, .init = up, .fini = down) {
  jd_queue *q = client();
  for (int i = 0; i < 4; i++)
    submit(q, JD_PRIO_MATCH, "quad", "{\"sleep_ms\":600}");
  running *r = start_daemon((dopts){.host = "quad-host", .slots = 4});
  free(wait_result(q, "quad", 8000));
  for (int i = 0; i < 100 && xlen(q, "judger:q:match") > 0; i++)
    usleep(50000);
  cr_assert_eq(xlen(q, "judger:q:match"), 0, "every entry is acked");
  stop_daemon(r, true);
  cr_assert_eq(fake_count(fk, "quad"), 1, "ran %d times", fake_count(fk, "quad"));
  cr_assert_eq(xlen(q, "judger:results"), 1);
  char *att = t_task_field(q, "quad", "attempts"), *state = t_task_field(q, "quad", "state");
  cr_assert_str_eq(att, "1", "attempts count real runs only");
  cr_assert_str_eq(state, "finished");
  free(att);
  free(state);
  jd_queue_free(q);
}

/* The reasons of every dead letter, joined by '|'. */
static void dead_reasons(char *all, size_t n, jd_queue *q) {
  redisReply *rep = NULL;
  all[0] = '\0';
  cr_assert_eq(jd_redis_command(&rep, jd_queue_redis(q), "XRANGE judger:dead - +"), 0);
  for (size_t i = 0; i < rep->elements; i++) {
    redisReply *f = rep->element[i]->element[1];
    for (size_t k = 0; k + 1 < f->elements; k += 2)
      if (!strcmp(f->element[k]->str, "reason")) {
        strncat(all, f->element[k + 1]->str, n - strlen(all) - 2);
        strcat(all, "|");
      }
  }
  freeReplyObject(rep);
}

Test(daemon, entry_shape_depth_and_size_are_dead_letters_that_say_which, .init = up, .fini = down) {
  jd_queue *q = client();
  running *r = start_daemon((dopts){.host = "shape-host"});
  jd_redis *rd = jd_queue_redis(q);
  const char *scalars[] = {"42", "null", "true", "\"\""};
  for (size_t i = 0; i < 4; i++)
    cr_assert_eq(jd_redis_command(NULL, rd, "XADD judger:q:auto * task %s", scalars[i]), 0);
  /* 300 levels: past the default entry_max_depth (256). */
  char deep[700];
  size_t k =
      (size_t)snprintf(deep, sizeof deep, "{\"id\":\"deep\",\"type\":\"match\",\"match\":{\"c\":");
  for (int i = 0; i < 300; i++)
    deep[k++] = '[';
  deep[k] = '\0';
  cr_assert_eq(jd_redis_command(NULL, rd, "XADD judger:q:auto * task %s", deep), 0);
  /* Over entry_max_bytes (1 MiB by default). */
  size_t big_len = (1u << 20) + 100;
  char *big = malloc(big_len + 1);
  memset(big, ' ', big_len);
  big[0] = '{';
  big[big_len - 1] = '}';
  big[big_len] = '\0';
  cr_assert_eq(jd_redis_command(NULL, rd, "XADD judger:q:auto * task %s", big), 0);
  free(big);
  for (int i = 0; i < 100 && xlen(q, "judger:dead") < 6; i++)
    usleep(50000);
  cr_assert_eq(xlen(q, "judger:dead"), 6);
  char all[4096];
  dead_reasons(all, sizeof all, q);
  cr_assert(!strstr(all, "not JSON ("), "scalars are JSON: %s", all);
  const char *want[] = {"not an object (a number)",  "not an object (null)",
                        "not an object (a boolean)", "not an object (a string)",
                        "deeper than 256 levels",    "over entry_max_bytes"};
  for (size_t i = 0; i < 6; i++)
    cr_assert(strstr(all, want[i]), "no '%s' in %s", want[i], all);
  cr_assert_eq(fk->nruns, 0);
  cr_assert_eq(xlen(q, "judger:q:auto"), 0);
  stop_daemon(r, true);
  jd_queue_free(q);
}

Test(daemon, progress_reaches_the_status_record, .init = up, .fini = down) {
  jd_queue *q = client();
  running *r = start_daemon((dopts){.host = "prog-host", .lease_ms = 600});
  /* The task outlasts the wait below by far: under a loaded CI the keeper
   * that publishes progress can lag a few seconds behind. */
  submit(q, JD_PRIO_MATCH, "prog", "{\"sleep_ms\":8000}");
  wait_started("prog", 3000);
  char *p = NULL;
  for (int i = 0; i < 140 && !(p && strstr(p, "turn")); i++) {
    free(p);
    usleep(50000);
    p = t_task_field(q, "prog", "progress");
  }
  cr_assert(p && strstr(p, "\"turn\""), "progress: %s", p ? p : "(none)");
  free(p);
  char *state = t_task_field(q, "prog", "state"), *host = t_task_field(q, "prog", "host");
  cr_assert_str_eq(state, "running");
  cr_assert_str_eq(host, "prog-host");
  free(state);
  free(host);
  char *st = NULL;
  cr_assert_eq(jd_queue_status_json(&st, q, 5), 0);
  cr_assert(strstr(st, "\"prog\"") && strstr(st, "prog-host"), "%s", st);
  free(st);
  free(wait_result(q, "prog", 20000));
  state = t_task_field(q, "prog", "state");
  cr_assert_str_eq(state, "finished");
  free(state);
  stop_daemon(r, true);
  jd_queue_free(q);
}

/* One serialisation for the daemon's stored result and judger run's
 * result.json: a string with '/' reads the same in both (no "\/"). */
Test(daemon, a_stored_result_writes_slashes_as_result_json_does, .init = up, .fini = down) {
  const char *path = "/var/lib/judger/out/games/rps";
  jd_queue *q = client();
  running *r = start_daemon((dopts){.host = "slash-host"});
  submit(q, JD_PRIO_MATCH, "slash", "{\"out_dir\":\"/var/lib/judger/out/games/rps\"}");
  char *stored = wait_result(q, "slash", 20000);
  jd_match_result res = {.match_id = "slash", .out_dir = (char *)path};
  char *file = jd_match_result_json(&res);
  cr_assert_not_null(file);
  char quoted[128];
  snprintf(quoted, sizeof quoted, "\"%s\"", path);
  cr_assert_not_null(strstr(file, quoted), "result.json: %s", file);
  cr_assert_not_null(strstr(stored, quoted), "stored: %s", stored);
  cr_assert_null(strstr(stored, "\\/"), "stored: %s", stored);
  /* The same function renders both: one line for Redis. */
  json_object *o = json_tokener_parse(stored);
  cr_assert_not_null(o);
  char *again = jd_result_text(o, false);
  cr_assert_str_eq(again, stored);
  free(again);
  json_object_put(o);
  free(file);
  free(stored);
  stop_daemon(r, true);
  jd_queue_free(q);
}

Test(daemon, a_stalled_match_is_ended, .init = up, .fini = down) {
  jd_queue *q = client();
  running *r = start_daemon((dopts){.host = "stall-host", .lease_ms = 300, .stall_ms = 400});
  submit(q, JD_PRIO_MATCH, "stuck", "{\"sleep_ms\":20000,\"behave\":\"hang\"}");
  int64_t t0 = jd_unix_ms();
  char *res = wait_result(q, "stuck", 5000);
  cr_assert(jd_unix_ms() - t0 < 4500, "the stall time ends it, not the 20 s game");
  char *status = t_task_field(q, "stuck", "status");
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
  cr_assert(jd_unix_ms() - t0 < 4000, "the grace period bounds the stop");
  cr_assert_null(result_of(q, "long"));
  char *state = t_task_field(q, "long", "state"), *att = t_task_field(q, "long", "attempts"),
       *by = t_task_field(q, "long", "drained_by");
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

/* A one-request HTTP server: reads one PUT, answers 200. */
typedef struct put_server {
  int lfd, port;
  size_t body_len;
  pthread_t th;
} put_server;

static void *put_serve(void *arg) {
  put_server *s = arg;
  int fd = accept(s->lfd, NULL, NULL);
  if (fd < 0)
    return NULL;
  char buf[8192];
  size_t n = 0, clen = 0, head = 0;
  for (;;) {
    ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
    if (r <= 0)
      break;
    n += (size_t)r;
    buf[n] = '\0';
    char *end = strstr(buf, "\r\n\r\n");
    if (end) {
      head = (size_t)(end + 4 - buf);
      const char *cl = strcasestr(buf, "Content-Length:");
      clen = cl ? strtoul(cl + 15, NULL, 10) : 0;
      if (n - head >= clen)
        break;
    }
  }
  s->body_len = n - head;
  const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  if (write(fd, ok, strlen(ok)) < 0)
    s->body_len = 0;
  close(fd);
  return NULL;
}

Test(daemon, artifacts_are_uploaded_with_their_sha256, .init = up, .fini = down) {
  put_server srvp = {0};
  srvp.lfd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  cr_assert(bind(srvp.lfd, (struct sockaddr *)&a, sizeof a) == 0);
  socklen_t len = sizeof a;
  getsockname(srvp.lfd, (struct sockaddr *)&a, &len);
  srvp.port = ntohs(a.sin_port);
  cr_assert(listen(srvp.lfd, 4) == 0);
  pthread_create(&srvp.th, NULL, put_serve, &srvp);
  jd_queue *q = client();
  running *r = start_daemon((dopts){.host = "upload-host"});
  char json[512];
  snprintf(json, sizeof json,
           "{\"id\":\"up\",\"type\":\"match\",\"match\":{},\"upload\":{\"replay.json\":"
           "\"http://127.0.0.1:%d/bucket/replay.json?sig=secret\",\"missing.log\":"
           "\"http://127.0.0.1:%d/x\"}}",
           srvp.port, srvp.port);
  cr_assert_eq(jd_queue_submit(NULL, q, JD_PRIO_MATCH, "up", json), 0);
  char *res = wait_result(q, "up", 15000);
  pthread_join(srvp.th, NULL);
  close(srvp.lfd);
  cr_assert_eq(srvp.body_len, 11);
  char want[65];
  jd_sha256_hex(want, "{\"turns\":1}", 11);
  cr_assert(strstr(res, want), "sha256 of the upload in %s", res);
  cr_assert(!strstr(res, "secret"), "a pre-signed signature must not be stored: %s", res);
  cr_assert(strstr(res, "no such output file"), "%s", res);
  free(res);
  stop_daemon(r, true);
  jd_queue_free(q);
}

/* ---- end to end: the real `judger` binary on the real engine ---------- */

/* A match task of the daemon test game: `turns` seconds of progress. */
static void submit_match(jd_queue *q, jd_priority prio, const char *id, int turns) {
  char spec[2048];
  snprintf(spec, sizeof spec,
           "{\"id\":\"%s\",\"game_logic\":{\"id\":\"dgame\",\"image\":\"" T_BUSYBOX_IMAGE "\","
           "\"dir\":\"%s/tests/judger/programs/daemon_game\",\"cmd\":[\"sh\",\"/app/main.sh\"]},"
           "\"players\":[{\"id\":\"idle\",\"image\":\"" T_BUSYBOX_IMAGE "\","
           "\"cmd\":[\"true\"]}],\"config\":{\"turns\":%d}}",
           id, JD_SOURCE_DIR, turns);
  submit(q, prio, id, spec);
}

Test(daemon_e2e, a_match_through_submit_and_the_daemon, .init = up, .fini = down) {
  dk_client *c = t_client();
  t_busybox_image(c);
  char *host = t_unique("jdd-e2e"), *state = t_tmpdir("dstate");
  char *conf = NULL, *extra = NULL;
  cr_assert(asprintf(&conf, "%s/judger.conf", state) > 0);
  cr_assert_eq(jd_write_file(conf, "labels = zone=a\n", 15), 0);
  cr_assert(asprintf(&extra, "--config %s", conf) > 0);
  t_proc *d = t_daemon_spawn(srv->url, host, state, extra);
  free(extra);
  jd_queue *q = client();
  char *task = NULL;
  cr_assert(asprintf(&task, "%s/task.json", state) > 0);
  char spec[2048];
  snprintf(
      spec, sizeof spec,
      "{\"id\":\"e2e-1\",\"type\":\"match\",\"match\":{\"id\":\"e2e-1\",\"game_logic\":{\"id\":"
      "\"dgame\",\"image\":\"" T_BUSYBOX_IMAGE "\",\"dir\":\"%s/tests/judger/programs/"
      "daemon_game\",\"cmd\":[\"sh\",\"/app/main.sh\"]},\"players\":[{\"id\":\"idle\","
      "\"image\":\"" T_BUSYBOX_IMAGE "\",\"cmd\":[\"true\"]}],\"config\":{\"turns\":2}}}",
      JD_SOURCE_DIR);
  cr_assert_eq(jd_write_file(task, spec, strlen(spec)), 0);
  char *cmd = NULL;
  cr_assert(asprintf(&cmd, "%s/bin/judger submit --redis %s --priority auto --wait 60 %s > %s.out",
                     JD_BINARY_DIR, srv->url, task, task) > 0);
  cr_assert_eq(system(cmd), 0, "judger submit --wait failed (daemon log: %s)", d->log);
  char *res = wait_result(q, "e2e-1", 1000);
  cr_assert(strstr(res, "\"finished\""), "%s", res);
  json_object *o = json_tokener_parse(res), *players = NULL;
  cr_assert(json_object_object_get_ex(o, "players", &players));
  json_object *score = NULL;
  cr_assert(json_object_object_get_ex(json_object_array_get_idx(players, 0), "score", &score));
  cr_assert_eq(json_object_get_double(score), 7.0);
  json_object_put(o);
  char replay[700];
  snprintf(replay, sizeof replay, "%s/tasks/e2e-1/replay.txt", state);
  cr_assert(jd_path_exists(replay), "the replay stays in the host's output directory");
  /* judger status sees the finished task. */
  free(cmd);
  cr_assert(asprintf(&cmd, "%s/bin/judger status --redis %s --task e2e-1 | grep -q finished",
                     JD_BINARY_DIR, srv->url) > 0);
  cr_assert_eq(system(cmd), 0);
  /* SIGHUP: the config file is read again (labels show in the heartbeat). */
  cr_assert_eq(jd_write_file(conf, "labels = zone=b\n", 15), 0);
  kill(d->pid, SIGHUP);
  char hk[200];
  snprintf(hk, sizeof hk, "judger:host:%s", host);
  bool reloaded = false;
  for (int i = 0; i < 100 && !reloaded; i++) {
    redisReply *rep = NULL;
    if (jd_redis_command(&rep, jd_queue_redis(q), "GET %s", hk) == 0) {
      reloaded = jd_reply_str(rep) && strstr(rep->str, "\"zone\":\"b\"");
      freeReplyObject(rep);
    }
    usleep(50000);
  }
  cr_assert(reloaded, "SIGHUP must reload the labels (log %s)", d->log);
  kill(d->pid, SIGTERM);
  cr_assert_eq(t_proc_wait(d, 10000), 0, "daemon exit (log: %s)", d->log);
  cr_assert_eq(t_host_containers(c, host), 0);
  free(res);
  free(cmd);
  free(task);
  free(conf);
  t_proc_free(d);
  jd_queue_free(q);
  t_rmdir(state);
  free(host);
  dk_client_free(c);
}

Test(daemon_e2e, kill_9_mid_match_cleanup_rerun_one_result, .init = up, .fini = down) {
  dk_client *c = t_client();
  t_busybox_image(c);
  char *ha = t_unique("jdd-a"), *hb = t_unique("jdd-b");
  char *sa = t_tmpdir("dstate-a"), *sb = t_tmpdir("dstate-b");
  jd_queue *q = client();
  t_proc *a = t_daemon_spawn(srv->url, ha, sa, NULL);
  submit_match(q, JD_PRIO_MATCH, "k9", 4);
  free(t_wait_task_state(q, "k9", "running", 20000));
  t_wait_host_containers(c, ha, 1, 20000);
  kill(a->pid, SIGKILL);
  cr_assert_eq(t_proc_wait(a, 5000), 128 + SIGKILL);
  cr_assert(t_host_containers(c, ha) >= 1, "the killed daemon left its game logic running");
  char wd[600];
  snprintf(wd, sizeof wd, "%s/matches", sa);
  cr_assert(jd_path_exists(wd));

  /* Another judger takes the task over once the lease has run out. */
  t_proc *b = t_daemon_spawn(srv->url, hb, sb, NULL);
  char *res = wait_result(q, "k9", 40000);
  cr_assert(strstr(res, "\"finished\""), "%s", res);
  cr_assert_eq(t_json_int(res, "task", "attempt"), 2);
  /* The dead judger comes back: its leftovers are removed at start. */
  t_proc *a2 = t_daemon_spawn(srv->url, ha, sa, NULL);
  for (int i = 0; i < 150 && t_host_containers(c, ha) > 0; i++)
    usleep(100000);
  cr_assert_eq(t_host_containers(c, ha), 0, "leftovers of %s (log %s)", ha, a2->log);
  char cmd[700];
  snprintf(cmd, sizeof cmd, "test -z \"$(ls -A %s/matches 2>/dev/null)\"", sa);
  for (int i = 0; i < 50 && system(cmd) != 0; i++)
    usleep(100000);
  cr_assert_eq(system(cmd), 0, "the dead run's work dir and FIFOs must be removed");
  /* Exactly one result. */
  redisReply *rep = NULL;
  cr_assert_eq(jd_redis_command(&rep, jd_queue_redis(q), "XRANGE judger:results - +"), 0);
  int k9 = 0;
  for (size_t i = 0; i < rep->elements; i++) {
    redisReply *f = rep->element[i]->element[1];
    for (size_t k = 0; k + 1 < f->elements; k += 2)
      k9 += !strcmp(f->element[k]->str, "task_id") && !strcmp(f->element[k + 1]->str, "k9");
  }
  freeReplyObject(rep);
  cr_assert_eq(k9, 1, "exactly one result for k9");
  kill(b->pid, SIGTERM);
  kill(a2->pid, SIGTERM);
  cr_assert_eq(t_proc_wait(b, 10000), 0);
  cr_assert_eq(t_proc_wait(a2, 10000), 0);
  t_cleanup_host(c, ha);
  t_cleanup_host(c, hb);
  free(res);
  t_proc_free(a);
  t_proc_free(b);
  t_proc_free(a2);
  jd_queue_free(q);
  t_rmdir(sa);
  t_rmdir(sb);
  free(ha);
  free(hb);
  dk_client_free(c);
}

Test(daemon_e2e, sigterm_drains_and_gives_the_match_back, .init = up, .fini = down) {
  dk_client *c = t_client();
  t_busybox_image(c);
  char *ha = t_unique("jdd-term"), *sa = t_tmpdir("dstate-t");
  jd_queue *q = client();
  t_proc *a = t_daemon_spawn(srv->url, ha, sa, "--lease-ms 60000");
  submit_match(q, JD_PRIO_MATCH, "term", 30);
  free(t_wait_task_state(q, "term", "running", 20000));
  t_wait_host_containers(c, ha, 1, 20000);
  int64_t t0 = jd_unix_ms();
  kill(a->pid, SIGTERM);
  cr_assert_eq(t_proc_wait(a, 20000), 0, "exit after SIGTERM (log %s)", a->log);
  int64_t took = jd_unix_ms() - t0;
  cr_assert(took >= 1400, "running work gets the grace period (%lld ms)", (long long)took);
  cr_assert(took < 15000, "the grace period bounds the stop (%lld ms)", (long long)took);
  cr_assert_eq(t_host_containers(c, ha), 0, "a drained match leaves nothing");
  cr_assert_null(result_of(q, "term"));
  char *state = t_task_field(q, "term", "state"), *att = t_task_field(q, "term", "attempts");
  cr_assert_str_eq(state, "queued");
  cr_assert_str_eq(att, "0", "a drained attempt is not counted as failed");
  free(state);
  free(att);
  /* It is not lost: claimable at once by the next judger. */
  redisReply *rep = NULL;
  cr_assert_eq(jd_redis_command(&rep, jd_queue_redis(q), "XPENDING judger:q:match judgers - + 10"),
               0);
  cr_assert_eq(rep->elements, 1);
  cr_assert(rep->element[0]->element[2]->integer > 60000, "released: idle past any lease");
  freeReplyObject(rep);
  t_cleanup_host(c, ha);
  t_proc_free(a);
  jd_queue_free(q);
  t_rmdir(sa);
  free(ha);
  dk_client_free(c);
}

Test(daemon_e2e, redis_restarted_mid_match_the_result_arrives, .init = up, .fini = down) {
  dk_client *c = t_client();
  t_busybox_image(c);
  char *ha = t_unique("jdd-rr"), *sa = t_tmpdir("dstate-r");
  jd_queue *q = client();
  t_proc *a = t_daemon_spawn(srv->url, ha, sa, NULL);
  submit_match(q, JD_PRIO_MATCH, "rr", 3);
  free(t_wait_task_state(q, "rr", "running", 20000));
  t_redis_restart(srv, 500);
  char *res = wait_result(q, "rr", 30000);
  cr_assert(strstr(res, "\"finished\""), "%s", res);
  cr_assert_eq(t_json_int(res, "task", "attempt"), 1, "the match went on through the outage");
  kill(a->pid, SIGTERM);
  cr_assert_eq(t_proc_wait(a, 10000), 0);
  cr_assert_eq(t_host_containers(c, ha), 0);
  free(res);
  t_proc_free(a);
  jd_queue_free(q);
  t_rmdir(sa);
  free(ha);
  dk_client_free(c);
}
