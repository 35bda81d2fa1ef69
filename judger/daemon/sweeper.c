/* The sweeper: watches the engine and reconciles this host's leftovers
 * (see reconcile.h, daemon_internal.h and docs/daemon.md).
 *
 * It follows the engine's event stream in windows of WINDOW_MS: a window
 * that runs to its deadline means the engine was there all along; a stream
 * that breaks or cannot be opened means the engine went away, and the
 * epoch that fault attribution compares goes up. Sweeps: every
 * reconcile_ms, right after the engine comes back, when a run ended by a
 * system fault, and each of the first two once more reconcile_grace_ms
 * later (creates still in flight when the first one listed). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "common/clock.h"
#include "common/labels.h"
#include "common/log.h"
#include "daemon/daemon_internal.h"
#include "daemon/reconcile.h"

#define WINDOW_MS 1000
#define DOWN_RETRY_MS 250

/* The owner labels of the running tasks and pending teardowns
 * (jd_owned_fn). */
static char **owned_labels(void *ud) {
  jd_daemon *d = ud;
  pthread_mutex_lock(&d->mu);
  size_t cap = (size_t)d->nslots + (size_t)d->ntd;
  char **v = calloc(cap + 1, sizeof *v);
  size_t n = 0;
  for (int i = 0; v && i < d->nslots; i++)
    if (d->slots[i].busy && d->slots[i].owner[0]) {
      v[n] = strdup(d->slots[i].owner);
      n += v[n] != NULL;
    }
  /* A run being torn down is still its own to remove. */
  if (v)
    n += jd_teardown_owners_locked(d, v + n, cap - n);
  pthread_mutex_unlock(&d->mu);
  return v;
}

static void sweep(jd_daemon *d, const char *why, bool all) {
  jd_reconcile_report rep = {0};
  int rc = jd_reconcile_host(&rep, d->ctx->dk, d->cfg.host_id, d->cfg.state_dir,
                             all ? NULL : owned_labels, d);
  pthread_mutex_lock(&d->mu);
  d->st.sweeps++;
  pthread_mutex_unlock(&d->mu);
  /* A quiet periodic sweep says nothing; the others always do. */
  bool quiet = !strcmp(why, "periodic") && !rep.containers && !rep.networks && !rep.workdirs;
  if (rc || !quiet)
    jd_log(rc ? JD_LOG_WARN : JD_LOG_INFO, all ? "reconcile.startup" : "reconcile.sweep",
           "%s: removed %zu containers, %zu networks, %zu match work dirs of host %s%s%s", why,
           rep.containers, rep.networks, rep.workdirs, d->cfg.host_id, rc ? "; error: " : "",
           rc ? rep.error : "");
}

void jd_sweep_startup(jd_daemon *d) {
  if (d->ctx)
    sweep(d, "at start", true);
}

void jd_sweep_request(jd_daemon *d) {
  pthread_mutex_lock(&d->mu);
  d->sweep_requested = true;
  pthread_cond_broadcast(&d->cv);
  pthread_mutex_unlock(&d->mu);
}

static int on_event(void *ud, const dk_event *ev) {
  (void)ud;
  (void)ev;
  return 0; /* the stream being open is what counts */
}

/* One window of the event stream: true when the engine was there for all
 * of it (or the stop cut it short). */
static bool watch_window(jd_daemon *d, int64_t ms) {
  char label[300];
  snprintf(label, sizeof label, "%s=%s", JD_LABEL_HOST, d->cfg.host_id);
  const char *labels[] = {label, NULL};
  dk_events_opts o = {.labels = labels};
  dk_call call = {.deadline_ms = dk_now_ms() + ms, .cancel = d->sweeper_cancel};
  int rc = dk_system_events(d->ctx->dk, &o, on_event, d, &call);
  /* A stream the engine ended before the deadline: it is going away. */
  bool ran_out = dk_now_ms() + 20 >= call.deadline_ms;
  return rc == DK_ETIMEDOUT || rc == DK_ECANCELED || (rc == 0 && ran_out);
}

/* Notes an engine that went away or came back; true when it came back. */
static bool engine_seen(jd_daemon *d, bool up) {
  pthread_mutex_lock(&d->mu);
  bool was = d->engine_up;
  d->engine_up = up;
  if (was && !up)
    d->engine_epoch++;
  pthread_cond_broadcast(&d->cv); /* workers confirming a fault wait on it */
  pthread_mutex_unlock(&d->mu);
  jd_dmetrics_engine_up(d->metrics, up);
  if (was && !up)
    jd_log(JD_LOG_WARN, "engine.down", "the engine went away; running tasks are not blamed");
  if (!was && up)
    jd_log(JD_LOG_INFO, "engine.up", "the engine is back: reconciling");
  return !was && up;
}

/* Sleeps ms unless the stop or a sweep request comes; true on stop. */
static bool nap(jd_daemon *d, int64_t ms) {
  pthread_mutex_lock(&d->mu);
  int64_t until = jd_mono_ms() + ms;
  while (!d->sweeper_exit && !d->sweep_requested && jd_mono_ms() < until)
    jd_daemon_wait_ms(d, until - jd_mono_ms());
  bool stop = d->sweeper_exit;
  pthread_mutex_unlock(&d->mu);
  return stop;
}

void *jd_sweeper_main(void *arg) {
  jd_daemon *d = arg;
  int64_t now = jd_mono_ms();
  int64_t period = d->cfg.reconcile_ms, grace = d->cfg.reconcile_grace_ms;
  int64_t next = period > 0 ? now + period : INT64_MAX;
  int64_t again = now + grace; /* the startup sweep's second pass */
  for (;;) {
    pthread_mutex_lock(&d->mu);
    bool stop = d->sweeper_exit, requested = d->sweep_requested;
    d->sweep_requested = false;
    pthread_mutex_unlock(&d->mu);
    if (stop)
      break;
    now = jd_mono_ms();
    const char *why = requested ? "after a system fault" : now >= again ? "second pass" : NULL;
    if (!why && now >= next)
      why = "periodic";
    if (why) {
      sweep(d, why, false);
      if (now >= again)
        again = INT64_MAX;
      if (requested)
        again = now + grace;
      next = period > 0 ? now + period : INT64_MAX;
    }
    int64_t until = next < again ? next : again;
    int64_t win = until - jd_mono_ms();
    win = win < 50 ? 50 : win > WINDOW_MS ? WINDOW_MS : win;
    bool up = watch_window(d, win);
    if (engine_seen(d, up)) {
      sweep(d, "the engine came back", false);
      again = jd_mono_ms() + grace;
    }
    if (!up && nap(d, DOWN_RETRY_MS))
      break;
  }
  return NULL;
}
