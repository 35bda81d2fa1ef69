// test-labels: engine redis serial once
/* The queue survives its own server (issue 27): real `judger daemon`
 * processes on the real engine, on a Redis Sentinel set of the test's own
 * (tests/support/redis_sentinel.h: a primary, a replica, three sentinels;
 * the daemons get the redis-sentinel:// URL, as the ACL user of
 * docs/deployment.md). The primary is killed with SIGKILL at chosen moments
 * (right after a claim, right after a result write, while no script runs),
 * Sentinel promotes the replica, the old node comes back as a replica; every
 * task still ends with exactly one result, and no daemon ever sent a script
 * to a replica. Then: every sentinel down and back, a promotion under a
 * running match, a wrong sentinel password. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <json-c/json.h>

#include "common/clock.h"
#include "common/util.h"
#include "daemon_proc.h"
#include "http_client.h"
#include "queue/queue.h"
#include "queue/redis.h"
#include "redis_sentinel.h"
#include "support.h"

#define NTASKS 100
#define DATA_PW "fo-s3cret"

static t_sentinel_set *set;
static dk_client *dk;
static char *hosts[2];

static void down(void) {
  for (int i = 0; i < 2; i++)
    if (hosts[i] && dk)
      t_cleanup_host(dk, hosts[i]);
  for (int i = 0; i < 2; i++) {
    free(hosts[i]);
    hosts[i] = NULL;
  }
  t_sentinel_stop(set);
  set = NULL;
}

/* A hiredis connection to the node the sentinels name now (the default
 * user); NULL when there is none or it does not answer. */
static redisContext *primary_conn(void) {
  int i = t_sentinel_primary(set);
  if (i < 0)
    return NULL;
  redisContext *c =
      redisConnectWithTimeout("127.0.0.1", set->data[i].port, (struct timeval){0, 300000});
  if (!c || c->err)
    goto fail;
  redisSetTimeout(c, (struct timeval){2, 0});
  if (set->o.password) {
    redisReply *r = redisCommand(c, "AUTH %s", set->o.password);
    bool ok = r && r->type == REDIS_REPLY_STATUS;
    if (r)
      freeReplyObject(r);
    if (!ok)
      goto fail;
  }
  return c;
fail:
  if (c)
    redisFree(c);
  return NULL;
}

/* A queue client on the current primary's plain URL (no sentinel: what
 * the test reads does not depend on the code under test). */
static jd_queue *primary_queue(void) {
  int i = t_sentinel_primary(set);
  cr_assert(i >= 0, "no sentinel names a primary");
  return t_queue_client(set->admin_url[i]);
}

/* An integer reply of cmd on c (GET of a number, XLEN, EXISTS...): 0 for
 * nil, -1 on error. */
static long long reply_int(redisContext *c, const char *cmd) {
  redisReply *r = redisCommand(c, cmd);
  long long v = -1;
  if (r && r->type == REDIS_REPLY_INTEGER)
    v = r->integer;
  else if (r && r->type == REDIS_REPLY_STRING)
    v = strtoll(r->str, NULL, 10);
  else if (r && r->type == REDIS_REPLY_NIL)
    v = 0;
  if (r)
    freeReplyObject(r);
  return v;
}

/* reply_int on a connection of its own to the current primary. */
static long long primary_int(const char *cmd) {
  redisContext *c = primary_conn();
  cr_assert(c, "the primary does not answer");
  long long v = reply_int(c, cmd);
  redisFree(c);
  return v;
}

typedef enum { AT_CLAIM, AT_RESULT, AT_IDLE } moment;
static const char *const moment_names[] = {"during a claim's WAIT (the replica paused)",
                                           "during a result's WAIT (the replica paused)",
                                           "idle (no claim, no result for 400 ms)"};

/* The wall clock, HH:MM:SS.mmm UTC (to read beside the nodes' logs). */
static const char *stamp(void) {
  static char buf[32];
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  snprintf(buf, sizeof buf, "%02d:%02d:%02d.%03ld", tm.tm_hour, tm.tm_min, tm.tm_sec,
           ts.tv_nsec / 1000000);
  return buf;
}

/* What kill_at watches on the primary. */
typedef struct watch {
  redisContext *c;
  long long claims, res;       /* last read; -1 before the first */
  bool claimed, stored;        /* changed since the read before */
  long long quiet_since;       /* jd_mono_ms of the last change */
  int replica;                 /* the node paused, -1 none */
  long long paused_at, rested; /* when paused; no pause before rested */
} watch;

/* Reads the claims counter and the results stream's length; false when
 * the primary does not answer. */
static bool watch_read(watch *w) {
  if (!w->c && !(w->c = primary_conn()))
    return false;
  long long claims = reply_int(w->c, "GET judger:claims");
  long long res = reply_int(w->c, "XLEN judger:results");
  if (claims < 0 || res < 0) {
    redisFree(w->c);
    w->c = NULL;
    return false;
  }
  w->claimed = w->claims >= 0 && claims != w->claims;
  w->stored = w->res >= 0 && res != w->res;
  if (w->claimed || w->stored)
    w->quiet_since = jd_mono_ms();
  w->claims = claims, w->res = res;
  return true;
}

/* For a kill during a WAIT: the replica is paused (SIGSTOP, at most 700 ms
 * at a time, then 1 s of rest: Sentinel's down-after is 2 s), so the
 * claim or result write seen next waits on it for replica_wait_ms, and the
 * kill lands inside that WAIT. (The replica still gets the write: it is in
 * its socket's buffer; what is tested is the daemon whose WAIT broke.) A
 * slot claims its next task right after it stored a result: for a claim,
 * the pause starts when a result was just seen (start_on_result). */
static void watch_pause(watch *w, bool start_on_result) {
  long long now = jd_mono_ms();
  if (w->replica < 0 && now >= w->rested && (!start_on_result || w->stored)) {
    w->replica = 1 - t_sentinel_primary(set);
    cr_assert(w->replica == 0 || w->replica == 1);
    t_sentinel_pause(set, w->replica);
    w->paused_at = now;
    w->claims = w->res = -1; /* changes before the pause do not count */
  } else if (w->replica >= 0 && now - w->paused_at > 700) {
    t_sentinel_resume(set, w->replica);
    w->replica = -1;
    w->rested = now + 1000;
  }
}

/* Kills the primary at moment m, once at least after results are in:
 * watches the claims counter and the results stream on the primary (every
 * ms) and kills at the first change of the one asked while the replica is
 * paused (AT_IDLE: when neither changed for 400 ms). Past 30 s without
 * that moment, kills anyway (said on stderr). Returns the index killed. */
static int kill_at(moment m, long long after) {
  watch w = {.claims = -1, .res = -1, .quiet_since = jd_mono_ms(), .replica = -1};
  long long end = jd_mono_ms() + 120000, moment_end = 0;
  bool hit = false;
  for (; !hit; usleep(1000)) {
    cr_assert(jd_mono_ms() < end, "the run stalled before %lld results", after);
    bool paused = w.replica >= 0;
    if (!watch_read(&w) || w.res < after)
      continue;
    if (!moment_end)
      moment_end = jd_mono_ms() + 30000;
    if (jd_mono_ms() >= moment_end)
      break;
    hit = m == AT_CLAIM    ? paused && w.claimed
          : m == AT_RESULT ? paused && w.stored
                           : jd_mono_ms() - w.quiet_since >= 400;
    if (!hit && m != AT_IDLE)
      watch_pause(&w, m == AT_CLAIM);
  }
  if (w.c)
    redisFree(w.c);
  int old = t_sentinel_kill_primary(set);
  if (w.replica >= 0)
    t_sentinel_resume(set, w.replica);
  fprintf(stderr, "failover: %s killed data[%d] %s%s (claims %lld, results %lld)\n", stamp(), old,
          moment_names[m], hit ? "" : " (not seen in 30 s: killed anyway)", w.claims, w.res);
  return old;
}

/* A field of the task's status record; NULL when unset; fails the test
 * when Redis does not answer (t_task_field says NULL then too: a
 * connection broken by a failover is not a missing record). */
static char *task_field(jd_queue *q, const char *id, const char *field) {
  redisReply *rep = NULL;
  cr_assert_eq(jd_redis_command(&rep, jd_queue_redis(q), "HGET judger:task:%s %s", id, field), 0,
               "HGET: %s", jd_queue_error(q));
  char *v = jd_reply_str(rep) ? strdup(rep->str) : NULL;
  freeReplyObject(rep);
  return v;
}

static char *task_id(int i) {
  char *id = NULL;
  cr_assert(asprintf(&id, "fo-%03d", i) > 0);
  return id;
}

/* Waits until every task has a result key; fails after timeout_ms naming
 * how many are missing. */
static void wait_all_results(int timeout_ms, const char *log) {
  const char *argv[NTASKS + 1];
  char keys[NTASKS][32];
  argv[0] = "EXISTS";
  for (int i = 0; i < NTASKS; i++) {
    snprintf(keys[i], sizeof keys[i], "judger:result:fo-%03d", i);
    argv[i + 1] = keys[i];
  }
  long long n = -1;
  for (long long end = jd_mono_ms() + timeout_ms; n < NTASKS; usleep(100000)) {
    cr_assert(jd_mono_ms() < end, "%lld of %d results after %d ms (log %s)", n, NTASKS, timeout_ms,
              log);
    redisContext *c = primary_conn();
    if (!c)
      continue;
    redisReply *r = redisCommandArgv(c, NTASKS + 1, argv, NULL);
    if (r && r->type == REDIS_REPLY_INTEGER)
      n = r->integer;
    if (r)
      freeReplyObject(r);
    redisFree(c);
  }
}

/* Entries of the results stream per task id (index of fo-NNN); fails on
 * an entry of another id. */
static void results_per_task(int *count, jd_queue *q) {
  redisReply *rep = NULL;
  cr_assert_eq(jd_redis_command(&rep, jd_queue_redis(q), "XRANGE judger:results - +"), 0);
  for (size_t i = 0; i < rep->elements; i++) {
    redisReply *f = rep->element[i]->element[1];
    for (size_t k = 0; k + 1 < f->elements; k += 2) {
      if (strcmp(f->element[k]->str, "task_id"))
        continue;
      int n = -1;
      cr_assert(sscanf(f->element[k + 1]->str, "fo-%d", &n) == 1 && n >= 0 && n < NTASKS,
                "a result of an unknown task %s", f->element[k + 1]->str);
      count[n]++;
    }
  }
  freeReplyObject(rep);
}

/* Every task: one result key (finished), one results entry, the result's
 * attempt within the status record's attempts. Returns the runs made. */
static int check_results(jd_queue *q) {
  int count[NTASKS] = {0}, runs = 0, retried = 0;
  results_per_task(count, q);
  for (int i = 0; i < NTASKS; i++) {
    char *id = task_id(i), *res = NULL;
    cr_assert_eq(count[i], 1, "task %s has %d entries in judger:results", id, count[i]);
    cr_assert_eq(jd_queue_get_result(&res, q, id), 0);
    cr_assert_not_null(res, "task %s has no result", id);
    json_object *o = json_tokener_parse(res), *task = NULL, *st = NULL;
    cr_assert(json_object_object_get_ex(o, "task", &task) &&
                  json_object_object_get_ex(task, "status", &st),
              "%s", res);
    cr_assert_str_eq(json_object_get_string(st), "finished", "%s: %s", id, res);
    int attempt = t_json_int(res, "task", "attempt");
    char *att = task_field(q, id, "attempts"), *state = task_field(q, id, "state");
    cr_assert(att && state, "task %s has no status record", id);
    cr_assert_str_eq(state, "finished", "task %s", id);
    int attempts = atoi(att);
    cr_assert(attempt >= 1 && attempt <= attempts, "task %s: result of attempt %d, attempts %d", id,
              attempt, attempts);
    runs += attempts;
    retried += attempts > 1;
    json_object_put(o);
    free(att);
    free(state);
    free(res);
    free(id);
  }
  fprintf(stderr, "failover: %d tasks, %d runs, %d tasks run more than once\n", NTASKS, runs,
          retried);
  return runs;
}

/* Lines of the log holding needle. */
static int log_count(const char *log, const char *needle) {
  FILE *f = fopen(log, "r");
  if (!f)
    return 0;
  char line[8192];
  int n = 0;
  while (fgets(line, sizeof line, f))
    n += strstr(line, needle) != NULL;
  fclose(f);
  return n;
}

/* The node that is a replica now has been one since its restart (it was
 * the last one killed): the daemons sent it no script and got no READONLY
 * from it. */
static void check_replica_untouched(int replica) {
  cr_assert_eq(t_sentinel_primary(set), 1 - replica);
  cr_assert(set->data[replica].pid > 0);
  const char *stats[][2] = {{"commandstats", "cmdstat_evalsha"},
                            {"commandstats", "cmdstat_eval"},
                            {"commandstats", "cmdstat_xreadgroup"},
                            {"errorstats", "errorstat_READONLY"}};
  for (size_t k = 0; k < sizeof stats / sizeof stats[0]; k++) {
    long long v = t_sentinel_info(set, (int)replica, stats[k][0], stats[k][1]);
    cr_assert_eq(v, -1, "the replica data[%d] got %s = %lld", replica, stats[k][1], v);
  }
  cr_assert(t_sentinel_info(set, replica, "commandstats", "cmdstat_ping") >= 0,
            "INFO commandstats answers on the replica");
}

/* A TCP port of 127.0.0.1 free now (the daemon's --metrics-listen). */
static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
            getsockname(fd, (struct sockaddr *)&a, &len) == 0);
  close(fd);
  return ntohs(a.sin_port);
}

/* The value of the sample named exactly series ("name" or
 * "name{label=\"v\"}") in the daemon's /metrics on port; fails when absent. */
static double metric(int port, const char *series) {
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", port);
  t_http_answer a = {0};
  cr_assert_eq(t_http(&a, "GET", url), 0, "GET %s", url);
  cr_assert_eq(a.status, 200);
  size_t n = strlen(series);
  double v = -1;
  bool found = false;
  for (const char *l = a.body.data; l && *l && !found; l = strchr(l, '\n')) {
    l += *l == '\n';
    if (!strncmp(l, series, n) && l[n] == ' ') {
      v = strtod(l + n + 1, NULL);
      found = true;
    }
  }
  dk_buf_free(&a.body);
  cr_assert(found, "no %s in %s", series, url);
  return v;
}

/* What a daemon's metrics say of the failovers it went through. */
static void check_metrics(int port, const char *host, int failovers) {
  double fo = metric(port, "judger_redis_failovers_total");
  double ro = metric(port, "judger_redis_readonly_total");
  double ok = metric(port, "judger_replica_waits_total{outcome=\"confirmed\"}");
  double shrt = metric(port, "judger_replica_waits_total{outcome=\"short\"}");
  double claims = metric(port, "judger_claims_unconfirmed_total");
  double spooled = metric(port, "judger_results_unconfirmed");
  fprintf(stderr,
          "failover: %s: failovers %.0f, readonly %.0f, waits confirmed %.0f short %.0f, claims "
          "unconfirmed %.0f, results unconfirmed now %.0f\n",
          host, fo, ro, ok, shrt, claims, spooled);
  /* At least: a failover of Sentinel's own between two kills adds some. */
  cr_assert(fo >= failovers, "%s saw %.0f failovers of %d", host, fo, failovers);
  cr_assert_eq(ro, 0, "%s got a READONLY reply: it wrote to a replica", host);
  cr_assert(ok > 0, "%s: no WAIT confirmed with a replica up", host);
  cr_assert_eq(spooled, 0, "%s: results still waiting for a replica", host);
}

static void stop_daemon(t_proc *p) {
  kill(p->pid, SIGTERM);
  cr_assert_eq(t_proc_wait(p, 30000), 0, "daemon exit after SIGTERM (log %s)", p->log);
}

Test(failover, five_primary_kills_across_100_matches_leave_one_result_each, .fini = down,
     .timeout = 600) {
  dk = t_client();
  t_busybox_image(dk);
  /* down-after 2 s: at 1 s, a loaded host (two cores, the matches' builds)
   * saw Sentinel fail over on its own now and then, a new primary reported
   * down about 1 s after its +switch-master. */
  t_sentinel_opts o = {.password = DATA_PW, .acl_user = true, .down_after_ms = 2000};
  set = t_sentinel_start(&o);
  jd_queue *q = primary_queue();
  for (int i = 0; i < NTASKS; i++) {
    char *id = task_id(i);
    t_submit_game_match(q, id, 0);
    free(id);
  }
  jd_queue_free(q);
  char *state[2];
  t_proc *d[2];
  int port[2];
  for (int i = 0; i < 2; i++) {
    hosts[i] = t_unique(i ? "jdfo-b" : "jdfo-a");
    state[i] = t_tmpdir(i ? "dstate-fob" : "dstate-foa");
    /* A lease longer than a failover: the runs go on through it. */
    char extra[160];
    port[i] = free_port();
    snprintf(extra, sizeof extra,
             "--slots 2 --lease-ms 8000 --max-attempts 10 --metrics-listen 127.0.0.1:%d", port[i]);
    d[i] = t_daemon_spawn(set->url, hosts[i], state[i], extra);
  }
  const moment plan[5] = {AT_CLAIM, AT_RESULT, AT_IDLE, AT_CLAIM, AT_RESULT};
  int last = -1, own = 0;
  for (int k = 0; k < 5; k++) {
    int killed = kill_at(plan[k], 8 + 16 * k);
    own += last >= 0 && killed == last;
    if (last >= 0 && killed == last)
      fprintf(stderr,
              "failover: note: data[%d] was primary again: Sentinel failed over on its own "
              "(a node too slow to answer for down-after?)\n",
              last);
    last = killed;
    long ms = t_sentinel_wait_failover(set, last, 30000);
    fprintf(stderr, "failover: %s %d done in %ld ms\n", stamp(), k + 1, ms);
    t_sentinel_restart_node(set, last);
    fprintf(stderr, "failover: %s data[%d] is a replica again\n", stamp(), last);
  }
  wait_all_results(240000, d[0]->log);
  q = primary_queue();
  check_results(q);
  for (int i = 0; i < 2; i++)
    fprintf(stderr, "failover: %s: %d lines on an unconfirmed write, %d on the connection\n",
            hosts[i], log_count(d[i]->log, "unconfirmed"), log_count(d[i]->log, "redis"));
  cr_assert_eq(primary_int("XLEN judger:dead"), 0, "no dead letter");
  for (int i = 0; i < 2; i++) {
    check_metrics(port[i], hosts[i], 5);
    stop_daemon(d[i]);
  }
  if (t_sentinel_primary(set) == 1 - last)
    check_replica_untouched(last);
  else
    fprintf(stderr, "failover: note: Sentinel failed over on its own after the last restart: "
                    "no replica to check\n");
  if (own)
    fprintf(stderr, "failover: note: %d failovers of Sentinel's own\n", own);
  for (int i = 0; i < 2; i++) {
    t_proc_free(d[i]);
    t_cleanup_host(dk, hosts[i]);
    t_rmdir(state[i]);
  }
  jd_queue_free(q);
}

/* The first line of the log holding both needles, into line; false when none. */
static bool log_line(char *line, size_t len, const char *log, const char *a, const char *b) {
  FILE *f = fopen(log, "r");
  bool found = false;
  while (f && !found && fgets(line, (int)len, f))
    found = strstr(line, a) && strstr(line, b);
  if (f)
    fclose(f);
  return found;
}

/* Waits until a line of the log holds both needles, shows it on stderr;
 * fails after timeout_ms. */
static void wait_log(const char *log, const char *a, const char *b, int timeout_ms) {
  char line[4096];
  for (long long end = jd_mono_ms() + timeout_ms; !log_line(line, sizeof line, log, a, b);
       usleep(50000))
    cr_assert(jd_mono_ms() < end, "no line with \"%s\" and \"%s\" in %s within %d ms", a, b, log,
              timeout_ms);
  fprintf(stderr, "failover: log: %s", line);
}

/* Entries of the results stream naming the task. */
static int results_of(jd_queue *q, const char *id) {
  redisReply *rep = NULL;
  cr_assert_eq(jd_redis_command(&rep, jd_queue_redis(q), "XRANGE judger:results - +"), 0);
  int n = 0;
  for (size_t i = 0; i < rep->elements; i++) {
    redisReply *f = rep->element[i]->element[1];
    for (size_t k = 0; k + 1 < f->elements; k += 2)
      n += !strcmp(f->element[k]->str, "task_id") && !strcmp(f->element[k + 1]->str, id);
  }
  freeReplyObject(rep);
  return n;
}

Test(failover, every_sentinel_down_then_back_the_daemon_goes_on, .fini = down, .timeout = 300) {
  dk = t_client();
  t_busybox_image(dk);
  set = t_sentinel_start(NULL);
  hosts[0] = t_unique("jdfo-sd");
  char *state = t_tmpdir("dstate-fosd");
  t_proc *d = t_daemon_spawn(set->url, hosts[0], state, NULL);
  jd_queue *q = primary_queue();
  t_submit_game_match(q, "sd-1", 0);
  free(t_wait_result(q, "sd-1", 60000, d->log));
  jd_queue_free(q);
  /* No sentinel answers, and the daemon's connections break: it must ask
   * them again, and cannot. */
  t_sentinel_sentinels_down(set);
  redisContext *c = primary_conn();
  cr_assert_null(c, "no sentinel to name the primary");
  c = redisConnect("127.0.0.1", set->data[0].port);
  cr_assert(c && !c->err);
  freeReplyObject(redisCommand(c, "CLIENT KILL TYPE normal"));
  redisFree(c);
  q = t_queue_client(set->admin_url[0]);
  t_submit_game_match(q, "sd-2", 0);
  char port[32];
  snprintf(port, sizeof port, "127.0.0.1:%d", set->sent[2].port);
  wait_log(d->log, port, "refused", 20000); /* the failure names every sentinel */
  cr_assert_eq(t_proc_wait(d, 0), -1, "the daemon goes on without sentinels (log %s)", d->log);
  char *att = task_field(q, "sd-2", "attempts");
  cr_assert_null(att, "sd-2 ran without a sentinel: attempts %s", att);
  t_sentinel_sentinels_up(set);
  free(t_wait_result(q, "sd-2", 60000, d->log));
  cr_assert_eq(results_of(q, "sd-2"), 1);
  stop_daemon(d);
  t_proc_free(d);
  jd_queue_free(q);
  t_rmdir(state);
}

Test(failover, a_replica_promoted_under_a_running_match_one_result, .fini = down, .timeout = 300) {
  dk = t_client();
  t_busybox_image(dk);
  t_sentinel_opts o = {.down_after_ms = 2000}; /* as above */
  set = t_sentinel_start(&o);
  char *state[2];
  t_proc *d[2];
  for (int i = 0; i < 2; i++) {
    hosts[i] = t_unique(i ? "jdfo-lb" : "jdfo-la");
    state[i] = t_tmpdir(i ? "dstate-folb" : "dstate-fola");
    /* The lease (2 s) runs out during the failover: the other daemon may
     * take the task over; either way one result. */
    d[i] = t_daemon_spawn(set->url, hosts[i], state[i], NULL);
  }
  jd_queue *q = primary_queue();
  t_submit_game_match(q, "lease-1", 6);
  free(t_wait_task_state(q, "lease-1", "running", 30000));
  jd_queue_free(q);
  int old = t_sentinel_kill_primary(set);
  fprintf(stderr, "failover: promotion under a match: %ld ms\n",
          t_sentinel_wait_failover(set, old, 30000));
  t_sentinel_restart_node(set, old);
  q = primary_queue();
  char *res = t_wait_result(q, "lease-1", 90000, d[0]->log);
  cr_assert(strstr(res, "\"finished\""), "%s", res);
  cr_assert_eq(results_of(q, "lease-1"), 1, "exactly one result");
  char *att = task_field(q, "lease-1", "attempts");
  cr_assert(att && t_json_int(res, "task", "attempt") <= atoi(att));
  fprintf(stderr, "failover: lease-1 stored by attempt %d of %s\n",
          t_json_int(res, "task", "attempt"), att);
  for (int i = 0; i < 2; i++) {
    stop_daemon(d[i]);
    t_proc_free(d[i]);
    t_rmdir(state[i]);
  }
  free(att);
  free(res);
  jd_queue_free(q);
}

Test(failover, a_wrong_sentinel_password_is_a_clear_fault_and_takes_nothing, .fini = down,
     .timeout = 120) {
  dk = t_client();
  t_sentinel_opts o = {.sentinel_password = "right-s3cret"};
  set = t_sentinel_start(&o);
  jd_queue *q = primary_queue();
  t_submit_game_match(q, "wp-1", 0);
  char *url = NULL;
  cr_assert(asprintf(&url,
                     "redis-sentinel://127.0.0.1:%d,127.0.0.1:%d/%s/0?sentinel_password=w"
                     "rong-s3cret",
                     set->sent[0].port, set->sent[1].port, set->master) > 0);
  hosts[0] = t_unique("jdfo-wp");
  char *state = t_tmpdir("dstate-fowp");
  t_proc *d = t_daemon_spawn(url, hosts[0], state, NULL);
  /* The message names each sentinel asked and why. */
  char port[32];
  snprintf(port, sizeof port, "127.0.0.1:%d", set->sent[1].port);
  wait_log(d->log, port, "WRONGPASS", 20000);
  cr_assert_eq(t_proc_wait(d, 0), -1, "a wrong sentinel password is retried (log %s)", d->log);
  cr_assert_eq(log_count(d->log, "s3cret"), 0, "a password in the log %s", d->log);
  cr_assert_eq(primary_int("EXISTS judger:claim:wp-1"), 0, "no claim");
  cr_assert_eq(primary_int("GET judger:claims"), 0, "no claim token handed out");
  char *att = task_field(q, "wp-1", "attempts"), *st = task_field(q, "wp-1", "state");
  cr_assert_null(att, "no attempt: %s", att);
  cr_assert_str_eq(st, "queued");
  cr_assert_eq(primary_int("XLEN judger:q:match"), 1);
  redisReply *rep = NULL;
  cr_assert_eq(jd_redis_command(&rep, jd_queue_redis(q), "XINFO GROUPS judger:q:match"), 0);
  cr_assert(rep->type == REDIS_REPLY_ERROR || rep->elements == 0,
            "the daemon never created the group, so never read an entry");
  freeReplyObject(rep);
  t_proc_free(d);
  free(st);
  free(url);
  jd_queue_free(q);
  t_rmdir(state);
}
