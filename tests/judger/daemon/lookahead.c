// test-labels: engine redis
/* The daemon's look-ahead (judger/daemon/lookahead.c), in-process with the
 * real executor on the real engine and a real redis-server. One slot runs
 * a long match (the daemon test game, busybox image: nothing to build);
 * the next entry is a match whose player is built from a Dockerfile of the
 * test's own (a marker makes it a cache miss). The look-ahead peeks at it
 * and builds it while the slot is busy, the entry staying undelivered (no
 * host holds it), and the slot then uses it; when another host takes the
 * entry, it is withdrawn (deleted: how a queued task is cancelled), or the
 * daemon drains, the build in flight is cancelled on
 * the engine (its RUN container disappears at once), the look-ahead's run
 * file is let go, and the daemon stops with nothing left. */
#include <dirent.h>
#include <pthread.h>
#include <unistd.h>

#include "common/clock.h"
#include "daemon/config.h"
#include "daemon/daemon.h"
#include "daemon/executor.h"
#include "daemon/metrics.h"
#include "daemon_proc.h"
#include "match/net_stock.h"
#include "match_support.h"
#include "redis_server.h"

static t_redis *srv;

static void up(void) { srv = t_redis_start(false, false); }
static void down(void) { t_redis_stop(srv); }

typedef struct running {
  tm_env env;
  jd_daemon *d;
  pthread_t th;
  int rc;
  char *progs;  /* a program root of the test's own */
  char *roots;  /* program_roots: the checkout and progs */
  char *marker; /* in the next match's RUN step */
} running;

static void *run_thread(void *arg) {
  running *r = arg;
  r->rc = jd_daemon_run(r->d);
  return NULL;
}

/* A host of its own; like: another test host whose programs it may run
 * (NULL: a program root and a marker of its own). */
static void host_init(running *r, const running *like) {
  tm_setup(&r->env);
  if (like) {
    r->roots = strdup(like->roots);
    return;
  }
  r->progs = t_tmpdir("laprogs");
  cr_assert(asprintf(&r->roots, "%s,%s", JD_SOURCE_DIR, r->progs) > 0);
  r->marker = t_unique("lamark");
}

/* A daemon with one slot on r's host. */
static void start(running *r, const char *lookahead, const char *lease) {
  if (!r->env.dk)
    host_init(r, NULL);
  const char *host = r->env.host;
  jd_config c;
  cr_assert_eq(jd_config_defaults(&c), 0);
  char err[256];
  const char *kv[][2] = {
      {"redis", srv->url},     {"host_id", host},      {"state_dir", r->env.state},
      {"slots", "1"},          {"lease_ms", lease},    {"block_ms", "100"},
      {"grace_ms", "30000"},   {"log_level", "error"}, {"metrics_listen", "127.0.0.1:0"},
      {"lookahead", lookahead}};
  for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
    cr_assert_eq(jd_config_set(&c, kv[i][0], kv[i][1], err, sizeof err), 0, "%s", err);
  r->env.ctx.policy.program_roots = r->roots;
  jd_executor ex;
  jd_executor_real(&ex, &r->env.ctx);
  cr_assert_eq(jd_daemon_new(&r->d, &c, &r->env.ctx, &ex), 0);
  jd_config_clear(&c);
  cr_assert_eq(pthread_create(&r->th, NULL, run_thread, r), 0);
  t_daemon_wait_ready(r->d, host);
}

static void stop(running *r, bool drain) {
  jd_daemon_stop(r->d, drain);
  pthread_join(r->th, NULL);
  cr_assert_eq(r->rc, 0);
  jd_daemon_free(r->d);
  r->d = NULL;
}

/* Images of the marker's program (its repository ai-<marker>-run). */
static size_t images(running *r, bool remove) {
  char repo[128];
  snprintf(repo, sizeof repo, "ai-%s-run", r->marker);
  dk_image_list *l = NULL;
  t_ok(dk_image_list_filtered(&l, r->env.dk, NULL, repo));
  size_t n = l->count;
  for (size_t i = 0; remove && i < l->count; i++)
    dk_image_remove(r->env.dk, l->items[i].id, true, false);
  dk_image_list_free(l);
  return n;
}

static void finish(running *r) {
  if (r->marker)
    images(r, true);
  tm_assert_clean(&r->env);
  t_rmdir(r->progs);
  free(r->roots);
  free(r->marker);
  tm_teardown(&r->env);
}

/* judger_lookahead_total{event}. */
static double count(running *r, const char *event) {
  dk_buf b;
  dk_buf_init(&b, 1 << 20);
  cr_assert_eq(jd_metrics_render(&b, jd_dmetrics_registry(jd_daemon_metrics(r->d))), 0);
  char key[96];
  snprintf(key, sizeof key, "judger_lookahead_total{event=\"%s\"} ", event);
  const char *p = strstr(b.data, key);
  double v = p ? atof(p + strlen(key)) : -1;
  dk_buf_free(&b);
  return v;
}

static void wait_count(running *r, const char *event, double want, int timeout_ms) {
  int64_t until = jd_mono_ms() + timeout_ms;
  while (count(r, event) < want && jd_mono_ms() < until)
    usleep(50000);
  cr_assert_eq(count(r, event), want, "lookahead %s", event);
}

/* Files in <state>/runs: one per live run (a task, a look-ahead). */
static int runs(running *r) {
  char path[600];
  snprintf(path, sizeof path, "%s/runs", r->env.state);
  DIR *dir = opendir(path);
  int n = 0;
  for (struct dirent *e; dir && (e = readdir(dir));)
    n += e->d_name[0] != '.';
  if (dir)
    closedir(dir);
  return n;
}

static void wait_runs(running *r, int want, int timeout_ms) {
  int64_t until = jd_mono_ms() + timeout_ms;
  while (runs(r) != want && jd_mono_ms() < until)
    usleep(50000);
  cr_assert_eq(runs(r), want, "run files");
}

/* True while a container (any state) runs a command with the marker: the
 * RUN step of the look-ahead's build. */
static bool building(running *r) {
  dk_container_list *l = NULL;
  t_ok(dk_container_list_by_label(&l, r->env.dk, true, NULL));
  bool found = false;
  for (size_t i = 0; i < l->count && !found; i++) {
    dk_container_info *info = NULL;
    if (dk_container_inspect(&info, r->env.dk, l->items[i].id) == 0)
      found = strstr(info->raw_json, r->marker) != NULL;
    dk_container_info_free(info);
  }
  dk_container_list_free(l);
  return found;
}

static void wait_building(running *r, bool want, int timeout_ms) {
  int64_t until = jd_mono_ms() + timeout_ms;
  while (building(r) != want && jd_mono_ms() < until)
    usleep(200000);
  cr_assert_eq(building(r), want, "the look-ahead's RUN step %s", want ? "never ran" : "goes on");
}

/* Submits the next match: the daemon game ending at once, and a player
 * built from <progs>/<id>/run.Dockerfile whose RUN step sleeps `secs`.
 * Returns the entry id (the caller frees). */
static char *submit_next(running *r, jd_queue *q, const char *id, int secs) {
  char dir[600], path[700], df[256];
  snprintf(dir, sizeof dir, "%s/%s", r->progs, id);
  cr_assert_eq(jd_mkdir_p(dir, 0755), 0);
  snprintf(path, sizeof path, "%s/run.Dockerfile", dir);
  snprintf(df, sizeof df, "FROM " T_BUSYBOX_IMAGE "\nRUN echo %s && sleep %d\nCMD [\"true\"]\n",
           r->marker, secs);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fputs(df, f);
  fclose(f);
  char *json = NULL;
  cr_assert(asprintf(&json,
                     "{\"id\":\"%s\",\"type\":\"match\",\"match\":{\"id\":\"%s\",\"game_logic\":{"
                     "\"id\":\"dgame\",\"image\":\"" T_BUSYBOX_IMAGE "\",\"dir\":\"%s/tests/judger/"
                     "programs/daemon_game\",\"cmd\":[\"sh\",\"/app/main.sh\"]},\"players\":[{"
                     "\"id\":\"%s\",\"dir\":\"%s\"}],\"config\":{\"turns\":0}}}",
                     id, id, JD_SOURCE_DIR, r->marker, dir) > 0);
  char *entry = NULL;
  cr_assert_eq(jd_queue_submit(&entry, q, JD_PRIO_MATCH, id, json), 0, "%s", jd_queue_error(q));
  free(json);
  return entry;
}

/* Whether the entry of the match stream was delivered to any consumer of
 * the group (is pending on one). */
static bool delivered(jd_queue *q, const char *entry) {
  redisReply *rep = NULL;
  cr_assert_eq(jd_redis_command(&rep, jd_queue_redis(q), "XPENDING judger:q:match judgers %s %s 1",
                                entry, entry),
               0);
  bool yes = rep->type == REDIS_REPLY_ARRAY && rep->elements > 0;
  freeReplyObject(rep);
  return yes;
}

/* A long match in the slot, then the next entry with a build in flight in
 * the look-ahead. Returns the next entry's id. */
static char *busy_and_building(running *r, jd_queue *q, const char *first, const char *next,
                               int turns, int secs) {
  t_submit_game_match(q, first, turns);
  free(t_wait_task_state(q, first, "running", 30000));
  char *entry = submit_next(r, q, next, secs);
  wait_count(r, "started", 1, 30000);
  wait_building(r, true, 30000);
  cr_assert_eq(runs(r), 2, "the task's run file and the look-ahead's");
  cr_assert_not(delivered(q, entry), "peeked at, not read: the entry is free for every host");
  return entry;
}

Test(lookahead, the_next_entry_is_built_while_the_slot_runs_and_the_slot_uses_it, .init = up,
     .fini = down, .timeout = 240) {
  running r = {0};
  host_init(&r, NULL);
  /* The stock of networks (tm_setup's) the look-ahead fills for the next
   * match's player: a new host's is empty, and the first match holds its
   * network until it ends, so an idle one is the look-ahead's. */
  jd_net_stock *stock = r.env.ctx.net_stock;
  start(&r, "true", "2000");
  jd_queue *q = t_queue_client(srv->url);
  t_submit_game_match(q, "la-long", 20);
  free(t_wait_task_state(q, "la-long", "running", 30000));
  char *entry = submit_next(&r, q, "la-next", 0);
  /* Built before the slot took it: the first match still runs, the next
   * one still waits, delivered to no host. */
  wait_count(&r, "done", 1, 60000);
  cr_assert_not(delivered(q, entry), "the look-ahead read the entry");
  free(entry);
  cr_assert_eq(images(&r, false), 1, "the look-ahead built the next match's player");
  if (stock)
    cr_assert_geq(jd_net_stock_idle(stock), 1, "a network waits for the next match's player");
  char *next_state = t_task_field(q, "la-next", "state");
  cr_assert_str_eq(next_state, "queued");
  free(next_state);
  char *res = NULL;
  cr_assert_eq(jd_queue_get_result(&res, q, "la-long"), 0);
  cr_assert_null(res, "the first match ended before the look-ahead was done");
  free(t_wait_result(q, "la-long", 60000, "(in process)"));
  free(t_wait_result(q, "la-next", 60000, "(in process)"));
  cr_assert_eq(count(&r, "used"), 1);
  cr_assert_eq(count(&r, "wasted"), 0);
  stop(&r, true);
  cr_assert_eq(runs(&r), 0);
  finish(&r);
  jd_queue_free(q);
}

Test(lookahead, released_when_another_host_takes_the_entry, .init = up, .fini = down,
     .timeout = 240) {
  running r = {0}, other = {0};
  /* A lease long enough that this host does not claim the entry
   * (XAUTOCLAIM) before the other host's daemon has started and taken
   * back its own pending entry. */
  start(&r, "true", "12000");
  jd_queue *q = t_queue_client(srv->url);
  char *entry = busy_and_building(&r, q, "la-a-long", "la-a-next", 90, 30);
  int64_t seen = jd_mono_ms();
  /* Another host (with a free slot) reads the entry, as its reader's
   * XREADGROUP does: the look-ahead held nothing. */
  host_init(&other, &r);
  redisReply *got = NULL;
  cr_assert_eq(jd_redis_command(&got, jd_queue_redis(q),
                                "XREADGROUP GROUP judgers %s COUNT 1 STREAMS judger:q:match >",
                                other.env.host),
               0);
  cr_assert(got->type == REDIS_REPLY_ARRAY && got->elements == 1, "the other host got the entry");
  freeReplyObject(got);
  cr_assert(delivered(q, entry));
  wait_count(&r, "wasted", 1, 15000);
  wait_building(&r, false, 15000);
  wait_runs(&r, 1, 10000);
  cr_assert_eq(images(&r, false), 0, "the look-ahead's build was cancelled, not finished");
  cr_assert_lt(jd_mono_ms() - seen, 25000, "released before its RUN step could end by itself");
  cr_assert_eq(count(&r, "used"), 0);
  cr_assert_eq(count(&r, "done"), 0);
  /* The other host runs it (its own pending entries first), building
   * the program itself. */
  other.marker = r.marker;
  start(&other, "false", "30000");
  free(t_wait_result(q, "la-a-next", 150000, "(in process)"));
  char *host = t_task_field(q, "la-a-next", "host");
  cr_assert_str_eq(host, other.env.host);
  free(host);
  stop(&other, false);
  other.marker = NULL;
  stop(&r, false);
  cr_assert_eq(runs(&r), 0);
  free(entry);
  finish(&other);
  finish(&r);
  jd_queue_free(q);
}

Test(lookahead, released_when_the_task_is_withdrawn, .init = up, .fini = down, .timeout = 240) {
  running r = {0};
  start(&r, "true", "1500");
  jd_queue *q = t_queue_client(srv->url);
  char *entry = busy_and_building(&r, q, "la-w-long", "la-w-next", 60, 60);
  jd_redis *rd = jd_queue_redis(q);
  cr_assert_eq(jd_redis_command(NULL, rd, "XACK judger:q:match judgers %s", entry), 0);
  cr_assert_eq(jd_redis_command(NULL, rd, "XDEL judger:q:match %s", entry), 0);
  int64_t t0 = jd_mono_ms();
  wait_count(&r, "wasted", 1, 10000);
  wait_building(&r, false, 15000);
  wait_runs(&r, 1, 10000);
  cr_assert_lt(jd_mono_ms() - t0, 30000, "released before its RUN step could end by itself");
  cr_assert_eq(images(&r, false), 0);
  stop(&r, false);
  free(entry);
  finish(&r);
  jd_queue_free(q);
}

Test(lookahead, released_when_the_daemon_drains, .init = up, .fini = down, .timeout = 240) {
  running r = {0};
  start(&r, "true", "1500");
  jd_queue *q = t_queue_client(srv->url);
  char *entry = busy_and_building(&r, q, "la-d-long", "la-d-next", 12, 60);
  int64_t t0 = jd_mono_ms();
  jd_daemon_stop(r.d, true);
  wait_count(&r, "wasted", 1, 10000);
  wait_building(&r, false, 15000);
  cr_assert_lt(jd_mono_ms() - t0, 30000, "released before its RUN step could end by itself");
  /* The running match finishes within the grace; the next entry was
   * never read, and not run. */
  pthread_join(r.th, NULL);
  cr_assert_eq(r.rc, 0);
  jd_daemon_free(r.d);
  cr_assert_not(delivered(q, entry));
  free(t_wait_result(q, "la-d-long", 1000, "(in process)"));
  char *res = NULL;
  cr_assert_eq(jd_queue_get_result(&res, q, "la-d-next"), 0);
  cr_assert_null(res);
  cr_assert_eq(runs(&r), 0);
  cr_assert_eq(images(&r, false), 0);
  free(entry);
  finish(&r);
  jd_queue_free(q);
}

Test(lookahead, off_reads_no_entry_ahead, .init = up, .fini = down, .timeout = 240) {
  running r = {0};
  start(&r, "false", "1500");
  jd_queue *q = t_queue_client(srv->url);
  t_submit_game_match(q, "la-o-long", 3);
  free(t_wait_task_state(q, "la-o-long", "running", 30000));
  free(submit_next(&r, q, "la-o-next", 0));
  free(t_wait_result(q, "la-o-next", 60000, "(in process)"));
  cr_assert_eq(count(&r, "started"), 0);
  stop(&r, true);
  finish(&r);
  jd_queue_free(q);
}
