/* The daemon's metric families and setters (see daemon_metrics.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/version.h"
#include "daemon/daemon_metrics.h"
#include "dockerapi/counts.h"

static const char *const phase_names[] = {
#define JD_PHASE_NAME(code, name, text) name,
    JD_PHASE_MAP(JD_PHASE_NAME)
#undef JD_PHASE_NAME
};

static const char *const end_names[] = {
#define JD_TASK_END_NAME(code, name, text) name,
    JD_TASK_STATUS_MAP(JD_TASK_END_NAME) JD_TASK_END_EXTRA_MAP(JD_TASK_END_NAME)
#undef JD_TASK_END_NAME
};

static const char *const lookahead_names[] = {
#define JD_LOOKAHEAD_NAME(code, name, text) name,
    JD_LOOKAHEAD_MAP(JD_LOOKAHEAD_NAME)
#undef JD_LOOKAHEAD_NAME
};

/* One per JD_PAUSE_MAP entry, in its order (guard.h). */
static const char *const pause_labels[] = {"engine_unreachable", "disk_low"};
_Static_assert(sizeof pause_labels / sizeof pause_labels[0] == JD_PAUSE_COUNT,
               "a label per pause reason");

const char *jd_phase_name(jd_phase p) {
  return (unsigned)p < JD_PHASE_COUNT ? phase_names[p] : "?";
}

const char *jd_task_end_name(jd_task_end e) {
  return (unsigned)e < JD_TASK_END_COUNT ? end_names[e] : "?";
}

/* The first entries of the end list are the statuses, in their order. */
jd_task_end jd_task_end_of_status(jd_task_status s) {
  return (unsigned)s < JD_TASK_STATUS_COUNT ? (jd_task_end)s : JD_TASK_END_ERROR;
}

const char *jd_lookahead_event_name(jd_lookahead_event e) {
  return (unsigned)e < JD_LOOKAHEAD_COUNT ? lookahead_names[e] : "?";
}

const char *jd_pause_label(jd_pause p) {
  return (unsigned)p < JD_PAUSE_COUNT ? pause_labels[p] : "?";
}

/* Seconds: from a fast prepare to an hour-long match. */
static const double phase_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,    2.5,
                                       5,     10,   30,    60,   120, 300,  600, 1800, 3600};

/* Engine calls: resources and actions a call name is made of. Anything
 * else is "other", so the label set stays closed. */
static const char *const resources[] = {"containers", "images",  "networks", "build",
                                        "exec",       "volumes", "events",   "info",
                                        "version",    "_ping",   "system"};
static const char *const actions[] = {"create",  "start",      "wait",   "kill",    "stop",
                                      "logs",    "attach",     "json",   "archive", "prune",
                                      "connect", "disconnect", "tag",    "push",    "pull",
                                      "load",    "get",        "resize", "restart", "pause"};

/* Made at 0 from the start: an alert on increase() needs the series
 * before its first error. */
static const char *const common_calls[] = {"ping",
                                           "info",
                                           "events",
                                           "build",
                                           "containers.create",
                                           "containers.start",
                                           "containers.wait",
                                           "containers.kill",
                                           "containers.remove",
                                           "containers.inspect",
                                           "images.inspect",
                                           "networks.create",
                                           "networks.remove"};

struct jd_dmetrics {
  jd_metric *engine_requests; /* read from engine_client's counters (at the end) */
  dk_client *engine_client;
  jd_metric *live_entries, *live_dropped, *live_watchers; /* read through live_fn */
  jd_dmetrics_live_fn live_fn;
  void *live_ud;
  jd_redis_stats *redis_stats; /* read at each scrape */
  jd_metric *failovers, *readonly, *replica_waits, *results_unconfirmed, *claims_unconfirmed;
  jd_metrics *reg;
  jd_metric *build_info, *slots, *busy, *tasks, *phase, *verdicts, *engine_errors;
  jd_metric *redis_up, *engine_up, *disk_free, *renewals, *takeovers, *lost, *paused;
  jd_metric *lookahead;
  jd_metric *turns;
  jd_metric *tasksets, *taskset_tasks;
};

jd_metrics *jd_dmetrics_registry(jd_dmetrics *m) { return m ? m->reg : NULL; }

#define DEF(type_, name_, help_, ...)                                                              \
  (jd_metric_def) {                                                                                \
    .type = JD_METRIC_##type_, .name = name_, .help = help_, .labels = { __VA_ARGS__ }             \
  }

static int add_families(jd_dmetrics *m) {
  struct {
    jd_metric **slot;
    jd_metric_def def;
  } defs[] = {
      {&m->build_info,
       DEF(GAUGE, "judger_build_info", "The judger's version; always 1.", "version")},
      {&m->slots, DEF(GAUGE, "judger_slots", "Tasks this daemon runs at once (--slots).")},
      {&m->busy, DEF(GAUGE, "judger_slots_busy", "Slots running a task now.")},
      {&m->tasks, DEF(COUNTER, "judger_tasks_total",
                      "Attempts ended, by task type and how they ended.", "type", "status")},
      {&m->phase,
       DEF(HISTOGRAM, "judger_task_phase_seconds", "Where a task's time goes, by phase.", "phase")},
      {&m->verdicts, DEF(COUNTER, "judger_player_verdicts_total",
                         "Players of stored match results, by verdict.", "verdict")},
      {&m->engine_errors, DEF(COUNTER, "judger_engine_errors_total",
                              "Engine calls that failed on the engine's side (unreachable, 5xx, "
                              "protocol), by call.",
                              "call")},
      {&m->redis_up, DEF(GAUGE, "judger_redis_up", "1 when the last Redis read succeeded.")},
      {&m->engine_up, DEF(GAUGE, "judger_engine_up", "1 while the engine's event stream is open.")},
      {&m->disk_free, DEF(GAUGE, "judger_disk_free_bytes",
                          "Free bytes (for an unprivileged user) by path.", "path")},
      {&m->renewals, DEF(COUNTER, "judger_lease_renewals_total", "Entry leases renewed.")},
      {&m->takeovers, DEF(COUNTER, "judger_lease_takeovers_total",
                          "Entries claimed from another host after its lease ran out.")},
      {&m->lost, DEF(COUNTER, "judger_lease_lost_total",
                     "Entries of this host another host took over (its lease ran out here).")},
      {&m->paused,
       DEF(GAUGE, "judger_paused", "1 while the daemon takes no tasks for this reason.", "reason")},
      {&m->turns, DEF(COUNTER, "judger_turns_total",
                      "Turns of turn-clocked players in stored match results, by outcome "
                      "(ended, timed_out).",
                      "outcome")},
      {&m->tasksets, DEF(GAUGE, "judger_tasksets_running",
                         "Tasksets not ended yet, fleet-wide (read from Redis by the keeper every "
                         "third round).")},
      {&m->taskset_tasks, DEF(GAUGE, "judger_taskset_tasks",
                              "Members of a running taskset by state (held, queued, running, "
                              "finished, failed, cancelled) and their total; at most 20 sets.",
                              "taskset", "state")},
      {&m->live_entries,
       DEF(COUNTER, "judger_live_entries_total",
           "Live stream entries (a match's events and frames) written to Redis.")},
      {&m->live_dropped, DEF(COUNTER, "judger_live_dropped_total",
                             "Live stream entries never written to Redis: the pusher's backlog "
                             "was full while Redis was slow or away, the stop's flush ran out, "
                             "another run held the task, or the entry was over the live "
                             "entry cap (then no HTTP watcher got it either).")},
      {&m->live_watchers,
       DEF(GAUGE, "judger_live_watchers", "HTTP watchers of this host's live streams now.")},
      {&m->failovers, DEF(COUNTER, "judger_redis_failovers_total",
                          "Times a connection found the sentinels naming another primary.")},
      {&m->readonly, DEF(COUNTER, "judger_redis_readonly_total",
                         "READONLY, MASTERDOWN or LOADING replies turned into a reconnect.")},
      {&m->replica_waits, DEF(COUNTER, "judger_replica_waits_total",
                              "WAITs for the replicas after a claim, result or dead letter, by "
                              "outcome (confirmed, short: fewer replicas acked in time).",
                              "outcome")},
      {&m->results_unconfirmed,
       DEF(GAUGE, "judger_results_unconfirmed",
           "Stored results no replica confirmed yet: kept in the spool and stored again.")},
      {&m->claims_unconfirmed, DEF(COUNTER, "judger_claims_unconfirmed_total",
                                   "Claims no replica confirmed: given back uncounted, not run.")},
      {&m->lookahead, DEF(COUNTER, "judger_lookahead_total",
                          "Look-aheads (a waiting entry prepared while every slot is busy), by "
                          "what became of them.",
                          "event")},
  };
  for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++) {
    if (defs[i].def.type == JD_METRIC_HISTOGRAM) {
      defs[i].def.buckets = phase_buckets;
      defs[i].def.nbuckets = sizeof phase_buckets / sizeof phase_buckets[0];
    }
    if (jd_metrics_add(defs[i].slot, m->reg, &defs[i].def))
      return -1;
  }
  return 0;
}
#undef DEF

/* Every closed-set series at 0, the constant ones at their value. */
static int add_series(jd_dmetrics *m, int slots) {
  int rc = jd_metric_set(m->build_info, (const char *[]){JD_VERSION}, 1);
  rc |= jd_metric_set(m->slots, NULL, slots);
  rc |= jd_metric_set(m->busy, NULL, 0);
  for (int k = JD_TASK_BUILD; k <= JD_TASK_MATCH; k++)
    for (int e = 0; e < JD_TASK_END_COUNT; e++)
      rc |= jd_metric_add(
          m->tasks,
          (const char *[]){jd_task_kind_name((jd_task_kind)k), jd_task_end_name((jd_task_end)e)},
          0);
  for (int p = 0; p < JD_PHASE_COUNT; p++)
    rc |= jd_metric_touch(m->phase, (const char *[]){jd_phase_name((jd_phase)p)});
  for (int v = 0; v < JD_VERDICT_COUNT; v++)
    rc |= jd_metric_add(m->verdicts, (const char *[]){jd_verdict_name((jd_verdict)v)}, 0);
  rc |= jd_metric_add(m->turns, (const char *[]){"ended"}, 0);
  rc |= jd_metric_add(m->turns, (const char *[]){"timed_out"}, 0);
  for (size_t i = 0; i < sizeof common_calls / sizeof common_calls[0]; i++)
    rc |= jd_metric_touch(m->engine_errors, (const char *[]){common_calls[i]});
  rc |= jd_metric_set(m->redis_up, NULL, 0);
  rc |= jd_metric_set(m->engine_up, NULL, 0);
  rc |= jd_metric_add(m->renewals, NULL, 0);
  rc |= jd_metric_add(m->takeovers, NULL, 0);
  rc |= jd_metric_add(m->lost, NULL, 0);
  for (int r = 0; r < JD_PAUSE_COUNT; r++)
    rc |= jd_metric_set(m->paused, (const char *[]){jd_pause_label((jd_pause)r)}, 0);
  rc |= jd_metric_add(m->live_entries, NULL, 0);
  rc |= jd_metric_add(m->live_dropped, NULL, 0);
  rc |= jd_metric_set(m->live_watchers, NULL, 0);
  rc |= jd_metric_add(m->failovers, NULL, 0);
  rc |= jd_metric_add(m->readonly, NULL, 0);
  rc |= jd_metric_add(m->replica_waits, (const char *[]){"confirmed"}, 0);
  rc |= jd_metric_add(m->replica_waits, (const char *[]){"short"}, 0);
  rc |= jd_metric_set(m->results_unconfirmed, NULL, 0);
  rc |= jd_metric_add(m->claims_unconfirmed, NULL, 0);
  for (int e = 0; e < JD_LOOKAHEAD_COUNT; e++)
    rc |= jd_metric_add(m->lookahead,
                        (const char *[]){jd_lookahead_event_name((jd_lookahead_event)e)}, 0);
  return rc ? -1 : 0;
}

static int add_engine_requests(jd_dmetrics *m);

int jd_dmetrics_new(jd_dmetrics **out, int slots) {
  *out = NULL;
  jd_dmetrics *m = calloc(1, sizeof *m);
  if (!m || jd_metrics_new(&m->reg) || add_families(m) || add_series(m, slots) ||
      add_engine_requests(m)) {
    jd_dmetrics_free(m);
    return -1;
  }
  *out = m;
  return 0;
}

void jd_dmetrics_free(jd_dmetrics *m) {
  if (!m)
    return;
  jd_metrics_free(m->reg);
  free(m);
}

void jd_dmetrics_task(jd_dmetrics *m, const jd_task_kind *kind, jd_task_end end) {
  if (m)
    jd_metric_add(
        m->tasks,
        (const char *[]){kind ? jd_task_kind_name(*kind) : "unknown", jd_task_end_name(end)}, 1);
}

void jd_dmetrics_phase(jd_dmetrics *m, jd_phase p, double seconds) {
  if (m && seconds >= 0)
    jd_metric_observe(m->phase, (const char *[]){jd_phase_name(p)}, seconds);
}

void jd_dmetrics_verdict(jd_dmetrics *m, jd_verdict v, unsigned n) {
  if (m && n)
    jd_metric_add(m->verdicts, (const char *[]){jd_verdict_name(v)}, n);
}

void jd_dmetrics_turns(jd_dmetrics *m, uint64_t ended, uint64_t timed_out) {
  if (!m)
    return;
  if (ended)
    jd_metric_add(m->turns, (const char *[]){"ended"}, (double)ended);
  if (timed_out)
    jd_metric_add(m->turns, (const char *[]){"timed_out"}, (double)timed_out);
}

void jd_dmetrics_busy(jd_dmetrics *m, int busy) {
  if (m)
    jd_metric_set(m->busy, NULL, busy);
}

void jd_dmetrics_redis_up(jd_dmetrics *m, bool up) {
  if (m)
    jd_metric_set(m->redis_up, NULL, up);
}

void jd_dmetrics_engine_up(jd_dmetrics *m, bool up) {
  if (m)
    jd_metric_set(m->engine_up, NULL, up);
}

void jd_dmetrics_disk_free(jd_dmetrics *m, const char *path, int64_t bytes) {
  if (m && path)
    jd_metric_set(m->disk_free, (const char *[]){path}, (double)bytes);
}

void jd_dmetrics_lease_renewals(jd_dmetrics *m, unsigned n) {
  if (m)
    jd_metric_add(m->renewals, NULL, n);
}

void jd_dmetrics_lease_takeovers(jd_dmetrics *m, unsigned n) {
  if (m)
    jd_metric_add(m->takeovers, NULL, n);
}

void jd_dmetrics_lease_lost(jd_dmetrics *m, unsigned n) {
  if (m)
    jd_metric_add(m->lost, NULL, n);
}

void jd_dmetrics_paused(jd_dmetrics *m, jd_pause r, bool paused) {
  if (m)
    jd_metric_set(m->paused, (const char *[]){jd_pause_label(r)}, paused);
}

void jd_dmetrics_tasksets(jd_dmetrics *m, const jd_taskset_view *v, size_t n, size_t total) {
  if (!m)
    return;
  jd_metric_set(m->tasksets, NULL, (double)total);
  jd_metric_clear(m->taskset_tasks);
  for (size_t i = 0; i < n; i++) {
    const jd_taskset_counts *c = &v[i].c;
    struct {
      const char *state;
      int64_t n;
    } rows[] = {{"total", c->total},        {"held", c->held},         {"queued", c->queued},
                {"running", c->running},    {"finished", c->finished}, {"failed", c->failed},
                {"cancelled", c->cancelled}};
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++)
      jd_metric_set(m->taskset_tasks, (const char *[]){v[i].id, rows[k].state}, (double)rows[k].n);
  }
}

void jd_dmetrics_lookahead(jd_dmetrics *m, jd_lookahead_event e) {
  if (m)
    jd_metric_add(m->lookahead, (const char *[]){jd_lookahead_event_name(e)}, 1);
}

void jd_dmetrics_replica_wait(jd_dmetrics *m, bool confirmed) {
  if (m)
    jd_metric_add(m->replica_waits, (const char *[]){confirmed ? "confirmed" : "short"}, 1);
}

void jd_dmetrics_results_unconfirmed(jd_dmetrics *m, size_t n) {
  if (m)
    jd_metric_set(m->results_unconfirmed, NULL, (double)n);
}

void jd_dmetrics_claim_unconfirmed(jd_dmetrics *m) {
  if (m)
    jd_metric_add(m->claims_unconfirmed, NULL, 1);
}

static const char *find_word(const char *const *words, size_t n, const char *s, size_t len) {
  for (size_t i = 0; i < n; i++)
    if (strlen(words[i]) == len && !strncmp(words[i], s, len))
      return words[i];
  return NULL;
}

/* "POST /containers/abc/start?x=1" -> "containers.start"; "GET /_ping" ->
 * "ping"; "DELETE /networks/n" -> "networks.remove"; "GET
 * /containers/abc/json" -> "containers.json". */
void jd_engine_call_name(char *out, size_t n, const char *method, const char *path) {
  const char *p = path ? path : "";
  while (*p == '/')
    p++;
  size_t end = strcspn(p, "?");
  size_t seg = strcspn(p, "/?");
  const char *res = find_word(resources, sizeof resources / sizeof resources[0], p, seg);
  if (!res) {
    snprintf(out, n, "other");
    return;
  }
  if (!strcmp(res, "_ping") || !strcmp(res, "info") || !strcmp(res, "version") ||
      !strcmp(res, "events") || !strcmp(res, "build")) {
    snprintf(out, n, "%s", res[0] == '_' ? res + 1 : res);
    return;
  }
  /* The last segment names the action when it is a known one. */
  size_t last = end;
  while (last > seg && p[last - 1] != '/')
    last--;
  const char *act =
      last > seg ? find_word(actions, sizeof actions / sizeof actions[0], p + last, end - last)
                 : NULL;
  const char *m = method ? method : "";
  if (!act)
    act = !strcmp(m, "DELETE") ? "remove"
          : !strcmp(m, "GET")  ? (last > seg ? "inspect" : "list")
                               : "other";
  snprintf(out, n, "%s.%s", res, act);
}

void jd_dmetrics_engine_error(jd_dmetrics *m, const char *method, const char *path) {
  if (!m)
    return;
  char call[64];
  jd_engine_call_name(call, sizeof call, method, path);
  jd_metric_add(m->engine_errors, (const char *[]){call}, 1);
}

/* ---- engine requests: the client's own counters, read at each scrape ---- */

static int add_engine_requests(jd_dmetrics *m) {
  jd_metric_def def = {.type = JD_METRIC_COUNTER,
                       .name = "judger_engine_requests_total",
                       .help = "Requests sent to the engine, by kind (libdockerapi's counters: "
                               "dockerapi/counts.h).",
                       .labels = {"kind"}};
  if (jd_metrics_add(&m->engine_requests, m->reg, &def))
    return -1;
  int rc = 0;
  for (int k = 0; k < DK_CALL_KIND_COUNT; k++)
    rc |= jd_metric_touch(m->engine_requests, (const char *[]){dk_call_kind_name((dk_call_kind)k)});
  return rc ? -1 : 0;
}

/* The registry's one collector: the engine client's counters and the live
 * streams' totals, each when set. */
static void collect(void *ud) {
  jd_dmetrics *m = ud;
  if (m->engine_client) {
    dk_call_counts n;
    dk_client_counts(&n, m->engine_client);
    for (int k = 0; k < DK_CALL_KIND_COUNT; k++)
      jd_metric_set_total(m->engine_requests, (const char *[]){dk_call_kind_name((dk_call_kind)k)},
                          (double)n.n[k]);
  }
  if (m->redis_stats) {
    jd_redis_stats st;
    jd_redis_stats_get(&st, m->redis_stats);
    jd_metric_set_total(m->failovers, NULL, (double)st.failovers);
    jd_metric_set_total(m->readonly, NULL, (double)st.readonly);
  }
  if (m->live_fn) {
    int64_t entries = 0, dropped = 0;
    int watchers = 0;
    m->live_fn(m->live_ud, &entries, &dropped, &watchers);
    jd_metric_set_total(m->live_entries, NULL, (double)entries);
    jd_metric_set_total(m->live_dropped, NULL, (double)dropped);
    jd_metric_set(m->live_watchers, NULL, watchers);
  }
}

static void set_collector(jd_dmetrics *m) {
  jd_metrics_set_collector(m->reg,
                           m->engine_client || m->live_fn || m->redis_stats ? collect : NULL, m);
}

void jd_dmetrics_engine_client(jd_dmetrics *m, dk_client *dk) {
  if (!m)
    return;
  m->engine_client = dk;
  set_collector(m);
}

void jd_dmetrics_redis_stats(jd_dmetrics *m, jd_redis_stats *s) {
  if (!m)
    return;
  m->redis_stats = s;
  set_collector(m);
}

void jd_dmetrics_live(jd_dmetrics *m, jd_dmetrics_live_fn fn, void *ud) {
  if (!m)
    return;
  m->live_fn = fn;
  m->live_ud = ud;
  set_collector(m);
}
