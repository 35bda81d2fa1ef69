/* The look-ahead: while every slot runs a task, the entry the next free
 * slot will take (the reader reads one entry more than its free slots) is
 * prepared on a thread of its own: its programs' images are made ready the
 * way the match's preparation makes them (a cache hit is a check, a miss a
 * build with the build's own limits, never the match's), and the host's
 * stock of networks is filled for its players. Nothing an entry owns is
 * made (no container, token or run key), so nothing is handed over: the
 * slot's own preparation then finds the images in the cache and the
 * networks in the stock.
 *
 * One look-ahead at a time, and only while no pause is in force and a
 * teardown record is free (the engine keeps up). Its builds carry an owner
 * label of their own, held by a run file (common/run_owner.h), so a sweep
 * keeps them. When the entry leaves this host's backlog for anywhere but a
 * slot of this daemon (another host took its lease, it was withdrawn, the
 * reader gave it back for a pause or the stop), the build in flight is
 * cancelled (jd_lookahead_left_locked); at the stop too. Counted in
 * judger_lookahead_total{event} (daemon_metrics.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "build/dockerfile.h"
#include "common/clock.h"
#include "common/labels.h"
#include "common/log.h"
#include "common/run_owner.h"
#include "daemon/daemon_internal.h"
#include "match/match.h"
#include "match/match_policy.h"
#include "match/net_stock.h"

bool jd_lookahead_on(const jd_daemon *d) { return d->cfg.lookahead && d->ctx; }

static bool same_entry(const jd_lookahead *la, const jd_entry *e) {
  return la->prio == e->prio && !strcmp(la->id, e->id);
}

void jd_lookahead_left_locked(jd_daemon *d, const jd_entry *e, bool here) {
  jd_lookahead *la = &d->la;
  if (!la->fate_pending || !same_entry(la, e))
    return;
  la->fate_pending = false;
  jd_dmetrics_lookahead(d->metrics, here ? JD_LOOKAHEAD_USED : JD_LOOKAHEAD_WASTED);
  /* Taken here, the builds go on: the slot's own preparation waits for
   * them (build_lock.h) and finds them in the cache. */
  if (!here && la->active && la->cancel)
    dk_cancel_fire(la->cancel);
}

void jd_lookahead_stop_locked(jd_daemon *d) {
  d->la.exit = true;
  if (d->la.active && d->la.cancel)
    dk_cancel_fire(d->la.cancel);
  pthread_cond_broadcast(&d->cv);
}

/* The entry the next free slot takes (worker.c's order: the highest
 * priority, first come within one), or NULL. */
static const jd_entry *next_entry_locked(const jd_daemon *d) {
  const jd_entry *best = NULL;
  for (size_t i = 0; i < d->backlog.count; i++)
    if (!best || d->backlog.items[i].prio < best->prio)
      best = &d->backlog.items[i];
  return best;
}

/* Whether a look-ahead may begin now: every slot busy (else a slot takes
 * the entry at once), no pause, a teardown record free, and a next entry
 * not looked at yet. */
static const jd_entry *startable_locked(const jd_daemon *d) {
  if (d->stopping || !jd_lookahead_on(d) || d->busy < d->nslots || jd_paused_locked(d) ||
      d->td_pending >= d->ntd)
    return NULL;
  const jd_entry *e = next_entry_locked(d);
  if (!e || same_entry(&d->la, e) || e->deleted || e->too_big || !e->task_json)
    return NULL;
  return e;
}

/* The networks the match takes from the stock (those of two endpoints,
 * match_workspace.c): one per player, or with one network for the whole
 * match, that one when it has a single player. */
static void fill_stock(jd_daemon *d, const jd_match_spec *spec) {
  jd_net_stock *stock = d->ctx->net_stock;
  size_t want = spec->isolation == JD_ISOLATION_PLAYER ? spec->nplayers : spec->nplayers == 1;
  if (!stock || !want)
    return;
  char err[256];
  if (jd_net_stock_fill(stock, want, err, sizeof err))
    jd_log(JD_LOG_WARN, "lookahead.networks", "%s", err);
}

/* The match task in json parsed and checked as the executor does
 * (executor.c prepare), or NULL: not a match, or one the worker will
 * dead-letter (nothing to prepare). */
static jd_match_spec *match_of(jd_daemon *d, const char *json) {
  jd_task *t = NULL;
  jd_match_spec *spec = NULL;
  char err[512];
  if (jd_task_parse(&t, json, d->cfg.entry_max_depth, err, sizeof err))
    return NULL;
  if (t->kind == JD_TASK_MATCH &&
      (jd_match_spec_from_object(&spec, t->spec, NULL, err, sizeof err) ||
       jd_match_spec_check_policy(spec, &d->ctx->policy, d->ctx->state_dir, jd_base_images(d->ctx),
                                  err, sizeof err))) {
    jd_match_spec_free(spec);
    spec = NULL;
  }
  jd_task_free(t);
  return spec;
}

/* Prepares the match of the entry; true when everything got ready. */
static bool prepare(jd_daemon *d, const char *entry_id, const jd_match_spec *spec,
                    dk_cancel *cancel) {
  jd_run_owner run = JD_RUN_OWNER_NONE;
  char err[512] = "";
  size_t built = 0;
  if (jd_run_owner_take(&run, d->ctx->state_dir, NULL)) {
    jd_log(JD_LOG_WARN, "lookahead.skipped", "entry %s: no run file", entry_id);
    return false;
  }
  const dk_kv label[] = {{JD_LABEL_OWNER, run.id}};
  int64_t t0 = jd_mono_ms();
  bool ok = jd_match_build_programs(&built, d->ctx, spec, label, 1, cancel, err, sizeof err) == 0;
  if (ok && !dk_cancel_fired(cancel))
    fill_stock(d, spec);
  jd_run_owner_release(&run);
  ok = ok && !dk_cancel_fired(cancel);
  jd_log(JD_LOG_INFO, ok ? "lookahead.done" : "lookahead.released",
         "entry %s (match %s): %zu programs built in %lld ms%s%s", entry_id, spec->id, built,
         (long long)(jd_mono_ms() - t0), ok ? "" : "; ", ok ? "" : err);
  return ok;
}

static bool in_backlog_locked(const jd_daemon *d, const jd_lookahead *la) {
  for (size_t i = 0; i < d->backlog.count; i++)
    if (same_entry(la, &d->backlog.items[i]))
      return true;
  return false;
}

/* One look-ahead of e (d->mu held on entry and on return; let go while
 * the task is parsed and while its programs are prepared). */
static void look_ahead_locked(jd_daemon *d, const jd_entry *e) {
  jd_lookahead *la = &d->la;
  la->prio = e->prio; /* looked at: never twice, whatever comes of it */
  snprintf(la->id, sizeof la->id, "%s", e->id);
  char id[48];
  snprintf(id, sizeof id, "%s", e->id);
  char *json = strdup(e->task_json);
  pthread_mutex_unlock(&d->mu);
  jd_match_spec *spec = json ? match_of(d, json) : NULL;
  free(json);
  dk_cancel *cancel = NULL;
  if (spec && dk_cancel_new(&cancel))
    cancel = NULL;
  pthread_mutex_lock(&d->mu);
  /* Not a match (nothing to prepare), or gone while it was parsed. */
  if (!spec || !cancel || d->la.exit || !in_backlog_locked(d, la)) {
    jd_match_spec_free(spec);
    dk_cancel_free(cancel);
    return;
  }
  la->cancel = cancel;
  la->active = la->fate_pending = true;
  pthread_mutex_unlock(&d->mu);
  jd_dmetrics_lookahead(d->metrics, JD_LOOKAHEAD_STARTED);
  if (prepare(d, id, spec, cancel))
    jd_dmetrics_lookahead(d->metrics, JD_LOOKAHEAD_DONE);
  jd_match_spec_free(spec);
  pthread_mutex_lock(&d->mu);
  la->active = false;
  la->cancel = NULL;
  dk_cancel_free(cancel);
}

void *jd_lookahead_main(void *arg) {
  jd_daemon *d = arg;
  pthread_mutex_lock(&d->mu);
  for (;;) {
    const jd_entry *e = NULL;
    while (!d->la.exit && !(e = startable_locked(d)))
      pthread_cond_wait(&d->cv, &d->mu);
    if (d->la.exit)
      break;
    look_ahead_locked(d, e);
  }
  pthread_mutex_unlock(&d->mu);
  return NULL;
}
