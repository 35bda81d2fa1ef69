// test-labels: redis
/* The daemon's writes that must survive a failover (docs/queue.md
 * "Failover: what is guaranteed"), with a fake executor against a real
 * primary and a replica the test pauses (SIGSTOP): a result no replica
 * confirmed stays in the spool (judger_results_unconfirmed) and is stored
 * again until the resumed replica confirms it; a claim no replica confirmed
 * is given back uncounted and never run; a dead letter's short WAIT is
 * counted. */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <json-c/json.h>

#include "common/clock.h"
#include "daemon/daemon.h"
#include "daemon/daemon_internal.h"
#include "daemon/daemon_metrics.h"
#include "daemon_proc.h"
#include "queue/queue.h"
#include "redis_server.h"
#include "support.h"

/* ---- a fake executor: {"sleep_ms": N}; counts the runs of each task ---- */

typedef struct fake {
  pthread_mutex_t mu;
  char ids[64][64];
  int n;
} fake;

static int fake_execute(void *self, const jd_task *t, void *prepared, const jd_exec_env *env,
                        jd_exec_result *res) {
  (void)prepared;
  fake *f = self;
  pthread_mutex_lock(&f->mu);
  if (f->n < 64)
    snprintf(f->ids[f->n++], 64, "%s", t->id);
  pthread_mutex_unlock(&f->mu);
  json_object *v = NULL;
  int64_t sleep_ms =
      json_object_object_get_ex(t->spec, "sleep_ms", &v) ? json_object_get_int64(v) : 0;
  for (int64_t end = jd_mono_ms() + sleep_ms; jd_mono_ms() < end && !dk_cancel_fired(env->cancel);)
    usleep(10000);
  res->status = JD_TASK_STATUS_FINISHED;
  res->summary = strdup("scores 1 0");
  res->result = json_object_new_object();
  json_object_object_add(res->result, "match_id", json_object_new_string(t->id));
  return JD_EXEC_DONE;
}

static int fake_prepare(void **prepared, void *self, const jd_task *t, char *err, size_t errlen) {
  (void)self;
  *prepared = NULL;
  json_object *v = NULL;
  if (json_object_object_get_ex(t->spec, "invalid", &v)) {
    snprintf(err, errlen, "match: invalid on purpose");
    return -1;
  }
  return 0;
}

static int runs_of(fake *f, const char *id) {
  int n = 0;
  pthread_mutex_lock(&f->mu);
  for (int i = 0; i < f->n; i++)
    n += !strcmp(f->ids[i], id);
  pthread_mutex_unlock(&f->mu);
  return n;
}

/* ---- a primary and its replica --------------------------------------------- */

static t_redis *primary, *replica;
static bool paused;
/* replica_wait_ms of the daemons a test starts. */
static const char *wait_ms = "200";
static fake fk = {.mu = PTHREAD_MUTEX_INITIALIZER};

static long long admin_int(const t_redis *r, char *out, size_t n, const char *fmt, ...) {
  redisContext *c = redisConnect("127.0.0.1", r->port);
  cr_assert(c && !c->err, "connect to port %d", r->port);
  va_list ap;
  va_start(ap, fmt);
  redisReply *rep = redisvCommand(c, fmt, ap);
  va_end(ap);
  cr_assert(rep, "command on port %d: %s", r->port, c->errstr);
  long long v = rep->type == REDIS_REPLY_INTEGER ? rep->integer : -1;
  if (out)
    snprintf(out, n, "%s", rep->str ? rep->str : "");
  freeReplyObject(rep);
  redisFree(c);
  return v;
}

static void wait_info(const t_redis *r, const char *want) {
  char info[4096];
  int64_t end = jd_mono_ms() + 10000;
  for (;;) {
    admin_int(r, info, sizeof info, "INFO replication");
    if (strstr(info, want))
      return;
    cr_assert(jd_mono_ms() < end, "no %s after 10 s:\n%s", want, info);
    usleep(20000);
  }
}

static void up(void) {
  primary = t_redis_start(false, false);
  replica = t_redis_start(false, false);
  admin_int(primary, NULL, 0, "CONFIG SET repl-diskless-sync-delay 0");
  char port[16];
  snprintf(port, sizeof port, "%d", primary->port);
  admin_int(replica, NULL, 0, "REPLICAOF 127.0.0.1 %s", port);
  wait_info(primary, "state=online");
  wait_info(replica, "master_link_status:up");
  /* A replica fresh from its full sync acks its first WAITs at its 1 s
   * cron: warmed up until one is acked at once. */
  int64_t end = jd_mono_ms() + 10000;
  while (admin_int(primary, NULL, 0, "WAIT 1 200") < 1)
    cr_assert(jd_mono_ms() < end, "the replica acks no WAIT");
  memset(fk.ids, 0, sizeof fk.ids);
  fk.n = 0;
  wait_ms = "200";
}

static void down(void) {
  if (paused)
    kill(replica->pid, SIGCONT);
  paused = false;
  t_redis_stop(replica);
  t_redis_stop(primary);
}

static void pause_replica(bool on) {
  cr_assert_eq(kill(replica->pid, on ? SIGSTOP : SIGCONT), 0);
  paused = on;
}

/* ---- the daemon in a thread --------------------------------------------------- */

typedef struct running {
  jd_daemon *d;
  pthread_t th;
  int rc;
  char *state;
} running;

static void *run_thread(void *arg) {
  running *r = arg;
  r->rc = jd_daemon_run(r->d);
  return NULL;
}

/* state: the daemon's state dir (taken over), NULL for a new one. */
static running *start_daemon_in(const char *host, char *state) {
  running *r = calloc(1, sizeof *r);
  r->state = state ? state : t_tmpdir("confirm");
  jd_config c;
  cr_assert_eq(jd_config_defaults(&c), 0);
  char err[256];
  const char *kv[][2] = {{"redis", primary->url},
                         {"host_id", host},
                         {"slots", "1"},
                         {"lease_ms", "3000"},
                         {"state_dir", r->state},
                         {"block_ms", "200"},
                         {"min_replicas_acked", "1"},
                         {"replica_wait_ms", wait_ms},
                         {"metrics_listen", "127.0.0.1:0"},
                         {"log_level", "warn"}};
  for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
    cr_assert_eq(jd_config_set(&c, kv[i][0], kv[i][1], err, sizeof err), 0, "%s", err);
  jd_executor ex = {.prepare = fake_prepare, .execute = fake_execute, .self = &fk};
  cr_assert_eq(jd_daemon_new(&r->d, &c, NULL, &ex), 0);
  jd_config_clear(&c);
  pthread_create(&r->th, NULL, run_thread, r);
  t_daemon_wait_ready(r->d, host);
  return r;
}

static running *start_daemon(const char *host) { return start_daemon_in(host, NULL); }

/* Stops it; returns its state dir when keep (the caller's), else removes it. */
static char *stop_daemon_keep(running *r, bool keep) {
  jd_daemon_stop(r->d, true);
  pthread_join(r->th, NULL);
  cr_assert_eq(r->rc, 0, "%s", jd_daemon_error(r->d));
  jd_daemon_free(r->d);
  char *state = r->state;
  free(r);
  if (keep)
    return state;
  t_rmdir(state);
  return NULL;
}

static void stop_daemon(running *r) { stop_daemon_keep(r, false); }

/* A series' value in the daemon's /metrics text; -1 when absent. */
static double metric(running *r, const char *series) {
  dk_buf b;
  dk_buf_init(&b, 1 << 20);
  cr_assert_eq(jd_metrics_render(&b, jd_dmetrics_registry(jd_daemon_metrics(r->d))), 0);
  char key[160];
  snprintf(key, sizeof key, "\n%s ", series);
  const char *p = strstr(b.data, key);
  double v = p ? atof(p + strlen(key)) : -1;
  dk_buf_free(&b);
  return v;
}

static void wait_metric(running *r, const char *series, double at_least, int timeout_ms) {
  int64_t end = jd_mono_ms() + timeout_ms;
  while (metric(r, series) < at_least && jd_mono_ms() < end)
    usleep(20000);
  cr_assert_geq(metric(r, series), at_least, "%s", series);
}

static bool spooled(running *r, const char *host, const char *id) {
  char path[1024];
  struct stat st;
  snprintf(path, sizeof path, "%s/spool/%s/%s.json", r->state, host, id);
  return stat(path, &st) == 0;
}

static void submit(jd_queue *q, const char *id, const char *spec) {
  char json[512];
  snprintf(json, sizeof json, "{\"id\":\"%s\",\"type\":\"match\",\"match\":%s}", id, spec);
  cr_assert_eq(jd_queue_submit(NULL, q, JD_PRIO_MATCH, id, json), 0, "%s", jd_queue_error(q));
}

static long long results_of(jd_queue *q, const char *id) {
  redisReply *rep = NULL;
  cr_assert_eq(jd_redis_command(&rep, jd_queue_redis(q), "XRANGE judger:results - +"), 0);
  long long n = 0;
  for (size_t i = 0; i < rep->elements; i++) {
    const redisReply *f = rep->element[i]->element[1];
    for (size_t k = 0; k + 1 < f->elements; k += 2)
      n += !strcmp(f->element[k]->str, "task_id") && !strcmp(f->element[k + 1]->str, id);
  }
  freeReplyObject(rep);
  return n;
}

/* ---- the tests ---------------------------------------------------------------- */

Test(confirm, an_unconfirmed_result_stays_in_the_spool_until_the_replica_has_it, .init = up,
     .fini = down) {
  jd_queue *q = t_queue_client(primary->url);
  running *r = start_daemon("conf-res");
  submit(q, "res-1", "{\"sleep_ms\":600}");
  int64_t end = jd_mono_ms() + 5000;
  while (!runs_of(&fk, "res-1") && jd_mono_ms() < end)
    usleep(10000);
  cr_assert_eq(runs_of(&fk, "res-1"), 1, "the confirmed claim runs");
  pause_replica(true);
  /* Stored on the primary, but not confirmed: the spool keeps it. */
  free(t_wait_result(q, "res-1", 5000, "the test's stderr"));
  wait_metric(r, "judger_results_unconfirmed", 1, 3000);
  cr_assert(spooled(r, "conf-res", "res-1"));
  /* The keeper's flushes are short too (kept), and back off: 1, 2, 4 s
   * apart (they were 1 s apart: the third came 3.6 s after the slot's). */
  int64_t t0 = jd_mono_ms();
  double s0 = metric(r, "judger_replica_waits_total{outcome=\"short\"}");
  wait_metric(r, "judger_replica_waits_total{outcome=\"short\"}", s0 + 2, 5000);
  cr_assert(spooled(r, "conf-res", "res-1"), "the keeper's flushes are short too: kept");
  wait_metric(r, "judger_replica_waits_total{outcome=\"short\"}", s0 + 3, 8000);
  cr_assert_geq(jd_mono_ms() - t0, 5500, "the third flush came %lld ms after the slot's WAIT",
                (long long)(jd_mono_ms() - t0));
  /* Only the first flush stored it again (on the keeper's connection):
   * the next ones, on that same connection, fenced and waited only. */
  long long idle = admin_int(primary, NULL, 0, "OBJECT IDLETIME judger:result:res-1");
  cr_assert_geq(idle, 4, "the result key was last touched %lld s ago", idle);
  cr_assert_eq(metric(r, "judger_results_unconfirmed"), 1);
  /* Resumed: the keeper's next flush (backing off: 1, 2, 4 s...) is
   * confirmed and the file goes. */
  pause_replica(false);
  end = jd_mono_ms() + 12000;
  while ((spooled(r, "conf-res", "res-1") || metric(r, "judger_results_unconfirmed") != 0) &&
         jd_mono_ms() < end)
    usleep(20000);
  cr_assert_not(spooled(r, "conf-res", "res-1"), "removed once confirmed");
  cr_assert_eq(metric(r, "judger_results_unconfirmed"), 0);
  cr_assert_eq(results_of(q, "res-1"), 1, "stored again as 'already there': one result");
  cr_assert_eq(runs_of(&fk, "res-1"), 1);
  cr_assert_eq(metric(r, "judger_redis_failovers_total"), 0);
  char got[64];
  admin_int(replica, got, sizeof got, "TYPE judger:result:res-1");
  cr_assert_str_eq(got, "string", "the replica has the result");
  stop_daemon(r);
  jd_queue_free(q);
}

Test(confirm, an_unconfirmed_claim_is_given_back_and_not_run, .init = up, .fini = down) {
  jd_queue *q = t_queue_client(primary->url);
  running *r = start_daemon("conf-claim");
  pause_replica(true);
  submit(q, "claim-1", "{\"sleep_ms\":50}");
  /* Taken, claimed, not confirmed, given back; taken again... */
  wait_metric(r, "judger_claims_unconfirmed_total", 2, 10000);
  cr_assert_eq(runs_of(&fk, "claim-1"), 0, "an unconfirmed claim never runs");
  char *attempts = t_task_field(q, "claim-1", "attempts");
  cr_assert(attempts && (!strcmp(attempts, "0") || !strcmp(attempts, "1")),
            "given back uncounted (at most the claim being taken now): %s",
            attempts ? attempts : "(none)");
  free(attempts);
  pause_replica(false);
  char *res = t_wait_result(q, "claim-1", 10000, "the test's stderr");
  cr_assert_eq(t_json_int(res, "task", "attempt"), 1, "the first counted attempt: %s", res);
  free(res);
  cr_assert_eq(runs_of(&fk, "claim-1"), 1);
  wait_metric(r, "judger_replica_waits_total{outcome=\"confirmed\"}", 2, 3000);
  stop_daemon(r);
  jd_queue_free(q);
}

Test(confirm, an_unconfirmed_dead_letter_is_counted, .init = up, .fini = down) {
  jd_queue *q = t_queue_client(primary->url);
  running *r = start_daemon("conf-dead");
  pause_replica(true);
  submit(q, "dead-1", "{\"invalid\":true}");
  wait_metric(r, "judger_replica_waits_total{outcome=\"short\"}", 1, 5000);
  redisReply *rep = NULL;
  cr_assert_eq(jd_redis_command(&rep, jd_queue_redis(q), "XLEN judger:dead"), 0);
  cr_assert_eq(rep->integer, 1, "written on the primary all the same");
  freeReplyObject(rep);
  cr_assert_eq(metric(r, "judger_claims_unconfirmed_total"), 0);
  pause_replica(false);
  stop_daemon(r);
  jd_queue_free(q);
}

Test(confirm, the_next_start_stores_and_confirms_what_the_spool_kept, .init = up, .fini = down) {
  jd_queue *q = t_queue_client(primary->url);
  running *r = start_daemon("conf-restart");
  submit(q, "rst-1", "{\"sleep_ms\":300}");
  int64_t end = jd_mono_ms() + 5000;
  while (!runs_of(&fk, "rst-1") && jd_mono_ms() < end)
    usleep(10000);
  pause_replica(true);
  wait_metric(r, "judger_results_unconfirmed", 1, 5000);
  /* Stopped while the replica is still paused: the file stays. */
  char *state = stop_daemon_keep(r, true);
  char path[1024];
  struct stat st;
  snprintf(path, sizeof path, "%s/spool/conf-restart/rst-1.json", state);
  cr_assert_eq(stat(path, &st), 0, "kept in the spool for the next start");
  pause_replica(false);
  r = start_daemon_in("conf-restart", state);
  cr_assert_neq(stat(path, &st), 0, "stored and confirmed before the first task");
  cr_assert_eq(metric(r, "judger_results_unconfirmed"), 0);
  cr_assert_geq(metric(r, "judger_replica_waits_total{outcome=\"confirmed\"}"), 1);
  cr_assert_eq(results_of(q, "rst-1"), 1);
  cr_assert_eq(runs_of(&fk, "rst-1"), 1);
  stop_daemon(r);
  jd_queue_free(q);
}

/* The id of a client of r blocked in WAIT; 0 when none. */
static long long waiting_client(const t_redis *r) {
  char list[8192];
  admin_int(r, list, sizeof list, "CLIENT LIST");
  const char *p = strstr(list, "cmd=wait");
  if (!p)
    return 0;
  while (p > list && p[-1] != '\n')
    p--;
  return strncmp(p, "id=", 3) ? 0 : atoll(p + 3);
}

Test(confirm, an_unconfirmed_claim_whose_connection_died_is_left_to_expire, .init = up,
     .fini = down, .timeout = 60) {
  wait_ms = "5000";
  jd_queue *q = t_queue_client(primary->url);
  running *r = start_daemon("conf-lost");
  pause_replica(true);
  submit(q, "lost-1", "{\"sleep_ms\":50}");
  /* Its claim's WAIT is under way: the connection dies in it. */
  long long id = 0;
  int64_t end = jd_mono_ms() + 5000;
  while (!(id = waiting_client(primary)) && jd_mono_ms() < end)
    usleep(10000);
  cr_assert_neq(id, 0, "no WAIT seen");
  admin_int(primary, NULL, 0, "CLIENT KILL ID %lld", id);
  wait_metric(r, "judger_claims_unconfirmed_total", 1, 5000);
  /* Not given back (no drained on the next connection: it could release
   * another run's claim of the same token): the claim stays until its
   * lease, and its attempt stays counted. */
  cr_assert_eq(admin_int(primary, NULL, 0, "EXISTS judger:claim:lost-1"), 1, "the claim is kept");
  char *attempts = t_task_field(q, "lost-1", "attempts");
  cr_assert(attempts && !strcmp(attempts, "1"), "attempts %s", attempts ? attempts : "(none)");
  free(attempts);
  cr_assert_eq(runs_of(&fk, "lost-1"), 0, "not run");
  pause_replica(false);
  /* Taken again once the lease ran out: the second attempt runs. */
  char *res = t_wait_result(q, "lost-1", 20000, "the test's stderr");
  cr_assert_eq(t_json_int(res, "task", "attempt"), 2, "%s", res);
  free(res);
  cr_assert_eq(runs_of(&fk, "lost-1"), 1);
  stop_daemon(r);
  jd_queue_free(q);
}

Test(confirm, a_primary_short_of_replicas_keeps_the_result_in_the_spool, .init = up, .fini = down,
     .timeout = 60) {
  jd_queue *q = t_queue_client(primary->url);
  running *r = start_daemon("conf-norep");
  submit(q, "norep-1", "{\"sleep_ms\":600}");
  int64_t end = jd_mono_ms() + 5000;
  while (!runs_of(&fk, "norep-1") && jd_mono_ms() < end)
    usleep(10000);
  cr_assert_eq(runs_of(&fk, "norep-1"), 1);
  /* min-replicas-to-write 2 with one replica: every write is refused
   * (NOREPLICAS), the result's store too. */
  admin_int(primary, NULL, 0, "CONFIG SET min-replicas-to-write 2");
  wait_metric(r, "judger_results_unconfirmed", 1, 5000);
  cr_assert(spooled(r, "conf-norep", "norep-1"), "kept in the spool, not dropped");
  cr_assert_eq(admin_int(primary, NULL, 0, "EXISTS judger:result:norep-1"), 0);
  admin_int(primary, NULL, 0, "CONFIG SET min-replicas-to-write 0");
  /* The keeper stores it again and the replica confirms it. */
  end = jd_mono_ms() + 15000;
  while ((spooled(r, "conf-norep", "norep-1") || metric(r, "judger_results_unconfirmed") != 0) &&
         jd_mono_ms() < end)
    usleep(20000);
  cr_assert_not(spooled(r, "conf-norep", "norep-1"));
  cr_assert_eq(results_of(q, "norep-1"), 1);
  cr_assert_eq(runs_of(&fk, "norep-1"), 1);
  stop_daemon(r);
  jd_queue_free(q);
}

Test(confirm, a_spool_file_is_removed_only_while_it_is_the_one_written) {
  char *state = t_tmpdir("confirm-rm");
  jd_config c;
  cr_assert_eq(jd_config_defaults(&c), 0);
  char err[256];
  cr_assert_eq(jd_config_set(&c, "state_dir", state, err, sizeof err), 0, "%s", err);
  cr_assert_eq(jd_config_set(&c, "host_id", "conf-rm", err, sizeof err), 0, "%s", err);
  jd_executor ex = {.prepare = fake_prepare, .execute = fake_execute, .self = &fk};
  jd_daemon *d = NULL;
  cr_assert_eq(jd_daemon_new(&d, &c, NULL, &ex), 0);
  jd_config_clear(&c);
  jd_result_rec rec = {"rm-1", 1, 7, JD_TASK_STATUS_FINISHED, "s", "{}"};
  ino_t first = 0, second = 0;
  cr_assert_eq(jd_spool_write(&first, d, JD_PRIO_MATCH, "1-0", &rec), 0);
  /* Another run of the task writes it again (a new file, renamed over). */
  rec.attempt = 2;
  cr_assert_eq(jd_spool_write(&second, d, JD_PRIO_MATCH, "2-0", &rec), 0);
  cr_assert_neq(first, second);
  char path[1024];
  struct stat st;
  snprintf(path, sizeof path, "%s/spool/conf-rm/rm-1.json", state);
  jd_spool_remove(d, "rm-1", first);
  cr_assert_eq(stat(path, &st), 0, "the newer file stays");
  cr_assert_eq(st.st_ino, second);
  jd_spool_remove(d, "rm-1", second);
  cr_assert_neq(stat(path, &st), 0, "its own file goes");
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/spool/conf-rm", state);
  DIR *dh = opendir(dir);
  cr_assert(dh);
  int n = 0;
  for (struct dirent *de = readdir(dh); de; de = readdir(dh))
    n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
  closedir(dh);
  cr_assert_eq(n, 0, "nothing left aside");
  jd_daemon_free(d);
  t_rmdir(state);
}
