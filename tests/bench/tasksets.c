/* Benchmark of tasksets (issue 24; figures for docs/performance.md): two
 * `judger daemon` processes (host ids of their own, 2 slots each, a 30 s
 * lease so that renewals do not blur the per-task figures) on one
 * redis-server of the benchmark's, under a private key prefix, run
 *  - a warm-up taskset of W trivial matches (the ETA's class history);
 *  - N plain tasks (the same matches, no taskset);
 *  - a taskset of the same N matches, standings on.
 * It reports the ETA's error at 10, 25, 50 and 90 % done (|eta - real
 * remaining| / real remaining, the real remaining known at the end), the
 * time from the last member's result (its results line's stream id, the
 * server's clock) to the standings stored (the key polled every 0.5 ms),
 * and what the taskset costs Redis per task against the plain tasks: INFO
 * stats' commands (scripts' own included) and bytes in/out, commandstats'
 * calls by command, before and after each, less the daemons' idle traffic
 * (a rate measured first) and the benchmark's own reads (counted as sent;
 * a view's cost read by INFO just before and after it). A trivial match:
 * the test game logic in "bench" mode and two players that exit at once
 * (tests/bench/bench.c), players drawn from 10 program ids so that the
 * standings have a table to fit. Needs the engine and redis-server; run
 *   build/bin/bench_tasksets [N] [--warm W] [--slots S] */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "common/clock.h"
#include "queue/queue.h"
#include "queue/redis.h"
#include "queue/taskset.h"
#include "redis_server.h"
#include "support.h"
#include "taskset/taskset.h"

#define PREFIX "jdbts"
#define NPROGRAMS 10

static t_redis *srv;
static dk_client *dk;
static jd_queue *q;   /* submits, views, INFO */
static jd_redis *obs; /* the benchmark's own reads (XREAD, GET), counted */
static char hosts[2][64];

/* ---- Redis traffic ---------------------------------------------------------------- */

/* Calls by command (commandstats' names: "hget", "xinfo|groups"...). */
#define MAXCMDS 128

typedef struct traffic {
  double cmds, in, out; /* commands processed (scripts' own included), bytes */
  double by[MAXCMDS];   /* calls of names[i] */
} traffic;

static char names[MAXCMDS][48];
static int nnames;
static traffic own; /* what the benchmark sent on obs since the last reset */

static int name_index(const char *name, size_t len) {
  char n[48];
  if (len >= sizeof n)
    len = sizeof n - 1;
  for (size_t i = 0; i < len; i++)
    n[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
  n[len] = '\0';
  for (int i = 0; i < nnames; i++)
    if (!strcmp(names[i], n))
      return i;
  if (nnames == MAXCMDS)
    return MAXCMDS - 1; /* the last one collects the rest */
  snprintf(names[nnames], sizeof names[0], "%s", n);
  return nnames++;
}

static double resp_size(const redisReply *r) {
  char num[32];
  switch (r->type) {
  case REDIS_REPLY_STRING:
    return (double)snprintf(num, sizeof num, "$%zu\r\n", r->len) + (double)r->len + 2;
  case REDIS_REPLY_STATUS:
  case REDIS_REPLY_ERROR:
    return (double)r->len + 3;
  case REDIS_REPLY_INTEGER:
    return (double)snprintf(num, sizeof num, ":%lld\r\n", r->integer);
  case REDIS_REPLY_ARRAY: {
    double n = (double)snprintf(num, sizeof num, "*%zu\r\n", r->elements);
    for (size_t i = 0; i < r->elements; i++)
      n += resp_size(r->element[i]);
    return n;
  }
  default:
    return 5; /* "$-1\r\n" */
  }
}

static double req_size(int argc, const char **argv) {
  char num[32];
  double n = (double)snprintf(num, sizeof num, "*%d\r\n", argc);
  for (int i = 0; i < argc; i++)
    n += (double)snprintf(num, sizeof num, "$%zu\r\n", strlen(argv[i])) + (double)strlen(argv[i]) +
         2;
  return n;
}

static const char *info_argv[] = {"INFO", "stats", "commandstats"};

/* One command of the benchmark's own on obs, its traffic counted. */
static redisReply *obs_cmd(long block_ms, int argc, const char **argv) {
  redisReply *r = NULL;
  if (jd_redis_command_argv(&r, obs, block_ms, argc, argv, NULL)) {
    fprintf(stderr, "redis: %s\n", jd_redis_error(obs));
    exit(1);
  }
  own.cmds += 1;
  own.by[name_index(argv[0], strlen(argv[0]))] += 1;
  own.in += req_size(argc, argv);
  own.out += resp_size(r);
  return r;
}

static double info_field(const char *text, const char *key) {
  const char *p = strstr(text, key);
  return p ? atof(p + strlen(key)) : 0;
}

/* INFO stats and commandstats; the INFO reply's own size in *reply. */
static traffic info(double *reply) {
  redisReply *r = NULL;
  traffic t = {0};
  if (jd_redis_command_argv(&r, jd_queue_redis(q), 0, 3, info_argv, NULL) || !r->str) {
    fprintf(stderr, "INFO failed\n");
    exit(1);
  }
  t.cmds = info_field(r->str, "total_commands_processed:");
  t.in = info_field(r->str, "total_net_input_bytes:");
  t.out = info_field(r->str, "total_net_output_bytes:");
  for (const char *p = strstr(r->str, "cmdstat_"); p; p = strstr(p + 1, "cmdstat_")) {
    const char *name = p + 8;
    t.by[name_index(name, strcspn(name, ":"))] = info_field(p, "calls=");
  }
  *reply = resp_size(r);
  freeReplyObject(r);
  return t;
}

/* The two INFOs around a reading, counted as the benchmark's own. */
static void own_infos(traffic *t, double reply1, double reply2) {
  t->cmds += 2, t->by[name_index("info", 4)] += 2;
  t->in += 2 * req_size(3, info_argv), t->out += reply1 + reply2;
}

/* after - before, less the INFOs' own traffic: the first one's command
 * and reply, the second one's request (read before it runs). */
static traffic delta(const traffic *a, const traffic *b, double reply) {
  traffic d = {
      b->cmds - a->cmds - 1, b->in - a->in - req_size(3, info_argv), b->out - a->out - reply, {0}};
  for (int i = 0; i < MAXCMDS; i++)
    d.by[i] = b->by[i] - a->by[i];
  d.by[name_index("info", 4)] -= 1;
  return d;
}

/* a - k * b */
static traffic sub(traffic a, const traffic *b, double k) {
  a.cmds -= k * b->cmds, a.in -= k * b->in, a.out -= k * b->out;
  for (int i = 0; i < MAXCMDS; i++)
    a.by[i] -= k * b->by[i];
  return a;
}

static traffic scaled(traffic a, double k) { return sub((traffic){0}, &a, -k); }

/* ---- the matches -------------------------------------------------------------------- */

static void player(char *out, size_t len, int k) {
  snprintf(out, len,
           "{\"id\":\"bot%d\",\"image\":\"" BENCH_IMAGE "\",\"dir\":\"" BENCH_TRIVIAL
           "\",\"cmd\":[\"sh\",\"/app/main.sh\"]}",
           k);
}

/* Match task id: two distinct programs of NPROGRAMS, every pair in turn. */
static char *match_task(const char *id, int k) {
  int a = k % NPROGRAMS, b = (a + 1 + (k / NPROGRAMS) % (NPROGRAMS - 1)) % NPROGRAMS;
  char pa[512], pb[512], *s = NULL;
  player(pa, sizeof pa, a);
  player(pb, sizeof pb, b);
  if (asprintf(&s,
               "{\"id\":\"%s\",\"type\":\"match\",\"match\":{\"id\":\"%s\",\"game_logic\":{"
               "\"id\":\"game\",\"image\":\"" BENCH_IMAGE "\",\"dir\":\"" JD_SOURCE_DIR
               "/tests/judger/programs/game\",\"cmd\":[\"sh\",\"/app/main.sh\"]},\"players\":[%s,"
               "%s],\"config\":{\"mode\":\"bench\",\"plan\":\"0 1\"}}}",
               id, id, pa, pb) < 0)
    exit(1);
  return s;
}

static void submit_plain(const char *tag, int n) {
  for (int k = 0; k < n; k++) {
    char id[64];
    snprintf(id, sizeof id, "%s-g%d", tag, k);
    char *json = match_task(id, k);
    if (jd_queue_submit(NULL, q, JD_PRIO_MATCH, id, json)) {
      fprintf(stderr, "submit: %s\n", jd_queue_error(q));
      exit(1);
    }
    free(json);
  }
}

/* The taskset file of n matches, parsed and submitted; its ETA class. */
static void submit_taskset(char *klass, size_t klen, const char *tsid, int n) {
  size_t cap = (size_t)n * 1024 + 256, len = 0;
  char *json = malloc(cap), err[512];
  len += (size_t)snprintf(json, cap, "{\"id\":\"%s\",\"priority\":\"match\",\"tasks\":[", tsid);
  for (int k = 0; k < n; k++) {
    char id[64];
    snprintf(id, sizeof id, "%s-g%d", tsid, k);
    char *m = match_task(id, k);
    len += (size_t)snprintf(json + len, cap - len, "%s%s", k ? "," : "", m);
    free(m);
  }
  snprintf(json + len, cap - len, "],\"standings\":true}");
  jd_taskset *ts = NULL;
  if (jd_taskset_parse(&ts, json, 0, 0, err, sizeof err) ||
      jd_taskset_submit(q, ts, err, sizeof err)) {
    fprintf(stderr, "taskset %s: %s\n", tsid, err);
    exit(1);
  }
  snprintf(klass, klen, "%s", ts->members[0].klass);
  jd_taskset_free(ts);
  free(json);
}

/* ---- watching the results stream ------------------------------------------------------ */

typedef struct watch {
  char last[64];   /* stream id read up to */
  const char *tag; /* members' id prefix ("<tag>-g") */
  int done;
  int64_t last_ms; /* stream id time of the last member's line */
  int64_t set_ms;  /* of the taskset's own line; 0 before */
} watch;

static const char *field(const redisReply *kv, const char *name) {
  for (size_t i = 0; i + 1 < kv->elements; i += 2)
    if (!strcmp(kv->element[i]->str, name))
      return kv->element[i + 1]->str;
  return NULL;
}

static void watch_start(watch *w, const char *tag) {
  memset(w, 0, sizeof *w);
  w->tag = tag;
  const char *argv[] = {"XREVRANGE", PREFIX ":results", "+", "-", "COUNT", "1"};
  redisReply *r = obs_cmd(0, 6, argv);
  snprintf(w->last, sizeof w->last, "%s", r->elements ? r->element[0]->element[0]->str : "0-0");
  freeReplyObject(r);
}

static void watch_entry(watch *w, const redisReply *e) {
  const char *id = e->element[0]->str, *tid = field(e->element[1], "task_id");
  const char *set = field(e->element[1], "taskset_id");
  size_t tl = strlen(w->tag);
  snprintf(w->last, sizeof w->last, "%s", id);
  if (set && !strcmp(set, w->tag))
    w->set_ms = atoll(id);
  else if (tid && !strncmp(tid, w->tag, tl) && !strncmp(tid + tl, "-g", 2)) {
    w->done++;
    w->last_ms = atoll(id);
  }
}

/* Reads what came (blocking up to block_ms). */
static void watch_step(watch *w, long block_ms) {
  char b[32];
  snprintf(b, sizeof b, "%ld", block_ms);
  const char *argv[] = {"XREAD",   "COUNT",           "1000", "BLOCK", b,
                        "STREAMS", PREFIX ":results", w->last};
  redisReply *r = obs_cmd(block_ms, 8, argv);
  if (r->type == REDIS_REPLY_ARRAY)
    for (size_t s = 0; s < r->elements; s++)
      for (size_t i = 0; i < r->element[s]->element[1]->elements; i++)
        watch_entry(w, r->element[s]->element[1]->element[i]);
  freeReplyObject(r);
}

/* Polls the standings key every 0.5 ms; the time it was first seen. */
static int64_t standings_seen(const char *tsid, int64_t timeout_ms) {
  char key[256];
  snprintf(key, sizeof key, PREFIX ":taskset:%s:standings", tsid);
  const char *argv[] = {"EXISTS", key};
  int64_t until = jd_unix_ms() + timeout_ms;
  while (jd_unix_ms() < until) {
    redisReply *r = obs_cmd(0, 2, argv);
    long long n = r->integer;
    freeReplyObject(r);
    if (n)
      return jd_unix_ms();
    usleep(500);
  }
  return -1;
}

/* A view, its Redis cost (INFO just before and after) added to *cost and
 * the two INFOs to own. */
static void view(jd_taskset_view *v, traffic *cost, const char *tsid) {
  bool found = false;
  double r1, r2;
  traffic a = info(&r1);
  if (jd_queue_taskset_view(v, &found, q, tsid) || !found) {
    fprintf(stderr, "view %s: %s\n", tsid, found ? jd_queue_error(q) : "not found");
    exit(1);
  }
  traffic b = info(&r2), d = delta(&a, &b, r1);
  *cost = sub(*cost, &d, -1);
  own_infos(&own, r1, r2);
}

/* ---- the daemons -------------------------------------------------------------------- */

static void wait_host(const char *host) {
  for (int i = 0; i < 3000; i++) {
    redisReply *r = NULL;
    if (jd_redis_command(&r, jd_queue_redis(q), "EXISTS " PREFIX ":host:%s", host) == 0) {
      long long n = r->integer;
      freeReplyObject(r);
      if (n)
        return;
    }
    usleep(10000);
  }
  fprintf(stderr, "daemon %s never registered\n", host);
  exit(1);
}

static void settle(void) {
  for (int h = 0; h < 2; h++)
    while (bench_leftovers(dk, hosts[h]) > 0)
      usleep(20000);
}

/* ---- the phases ------------------------------------------------------------------------ */

static const double fracs[] = {0.10, 0.25, 0.50, 0.90};
#define NFRACS 4

typedef struct run {
  traffic cost; /* less idle and own (views included) */
  traffic views_cost;
  double secs;   /* submit -> last result */
  int64_t stand; /* last result -> standings seen, ms; -1 none */
  int64_t eta[NFRACS], real[NFRACS];
  int views;
} run;

/* Waits for n member results of tag; with eta, takes a view at each
 * fraction. */
static void follow(run *r, watch *w, int n, bool eta, int64_t at[NFRACS]) {
  int next = 0, seen = 0;
  int64_t moved = jd_unix_ms();
  while (w->done < n) {
    watch_step(w, 1000);
    if (w->done > seen)
      seen = w->done, moved = jd_unix_ms();
    if (jd_unix_ms() - moved > 120000) {
      fprintf(stderr, "%s: %d of %d results, none for 2 minutes\n", w->tag, w->done, n);
      exit(1);
    }
    while (eta && next < NFRACS && w->done >= (int)ceil(fracs[next] * n)) {
      jd_taskset_view v;
      view(&v, &r->views_cost, w->tag);
      r->views++;
      r->eta[next] = v.eta_ms;
      at[next++] = jd_unix_ms();
    }
  }
}

static void phase(run *r, const char *tag, int n, bool set, const traffic *idle) {
  memset(r, 0, sizeof *r);
  r->stand = -1;
  settle();
  watch w;
  int64_t at[NFRACS] = {0};
  double reply;
  own = (traffic){0};
  traffic a = info(&reply);
  int64_t t0 = jd_unix_ms();
  char klass[JD_TASK_ID_MAX + 1] = "";
  watch_start(&w, tag);
  if (set)
    submit_taskset(klass, sizeof klass, tag, n);
  else
    submit_plain(tag, n);
  follow(r, &w, n, set, at);
  if (set)
    r->stand = standings_seen(tag, 30000);
  if (set && r->stand >= 0)
    r->stand -= w.last_ms;
  traffic b = info(&(double){0});
  r->secs = (double)(w.last_ms - t0) / 1000.0;
  r->cost = sub(sub(delta(&a, &b, reply), &own, 1), idle, (double)(jd_unix_ms() - t0) / 1000.0);
  for (int i = 0; i < NFRACS; i++)
    r->real[i] = w.last_ms - at[i];
}

/* The daemons' traffic per second with nothing to do. */
static traffic idle_rate(int secs) {
  double reply;
  own = (traffic){0};
  traffic a = info(&reply);
  sleep((unsigned)secs);
  traffic b = info(&(double){0});
  return scaled(delta(&a, &b, reply), 1.0 / secs);
}

static void report(const run *plain, const run *set, int n) {
  printf("plain: %d matches in %.1f s (%.1f/min); taskset: %.1f s (%.1f/min)\n", n, plain->secs,
         n * 60.0 / plain->secs, set->secs, n * 60.0 / set->secs);
  for (int i = 0; i < NFRACS; i++)
    printf("ETA at %2.0f%% done: %6.1f s, real remaining %6.1f s, off by %+6.1f s, error %5.1f%%\n",
           fracs[i] * 100, (double)set->eta[i] / 1000.0, (double)set->real[i] / 1000.0,
           (double)(set->eta[i] - set->real[i]) / 1000.0,
           set->eta[i] < 0 || set->real[i] <= 0
               ? -1.0
               : 100.0 * fabs((double)(set->eta[i] - set->real[i])) / (double)set->real[i]);
  printf("last result -> standings stored: %lld ms\n", (long long)set->stand);
  traffic s = sub(set->cost, &set->views_cost, 1), p = plain->cost, vc = set->views_cost;
  int nv = set->views ? set->views : 1, ev = name_index("evalsha", 7), e = name_index("eval", 4);
  printf("Redis per task (commands: scripts' own included; of them EVALSHA/EVAL): plain %.1f "
         "(%.2f), %.0f B in, %.0f B out; taskset member %.1f (%.2f), %.0f B in, %.0f B out\n",
         p.cmds / n, (p.by[ev] + p.by[e]) / n, p.in / n, p.out / n, s.cmds / n,
         (s.by[ev] + s.by[e]) / n, s.in / n, s.out / n);
  printf("the taskset's cost per task: %+.1f commands, %+.0f B in, %+.0f B out; by command:",
         (s.cmds - p.cmds) / n, (s.in - p.in) / n, (s.out - p.out) / n);
  for (int i = 0; i < nnames; i++)
    if (fabs(s.by[i] - p.by[i]) / n >= 0.05)
      printf(" %s %+.2f", names[i], (s.by[i] - p.by[i]) / n);
  printf("\n(a view while it ran: %.1f commands, %.0f B in, %.0f B out; %d views taken out)\n",
         vc.cmds / nv, vc.in / nv, vc.out / nv, set->views);
}

static pid_t spawn(int h, const char *state, int slots) {
  char extra[160];
  snprintf(hosts[h], sizeof hosts[h], "bts-%d-%c", (int)getpid(), 'a' + h);
  snprintf(extra, sizeof extra, "--prefix " PREFIX " --lease-ms 30000 --net-pool 10.%d.0.0/16",
           243 + h);
  return bench_daemon_spawn(JD_BINARY_DIR "/bin/judger", srv->url, hosts[h], state, slots, extra);
}

static void setup(void) {
  srv = t_redis_start(false, false);
  if (dk_client_new(&dk, NULL) || dk_ping(dk, NULL)) {
    fprintf(stderr, "the Docker engine is not reachable\n");
    exit(1);
  }
  t_busybox_image(dk);
  jd_queue_opts qo = {.redis_url = srv->url, .prefix = PREFIX, .consumer = "bench"};
  jd_redis_opts ro = {0};
  if (jd_queue_new(&q, &qo) || jd_queue_setup(q) || jd_redis_new(&obs, srv->url, &ro) ||
      jd_redis_connect(obs)) {
    fprintf(stderr, "redis: %s\n", jd_queue_error(q));
    exit(1);
  }
}

int main(int argc, char **argv) {
  bench_host_settings();
  int n = 200, warm = 20, slots = 2;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--warm") && i + 1 < argc)
      warm = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--slots") && i + 1 < argc)
      slots = atoi(argv[++i]);
    else
      n = atoi(argv[i]);
  }
  setup();
  char *state[2] = {t_tmpdir("bench-ts"), t_tmpdir("bench-ts")};
  pid_t pid[2] = {spawn(0, state[0], slots), spawn(1, state[1], slots)};
  wait_host(hosts[0]);
  wait_host(hosts[1]);
  printf("tasksets: 2 daemons x %d slots, warm-up %d, %d trivial matches\n", slots, warm, n);
  run w, plain, set;
  traffic none = {0};
  char tag[3][64];
  snprintf(tag[0], sizeof tag[0], "warm-%d", (int)getpid());
  snprintf(tag[1], sizeof tag[1], "plain-%d", (int)getpid());
  snprintf(tag[2], sizeof tag[2], "set-%d", (int)getpid());
  phase(&w, tag[0], warm, true, &none);
  printf("warm-up: %d matches in %.1f s, standings %lld ms after the last result\n", warm, w.secs,
         (long long)w.stand);
  settle();
  traffic idle = idle_rate(5);
  printf("idle: %.1f commands/s, %.0f B/s in, %.0f B/s out (both daemons)\n", idle.cmds, idle.in,
         idle.out);
  phase(&plain, tag[1], n, false, &idle);
  phase(&set, tag[2], n, true, &idle);
  report(&plain, &set, n);
  for (int h = 0; h < 2; h++) {
    kill(pid[h], SIGTERM);
    waitpid(pid[h], NULL, 0);
    bench_drop_stock(dk, hosts[h]);
    t_rmdir(state[h]);
  }
  jd_redis_free(obs);
  jd_queue_free(q);
  dk_client_free(dk);
  t_redis_stop(srv);
  return 0;
}
