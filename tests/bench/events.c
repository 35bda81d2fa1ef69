/* Benchmark: what the engine spends in one match, from its own events
 * (issue 26: where a goal is missed, the engine's per-phase timings).
 *
 * Runs `judger run SPEC --json` as a process (the trivial match of bench.h
 * with --players N, 2 by default, or any spec with --spec) while reading
 * the engine's /events (containers and networks; those of the run's own
 * host id only: container labels and network names carry it), and prints
 * each event as an offset in ms from the fork: network create / connect /
 * disconnect / destroy, container create / start / die / destroy; then the
 * time-to-result (first stdout byte) and the exit, and a summary: per
 * container create->start and die->destroy (medians), and the last event.
 * Events are read until every container seen created is destroyed and
 * nothing labelled with the host is left (the detached teardown's included),
 * at most 60 s after the exit. One run of each binary first, not printed
 * (caches, and the stock of networks: one host id per binary). --base
 * JUDGER: the same for an older binary after.
 *
 *   bench_events [runs] [--players N] [--spec SPEC] [--base JUDGER]
 */
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "common/tmpfile.h"
#include "common/util.h"
#include "support.h"

#define MAXEV 4096

typedef struct ev {
  long long at_us; /* from t0 */
  char type[12], action[16], name[96], id[72];
} ev;

typedef struct recorder {
  pthread_mutex_t mu;
  ev evs[MAXEV];
  int n, created, destroyed;
  long long t0_ns;
  char host[64];
  dk_cancel *cancel;
} recorder;

static dk_client *dk;
static char state_dir[] = "/tmp/jdbench-events-XXXXXX";
static char out_dir[] = "/tmp/jdbench-events-out-XXXXXX";

static long long unix_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static const char *attr(json_object *o, const char *key) {
  json_object *a, *at, *v;
  if (json_object_object_get_ex(o, "Actor", &a) &&
      json_object_object_get_ex(a, "Attributes", &at) && json_object_object_get_ex(at, key, &v))
    return json_object_get_string(v);
  return NULL;
}

static int on_event(void *ud, const dk_event *e) {
  recorder *r = ud;
  if (!e->json || !strstr(e->json, r->host) || !e->type || !e->action)
    return 0;
  if (strcmp(e->type, "container") && strcmp(e->type, "network"))
    return 0;
  json_object *o = json_tokener_parse(e->json);
  const char *name = attr(o, "name"), *role = attr(o, "judger.role");
  pthread_mutex_lock(&r->mu);
  if (r->n < MAXEV) {
    ev *x = &r->evs[r->n++];
    x->at_us = (e->time_nano - r->t0_ns) / 1000;
    snprintf(x->type, sizeof x->type, "%s", e->type);
    snprintf(x->action, sizeof x->action, "%.15s", e->action);
    snprintf(x->name, sizeof x->name, "%s%s%s", role ? role : "", role ? " " : "",
             name ? name : "");
    snprintf(x->id, sizeof x->id, "%s", e->id ? e->id : "");
  }
  if (!strcmp(e->type, "container") && !strcmp(e->action, "create"))
    r->created++;
  if (!strcmp(e->type, "container") && !strcmp(e->action, "destroy"))
    r->destroyed++;
  pthread_mutex_unlock(&r->mu);
  json_object_put(o);
  return 0;
}

static void *events_main(void *ud) {
  recorder *r = ud;
  static const char *const types[] = {"container", "network", NULL};
  dk_events_opts o = {.types = types, .since = r->t0_ns / 1000000000LL - 1};
  dk_call call = {.cancel = r->cancel};
  dk_system_events(dk, &o, on_event, r, &call);
  return NULL;
}

static bool settled(recorder *r) {
  pthread_mutex_lock(&r->mu);
  bool all = r->created > 0 && r->destroyed >= r->created;
  pthread_mutex_unlock(&r->mu);
  return all && bench_leftovers(dk, r->host) == 0;
}

/* The offset (ms) of action on container id, -1 when not seen. */
static long long at_of(const recorder *r, const char *id, const char *action) {
  for (int i = 0; i < r->n; i++)
    if (!strcmp(r->evs[i].id, id) && !strcmp(r->evs[i].action, action))
      return r->evs[i].at_us / 1000;
  return -1;
}

static void summary(const recorder *r) {
  long long cs[512], dd[512];
  int ncs = 0, ndd = 0;
  long long last = 0;
  for (int i = 0; i < r->n; i++) {
    const ev *x = &r->evs[i];
    last = x->at_us > last ? x->at_us : last;
    if (strcmp(x->type, "container") || strcmp(x->action, "create") || ncs == 512)
      continue;
    long long s = at_of(r, x->id, "start"), d = at_of(r, x->id, "die"),
              g = at_of(r, x->id, "destroy");
    if (s >= 0)
      cs[ncs++] = s - x->at_us / 1000;
    if (d >= 0 && g >= 0)
      dd[ndd++] = g - d;
  }
  printf("  containers %d: create->start median %lld ms, die->destroy median %lld ms; last "
         "event at %lld ms\n",
         r->created, ncs ? bench_median(cs, ncs) : -1, ndd ? bench_median(dd, ndd) : -1,
         last / 1000);
}

static int one_run(const char *bin, const char *spec, const char *host, int seq, bool print) {
  static recorder r;
  memset(&r, 0, sizeof r);
  pthread_mutex_init(&r.mu, NULL);
  snprintf(r.host, sizeof r.host, "%s", host);
  if (dk_cancel_new(&r.cancel))
    return -1;
  static char out[1 << 16];
  bench_proc p = {.out = out, .out_cap = sizeof out};
  char *const argv[] = {(char *)bin,   "run",     (char *)spec, "--json", "--out", out_dir,
                        "--state-dir", state_dir, "--host-id",  r.host,   NULL};
  r.t0_ns = unix_ns();
  pthread_t th;
  pthread_create(&th, NULL, events_main, &r);
  int rc = bench_proc_run(&p, argv, bench_no_line, NULL);
  for (int i = 0; i < 3000 && !settled(&r); i++)
    usleep(20000);
  dk_cancel_fire(r.cancel);
  pthread_join(th, NULL);
  dk_cancel_free(r.cancel);
  if (rc)
    fprintf(stderr, "%s run %s failed (status %d): %.300s\n", bin, spec, p.status, out);
  if (print && !rc) {
    printf("%s, run %d: ms from the fork\n", bin, seq);
    for (int i = 0; i < r.n; i++)
      printf("  %8.1f  %-9s %-10s %s\n", (double)r.evs[i].at_us / 1000.0, r.evs[i].type,
             r.evs[i].action, r.evs[i].name);
    printf("  time-to-result %lld ms, exit %lld ms\n", p.first_out, p.wall);
    summary(&r);
    fflush(stdout);
  }
  pthread_mutex_destroy(&r.mu);
  return rc;
}

int main(int argc, char **argv) {
  bench_host_settings();
  int runs = 1, players = 2;
  const char *base = NULL, *spec = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--base") && i + 1 < argc)
      base = argv[++i];
    else if (!strcmp(argv[i], "--players") && i + 1 < argc)
      players = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--spec") && i + 1 < argc)
      spec = argv[++i];
    else
      runs = atoi(argv[i]);
  }
  if (runs < 1)
    runs = 1;
  if (players < 1 || players > BENCH_FLOOR_MAX_PLAYERS)
    players = 2;
  if (dk_client_new(&dk, NULL) || dk_ping(dk, NULL)) {
    fprintf(stderr, "bench_events: the engine is not reachable\n");
    return 1;
  }
  t_busybox_image(dk);
  if (!mkdtemp(state_dir) || !mkdtemp(out_dir))
    return 1;
  char trivial[256];
  if (!spec) {
    snprintf(trivial, sizeof trivial, "%s/trivial-%d.json", state_dir, players);
    char *json = bench_trivial_spec(players, "");
    if (!json || jd_write_file(trivial, json, strlen(json)))
      return 1;
    free(json);
    spec = trivial;
  }
  const char *bins[] = {JD_BINARY_DIR "/bin/judger", base};
  int rc = 0, seq = 0;
  for (int b = 0; b < (base ? 2 : 1) && !rc; b++) {
    /* One host id per binary: the unprinted first run fills the stock of
     * networks (net_stock.h) the printed ones take from, as on a host
     * that has run a match before. */
    char host[64];
    snprintf(host, sizeof host, "bench-ev-%d-%d", (int)getpid(), b);
    rc = one_run(bins[b], spec, host, seq++, false);
    for (int i = 0; i < runs && !rc; i++)
      rc = one_run(bins[b], spec, host, seq++, true);
    bench_drop_stock(dk, host);
  }
  jd_rm_rf(state_dir);
  jd_rm_rf(out_dir);
  dk_client_free(dk);
  return rc ? 1 : 0;
}
