/* The look-ahead: while every slot runs a task, the entry the next free
 * slot would take is PEEKED at (jd_queue_peek_next: the first entry the
 * consumer group has not delivered yet, in the reader's priority order),
 * never read: it stays free for every host, and any host with a free slot
 * takes it as if nobody looked. This host prepares it on a thread of its
 * own: its programs' images are made ready the way the match's preparation
 * makes them (a cache hit is a check, a miss a build with the build's own
 * limits, never the match's), and the host's stock of networks is filled
 * for its players. Nothing an entry owns is made (no container, token or
 * run key), so nothing is handed over: the slot that takes the entry finds
 * the images in the cache and the networks in the stock.
 *
 * One look-ahead at a time, and only while no pause is in force and a
 * teardown record is free (the engine keeps up). Its builds carry an owner
 * label of their own, held by a run file (common/run_owner.h), so a sweep
 * keeps them. Every PERIOD_MS the thread peeks again: when the entry is no
 * longer the next undelivered one and was not delivered to this host
 * (another host took it, it was withdrawn), the build in flight is
 * cancelled ("wasted"); when a slot of this daemon begins it, the build
 * goes on ("used", jd_lookahead_left_locked); at a pause, the drain and
 * the stop it is cancelled. Counted in judger_lookahead_total{event}
 * (daemon_metrics.h). */
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

/* How often the next undelivered entry is looked at again. */
#define PERIOD_MS 250

bool jd_lookahead_on(const jd_daemon *d) { return d->cfg.lookahead && d->ctx && d->la.q; }

static bool same_entry(const jd_lookahead *la, const jd_entry *e) {
  return la->prio == e->prio && !strcmp(la->id, e->id);
}

/* The entry looked at is settled: used here, or released (its build in
 * flight cancelled). Counted once its preparation began. d->mu held. */
static void settle_locked(jd_daemon *d, bool here) {
  jd_lookahead *la = &d->la;
  if (!la->fate_pending)
    return;
  la->fate_pending = false;
  if (la->counted)
    jd_dmetrics_lookahead(d->metrics, here ? JD_LOOKAHEAD_USED : JD_LOOKAHEAD_WASTED);
  /* Taken here, the builds go on: the slot's own preparation waits for
   * them (build_lock.h) and finds them in the cache. */
  if (!here && la->active && la->cancel)
    dk_cancel_fire(la->cancel);
  pthread_cond_broadcast(&d->cv);
}

void jd_lookahead_left_locked(jd_daemon *d, const jd_entry *e, bool here) {
  if (same_entry(&d->la, e))
    settle_locked(d, here);
}

void jd_lookahead_stop_locked(jd_daemon *d) {
  d->la.exit = true;
  settle_locked(d, false);
  pthread_cond_broadcast(&d->cv);
}

/* Whether a look-ahead may begin now: every slot busy (else a slot takes
 * the entry at once), no pause, a teardown record free, none in flight. */
static bool may_look_locked(const jd_daemon *d) {
  return !d->stopping && !d->la.exit && jd_lookahead_on(d) && d->busy >= d->nslots &&
         !jd_paused_locked(d) && d->td_pending < d->ntd && !d->la.active && !d->la.fate_pending;
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

/* The preparation thread: the task parsed, then its programs prepared.
 * la->json is its own. */
static void *prep_main(void *arg) {
  jd_daemon *d = arg;
  jd_lookahead *la = &d->la;
  char id[48];
  pthread_mutex_lock(&d->mu);
  char *json = la->json;
  la->json = NULL;
  dk_cancel *cancel = la->cancel;
  snprintf(id, sizeof id, "%s", la->id);
  pthread_mutex_unlock(&d->mu);
  jd_match_spec *spec = match_of(d, json);
  free(json);
  pthread_mutex_lock(&d->mu);
  /* Not a match (nothing to prepare), or settled while it was parsed. */
  bool go = spec && la->fate_pending && !dk_cancel_fired(cancel);
  if (!spec)
    la->fate_pending = false;
  la->counted = go;
  pthread_mutex_unlock(&d->mu);
  if (go) {
    jd_dmetrics_lookahead(d->metrics, JD_LOOKAHEAD_STARTED);
    if (prepare(d, id, spec, cancel))
      jd_dmetrics_lookahead(d->metrics, JD_LOOKAHEAD_DONE);
  }
  jd_match_spec_free(spec);
  pthread_mutex_lock(&d->mu);
  la->active = false;
  la->cancel = NULL;
  dk_cancel_free(cancel);
  pthread_cond_broadcast(&d->cv);
  pthread_mutex_unlock(&d->mu);
  return NULL;
}

/* Begins the look-ahead of e (peeked, undelivered). d->mu held. */
static void begin_locked(jd_daemon *d, jd_entry *e) {
  jd_lookahead *la = &d->la;
  la->prio = e->prio; /* looked at: never twice, whatever comes of it */
  snprintf(la->id, sizeof la->id, "%s", e->id);
  if (e->deleted || e->too_big || !e->task_json || dk_cancel_new(&la->cancel))
    return;
  la->json = e->task_json;
  e->task_json = NULL;
  la->active = la->fate_pending = true;
  la->counted = false;
  if (pthread_create(&la->prep_th, NULL, prep_main, d)) {
    free(la->json);
    la->json = NULL;
    dk_cancel_free(la->cancel);
    la->cancel = NULL;
    la->active = la->fate_pending = false;
    return;
  }
  la->prep_started = true;
}

/* Whether the entry looked at stays where this host may still take it:
 * the next undelivered one (next), or delivered to this host (in the
 * backlog, or on its way there: here). d->mu held. */
static bool still_ours_locked(const jd_daemon *d, const jd_entry *next, bool found, bool here) {
  if (jd_paused_locked(d) || d->stopping)
    return false;
  return (found && same_entry(&d->la, next)) || here || in_backlog_locked(d, &d->la);
}

/* One look at Redis: the next undelivered entry, what became of the one
 * looked at, and a new look-ahead when one may begin. d->mu held; let go
 * while Redis answers. */
static void look_locked(jd_daemon *d) {
  jd_lookahead *la = &d->la;
  jd_entry next;
  bool found = false, here = false;
  pthread_mutex_unlock(&d->mu);
  int rc = jd_queue_peek_next(&next, &found, la->q);
  pthread_mutex_lock(&d->mu);
  if (rc) {
    jd_log(JD_LOG_DEBUG, "lookahead.peek", "%s", jd_queue_error(la->q));
    return;
  }
  if (la->fate_pending && !still_ours_locked(d, &next, found, false)) {
    jd_priority prio = la->prio;
    char id[48];
    snprintf(id, sizeof id, "%s", la->id);
    pthread_mutex_unlock(&d->mu);
    /* Read by the reader and not yet in the backlog, or another host's. */
    rc = jd_queue_delivered_here(&here, la->q, prio, id);
    pthread_mutex_lock(&d->mu);
    if (!rc && la->prio == prio && !strcmp(la->id, id) && !still_ours_locked(d, &next, found, here))
      settle_locked(d, false);
  }
  if (found && may_look_locked(d) && !same_entry(la, &next))
    begin_locked(d, &next);
  free(next.task_json);
}

static void join_prep_locked(jd_daemon *d) {
  if (!d->la.prep_started || d->la.active)
    return;
  pthread_mutex_unlock(&d->mu);
  pthread_join(d->la.prep_th, NULL);
  pthread_mutex_lock(&d->mu);
  d->la.prep_started = false;
}

void *jd_lookahead_main(void *arg) {
  jd_daemon *d = arg;
  jd_lookahead *la = &d->la;
  pthread_mutex_lock(&d->mu);
  while (!la->exit) {
    join_prep_locked(d);
    if (!la->fate_pending && !may_look_locked(d)) {
      pthread_cond_wait(&d->cv, &d->mu);
      continue;
    }
    look_locked(d);
    if (!la->exit)
      jd_daemon_wait_ms(d, PERIOD_MS);
  }
  settle_locked(d, false);
  if (la->active && la->cancel)
    dk_cancel_fire(la->cancel);
  while (la->active)
    pthread_cond_wait(&d->cv, &d->mu);
  join_prep_locked(d);
  pthread_mutex_unlock(&d->mu);
  return NULL;
}
