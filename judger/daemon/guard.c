/* The host guard (see guard.h, disk.h and docs/daemon.md "Pauses"): one
 * thread that pings the engine and reads the disks every guard_ms (the
 * engine more often, with backoff, while it is away; at once when the
 * sweeper's event stream breaks), reclaims space under the low-water mark,
 * and publishes the pause reasons the reader and the workers obey. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/backoff.h"
#include "common/clock.h"
#include "common/log.h"
#include "daemon/daemon_internal.h"
#include "daemon/guard.h"

#define PING_TIMEOUT_MS 3000
#define PING_BACKOFF_MIN_MS 250
#define PING_BACKOFF_MAX_MS 5000

static const char *const pause_names[] = {
#define JD_PAUSE_NAME(code, name, text) name,
    JD_PAUSE_MAP(JD_PAUSE_NAME)
#undef JD_PAUSE_NAME
};

static const char *const guarded_names[] = {
#define JD_GUARDED_NAME(code, name, text) name,
    JD_GUARDED_MAP(JD_GUARDED_NAME)
#undef JD_GUARDED_NAME
};

const char *jd_pause_name(jd_pause p) { return (unsigned)p < JD_PAUSE_COUNT ? pause_names[p] : ""; }

const char *jd_guarded_name(jd_guarded g) {
  return (unsigned)g < JD_GUARDED_COUNT ? guarded_names[g] : "?";
}

jd_pause jd_guard_paused(const jd_guard_state *s) {
  for (int p = 0; p < JD_PAUSE_COUNT; p++)
    if (s->paused[p])
      return (jd_pause)p;
  return JD_PAUSE_COUNT;
}

bool jd_paused_locked(const jd_daemon *d) { return jd_guard_paused(&d->guard) != JD_PAUSE_COUNT; }

void jd_daemon_guard_get(jd_daemon *d, jd_guard_state *out) {
  pthread_mutex_lock(&d->mu);
  *out = d->guard;
  pthread_mutex_unlock(&d->mu);
}

/* What one guard keeps between its rounds (its own, not shared). */
typedef struct guard_run {
  int64_t backoff_ms; /* the next ping while the engine is away */
  char engine_root[256];
  bool root_looked_up;
  char ping_error[160];
} guard_run;

typedef struct check {
  jd_daemon *d;
  jd_disk_marks m;
  jd_guard_disk disks[JD_GUARDED_COUNT];
} check;

/* ---- the engine ---------------------------------------------------------- */

static bool engine_answers(jd_daemon *d, guard_run *g) {
  if (!d->ctx)
    return true; /* no engine to wait for (tests with a fake executor) */
  dk_call call = {.deadline_ms = dk_now_ms() + PING_TIMEOUT_MS};
  int rc = dk_ping(d->ctx->dk, &call);
  snprintf(g->ping_error, sizeof g->ping_error, "%s",
           rc ? (dk_error_last() ? dk_error_last()->message : dk_strerror(rc)) : "");
  return rc == 0;
}

/* engine_root "auto": DockerRootDir from /info when that directory exists
 * here and the engine is not reached over TCP (then it is another host's
 * path). Looked up once, when the engine first answers. */
static void engine_root_auto(jd_daemon *d, guard_run *g) {
  const char *host = dk_client_host(d->ctx->dk);
  g->root_looked_up = true;
  if (host && !strncmp(host, "tcp://", 6))
    return;
  dk_info *info = NULL;
  struct stat st;
  if (dk_system_info(&info, d->ctx->dk) == 0 && info->docker_root_dir &&
      stat(info->docker_root_dir, &st) == 0 && S_ISDIR(st.st_mode))
    snprintf(g->engine_root, sizeof g->engine_root, "%s", info->docker_root_dir);
  else
    g->root_looked_up = info != NULL; /* the engine did not answer: again later */
  dk_info_free(info);
  if (g->engine_root[0])
    jd_log(JD_LOG_INFO, "disk.engine_root", "watching the engine's data root %s", g->engine_root);
}

static const char *engine_root(jd_daemon *d, guard_run *g, bool up) {
  const char *cfg = d->cfg.engine_root;
  if (!cfg || !*cfg || !strcmp(cfg, "none"))
    return NULL;
  if (strcmp(cfg, "auto"))
    return cfg;
  if (d->ctx && up && !g->root_looked_up)
    engine_root_auto(d, g);
  return g->engine_root[0] ? g->engine_root : NULL;
}

/* ---- the disks ----------------------------------------------------------- */

/* Reads every disk with a path; low with the hysteresis from its last
 * state (a disk that cannot be read keeps it). */
static void read_disks(check *c) {
  for (int i = 0; i < JD_GUARDED_COUNT; i++) {
    jd_guard_disk *k = &c->disks[i];
    if (!k->path[0]) {
      k->checked = k->low = false;
      continue;
    }
    jd_disk_reading r;
    k->checked = jd_disk_read(&r, k->path) == 0;
    if (k->checked) {
      k->r = r;
      k->low = jd_disk_low(&c->m, &r, k->low);
    }
  }
}

static bool any_low(const check *c) {
  for (int i = 0; i < JD_GUARDED_COUNT; i++)
    if (c->disks[i].low)
      return true;
  return false;
}

/* jd_reclaim_opts.enough: every low disk is over its high marks now. */
static bool enough(void *ud) {
  check *c = ud;
  read_disks(c);
  return !any_low(c);
}

/* jd_reclaim_opts.busy: a running task's output directory. */
static bool output_busy(void *ud, const char *task_id) {
  jd_daemon *d = ((check *)ud)->d;
  bool busy = false;
  pthread_mutex_lock(&d->mu);
  for (int i = 0; i < d->nslots && !busy; i++)
    busy = d->slots[i].busy && !strcmp(d->slots[i].task_id, task_id);
  pthread_mutex_unlock(&d->mu);
  return busy;
}

static void reclaim(check *c, bool engine_up) {
  jd_daemon *d = c->d;
  jd_reclaim_opts o = {.images = c->disks[JD_GUARDED_ENGINE].low && engine_up,
                       .files = c->disks[JD_GUARDED_STATE].low,
                       .ctx = d->ctx,
                       .state_dir = d->cfg.state_dir,
                       .out_dir = d->cfg.out_dir,
                       .enough = enough,
                       .busy = output_busy,
                       .ud = c};
  jd_reclaim_report rep;
  int rc = jd_disk_reclaim(&rep, &o);
  jd_log(rc ? JD_LOG_WARN : JD_LOG_INFO, "disk.reclaim",
         "removed %zu environment images, %zu artifacts cache entries, %zu task outputs; %s%s",
         rep.images, rep.artifacts, rep.outputs,
         rep.enough ? "the disks are over the high-water mark" : "still under the high-water mark",
         rc ? " (a step failed)" : "");
  pthread_mutex_lock(&d->mu);
  d->guard.reclaims++;
  pthread_mutex_unlock(&d->mu);
}

/* ---- one round ------------------------------------------------------------ */

static void log_changes(const jd_guard_state *was, const jd_guard_state *now, const guard_run *g,
                        const jd_disk_marks *m) {
  if (!was->paused[JD_PAUSE_ENGINE] && now->paused[JD_PAUSE_ENGINE])
    jd_log(JD_LOG_WARN, "daemon.pause",
           "engine unreachable (%s): no task is taken until it answers", g->ping_error);
  if (was->paused[JD_PAUSE_ENGINE] && !now->paused[JD_PAUSE_ENGINE])
    jd_log(JD_LOG_INFO, "daemon.resume", "the engine answers again");
  for (int i = 0; i < JD_GUARDED_COUNT; i++) {
    const jd_guard_disk *k = &now->disks[i];
    if (k->low && !was->disks[i].low)
      jd_log(JD_LOG_WARN, "daemon.pause",
             "disk low: %s %s has %llu bytes and %d%% inodes free (low-water mark %lld bytes, "
             "%d%%): no task is taken, reclaiming",
             jd_guarded_name((jd_guarded)i), k->path, (unsigned long long)k->r.free_bytes,
             jd_disk_inodes_pct(&k->r), (long long)m->low_bytes, m->low_inodes_pct);
    if (!k->low && was->disks[i].low)
      jd_log(JD_LOG_INFO, "daemon.resume",
             "disk fine: %s %s has %llu bytes and %d%% inodes free (high-water mark %lld bytes, "
             "%d%%)",
             jd_guarded_name((jd_guarded)i), k->path, (unsigned long long)k->r.free_bytes,
             jd_disk_inodes_pct(&k->r), (long long)m->high_bytes, m->high_inodes_pct);
  }
}

/* judger_paused{reason} and judger_disk_free_bytes{path} from the state
 * just published (the set has its own lock; NULL when metrics are off). */
static void publish_metrics(jd_dmetrics *m, const jd_guard_state *s) {
  for (int p = 0; p < JD_PAUSE_COUNT; p++)
    jd_dmetrics_paused(m, (jd_pause)p, s->paused[p]);
  for (int i = 0; i < JD_GUARDED_COUNT; i++)
    if (s->disks[i].checked && s->disks[i].path[0])
      jd_dmetrics_disk_free(m, s->disks[i].path, (int64_t)s->disks[i].r.free_bytes);
}

static void publish(jd_daemon *d, const check *c, bool up, const guard_run *g) {
  pthread_mutex_lock(&d->mu);
  jd_guard_state was = d->guard;
  jd_guard_state *now = &d->guard;
  memcpy(now->disks, c->disks, sizeof now->disks);
  now->paused[JD_PAUSE_ENGINE] = !up;
  now->paused[JD_PAUSE_DISK] = any_low(c);
  bool changed = memcmp(was.paused, now->paused, sizeof was.paused) != 0;
  if (jd_guard_paused(&was) == JD_PAUSE_COUNT && jd_guard_paused(now) != JD_PAUSE_COUNT)
    now->pauses++;
  if (changed) {
    d->heartbeat_due = true; /* the keeper says it at once */
    pthread_cond_broadcast(&d->cv);
  }
  jd_guard_state after = *now;
  pthread_mutex_unlock(&d->mu);
  log_changes(&was, &after, g, &c->m);
  publish_metrics(d->metrics, &after);
}

static void guard_round(jd_daemon *d, guard_run *g) {
  check c = {.d = d};
  pthread_mutex_lock(&d->mu);
  c.m = (jd_disk_marks){d->cfg.disk_low, d->cfg.disk_high, d->cfg.disk_low_inodes,
                        d->cfg.disk_high_inodes};
  memcpy(c.disks, d->guard.disks, sizeof c.disks);
  pthread_mutex_unlock(&d->mu);
  bool up = engine_answers(d, g);
  const char *paths[JD_GUARDED_COUNT] = {d->cfg.state_dir, engine_root(d, g, up)};
  for (int i = 0; i < JD_GUARDED_COUNT; i++)
    snprintf(c.disks[i].path, sizeof c.disks[i].path, "%s", paths[i] ? paths[i] : "");
  read_disks(&c);
  if (any_low(&c)) {
    publish(d, &c, up, g); /* paused before reclaiming, which takes a while */
    reclaim(&c, up);
    read_disks(&c);
  }
  publish(d, &c, up, g);
  g->backoff_ms = up ? 0 : jd_backoff_next(g->backoff_ms, PING_BACKOFF_MIN_MS, PING_BACKOFF_MAX_MS);
}

void jd_guard_check(jd_daemon *d) {
  guard_run g = {0};
  guard_round(d, &g);
}

void *jd_guard_main(void *arg) {
  jd_daemon *d = arg;
  guard_run g = {0};
  for (;;) {
    guard_round(d, &g);
    pthread_mutex_lock(&d->mu);
    int64_t wait = d->cfg.guard_ms;
    if (d->guard.paused[JD_PAUSE_ENGINE] && g.backoff_ms < wait)
      wait = g.backoff_ms;
    /* The sweeper's event stream breaking or coming back wakes us: the
     * pause then starts (or ends) within a ping, not a period. */
    bool seen_up = d->engine_up;
    int64_t until = jd_mono_ms() + wait;
    while (!d->guard_exit && jd_mono_ms() < until && d->engine_up == seen_up)
      jd_daemon_wait_ms(d, until - jd_mono_ms());
    bool exit_now = d->guard_exit;
    pthread_mutex_unlock(&d->mu);
    if (exit_now)
      break;
  }
  return NULL;
}
