/* The workers: take an entry from the backlog, start an attempt of its
 * task, run it through the executor and hand its outcome to attempt.c,
 * which ends it (see daemon_internal.h and docs/daemon.md). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/util.h"
#include "daemon/daemon_internal.h"

static void exec_result_clear(jd_exec_result *r) {
  if (!r)
    return;
  json_object_put(r->result);
  free(r->summary);
  free(r->reason);
  memset(r, 0, sizeof *r);
}

/* Seconds since a unix-ms time (clamped at 0: clocks of two hosts). */
static double seconds_since(int64_t unix_ms, int64_t now_ms) {
  return unix_ms > 0 && now_ms > unix_ms ? (double)(now_ms - unix_ms) / 1000.0 : 0.0;
}

/* queue_wait: the entry's stream id is the XADD time in ms ("<ms>-<seq>").
 * First attempts only: a retry's wait would count the failed attempt. */
static void queue_wait(jd_daemon *d, const jd_slot *s, int attempt) {
  char *end = NULL;
  long long added = strtoll(s->entry.id, &end, 10);
  if (attempt == 1 && end != s->entry.id && *end == '-')
    jd_dmetrics_phase(d->metrics, JD_PHASE_QUEUE_WAIT, seconds_since(added, s->taken_unix_ms));
}

/* ---- progress -------------------------------------------------------------- */

/* Whether an event goes into the match's live stream: all but the builds'
 * (their output is long and not the match's). */
static bool live_event(const jd_match_event *ev) {
  return ev->type != JD_EVENT_PROGRAM_BUILD && ev->type != JD_EVENT_BUILD_OUTPUT;
}

/* Events a match has few of (its starts, exits, end and result): kept past
 * the pusher's bound and the entry cap. The others (frames, progress,
 * refused commands) come as fast as the game logic sends them. */
static bool live_bounded(const jd_match_event *ev) {
  return ev->type != JD_EVENT_MATCH_FRAME && ev->type != JD_EVENT_MATCH_PROGRESS &&
         ev->type != JD_EVENT_COMMAND_REFUSED;
}

static void on_event(void *ud, const jd_match_event *ev) {
  jd_slot *s = ud;
  jd_daemon *d = s->d;
  /* Only the game logic's own progress reports become the task's
   * progress; every other event still counts as activity. Serialised here,
   * outside the lock: the one place it leaves for Redis. The live stream
   * takes a copy of the line (the hub's ring, the pusher's backlog): never
   * a Redis call or a wait for a watcher on the match's thread. */
  char *json = NULL;
  bool live = s->live && live_event(ev);
  if ((live || ev->type == JD_EVENT_MATCH_PROGRESS) && jd_match_event_json(&json, ev) != 0)
    json = NULL;
  if (live && json) {
    /* An entry over the stream's entry cap (a huge progress line) goes to
     * neither the pusher nor the hub (counted); the status record below
     * still takes the progress (PROGRESS_MAX). */
    size_t len = strlen(json);
    if (jd_live_push_event(d->push, s->live_id, json, len, live_bounded(ev)) && s->live_http)
      jd_live_hub_push(d->hub, s->live_id, ev->seq, json, len);
  }
  if (ev->type != JD_EVENT_MATCH_PROGRESS) {
    free(json);
    json = NULL;
  }
  pthread_mutex_lock(&d->mu);
  s->last_activity_ms = jd_mono_ms();
  if (json && strlen(json) < sizeof s->progress) {
    snprintf(s->progress, sizeof s->progress, "%s", json);
    s->progress_dirty = true;
  }
  pthread_mutex_unlock(&d->mu);
  free(json);
}

/* ---- one task -------------------------------------------------------------- */

/* Shows the task in the slot (heartbeat, stall watch, claim renewal) and
 * makes its empty output directory (a re-run starts from scratch). 0, or
 * -1 with the entry left for a retry. */
static int slot_begin(jd_daemon *d, jd_slot *s, const jd_task *t, int attempt, dk_cancel *cancel,
                      const char *out_dir) {
  pthread_mutex_lock(&d->mu);
  snprintf(s->task_id, sizeof s->task_id, "%s", t->id);
  s->attempt = attempt;
  s->cancel = cancel;
  s->started_ms = jd_unix_ms();
  s->last_activity_ms = jd_mono_ms();
  s->progress[0] = '\0';
  s->progress_dirty = s->lease_lost = s->claim_lost = s->stalled = s->cancel_asked = false;
  /* `drained` is kept (it is cleared when the slot's task is over): a drain
   * that timed out while this slot was between taking its entry and here
   * found no cancel to fire; it is fired now. */
  if (s->drained)
    dk_cancel_fire(cancel);
  pthread_mutex_unlock(&d->mu);
  if (jd_rm_rf(out_dir) || jd_mkdir_p(out_dir, 0755)) {
    jd_log_task(JD_LOG_ERROR, "task.outdir", t->id, "%s: %s", out_dir, strerror(errno));
    jd_attempt_retry_later(d, s, t, attempt, "cannot make the output directory");
    return -1;
  }
  jd_log_task(JD_LOG_INFO, "task.start", t->id,
              "%s task, attempt %d, claim %lld, entry %s (%s), slot %d", jd_task_kind_name(t->kind),
              attempt, s->claim, s->entry.id, jd_priority_name(s->entry.prio), s->index);
  return 0;
}

static void run_task(jd_daemon *d, jd_slot *s, jd_task *t, void *prepared, int attempt) {
  jd_exec_result res = {0};
  dk_cancel *cancel = NULL;
  char out_dir[PATH_MAX];
  if (dk_cancel_new(&cancel) ||
      snprintf(out_dir, sizeof out_dir, "%s/%s", d->cfg.out_dir, t->id) >= (int)sizeof out_dir) {
    jd_attempt_retry_later(d, s, t, attempt, "out of memory");
    goto cleanup;
  }
  const char *owner = d->exec.owner ? d->exec.owner(d->exec.self, prepared) : NULL;
  pthread_mutex_lock(&d->mu);
  snprintf(s->owner, sizeof s->owner, "%s", owner ? owner : "");
  uint64_t epoch0 = d->engine_epoch;
  pthread_mutex_unlock(&d->mu);
  if (slot_begin(d, s, t, attempt, cancel, out_dir))
    goto cleanup;
  queue_wait(d, s, attempt);
  jd_attempt_live_begin(d, s, t, attempt);
  jd_exec_env env = {out_dir, d->cfg.host_id, attempt, cancel, on_event, s, s->q, s->claim};
  int outcome = d->exec.execute(d->exec.self, t, prepared, &env, &res);
  for (int p = 0; p < JD_PHASE_COUNT; p++)
    if (res.phases & (1u << p))
      jd_dmetrics_phase(d->metrics, (jd_phase)p, res.phase_s[p]);
  jd_attempt a = {t, attempt, out_dir, epoch0};
  jd_attempt_end(d, s, &a, outcome, &res);
  jd_attempt_live_end(d, s, out_dir);
  /* The result is stored: the removal goes on off the slot. */
  jd_teardown_hand_off(d, s, res.teardown);
  res.teardown = NULL;
cleanup:
  pthread_mutex_lock(&d->mu);
  s->cancel = NULL;
  s->task_id[0] = '\0';
  s->owner[0] = '\0';
  s->claim = JD_CLAIM_NONE;
  pthread_mutex_unlock(&d->mu);
  dk_cancel_free(cancel);
  exec_result_clear(&res);
}

/* Acks an entry that is not to run (its task has a result, or another
 * entry of it runs). */
static void ack_unrun(jd_daemon *d, jd_slot *s, const jd_task *t, const char *why) {
  int rc;
  jd_slot_set_finishing(d, s);
  WITH_RETRY(rc, d, s->q, true, jd_queue_ack(s->q, s->entry.prio, s->entry.id));
  jd_daemon_count(d, &d->st.duplicates);
  jd_log_task(JD_LOG_INFO, "task.duplicate", t->id, "entry %s: %s; acked without running",
              s->entry.id, why);
}

/* A claim the replicas did not confirm is not run: a failover could lose
 * it with its token (the claims INCR), and a second run could then get the
 * same token (docs/queue.md "Failover: what is guaranteed"). After a short
 * WAIT on the connection of the begin it is given back there, uncounted;
 * once that connection is gone it is left to expire (its PX lease): the
 * new primary may have given the same token to another run, whose claim a
 * give-back would release. True when confirmed. */
static bool claim_confirmed(jd_daemon *d, jd_slot *s, const jd_task *t, const jd_begin *b,
                            uint64_t gen) {
  bool lost = false;
  if (jd_daemon_confirm(&lost, d, s->q, gen, t->id, "claim"))
    return true;
  jd_dmetrics_claim_unconfirmed(d->metrics);
  if (lost) {
    jd_log_task(JD_LOG_WARN, "task.unconfirmed", t->id,
                "claim %lld of attempt %d: not confirmed, connection lost, the claim expires by "
                "itself; not run",
                b->claim, b->attempt);
    return false;
  }
  /* Once, on this connection: never on another one (a command on a
   * dropped connection would make a new one first). */
  jd_redis *r = jd_queue_redis(s->q);
  int rc = jd_redis_connected(r) && jd_redis_generation(r) == gen
               ? jd_queue_drained(s->q, s->entry.prio, s->entry.id, t->id, b->claim)
               : jd_redis_fail(r, JD_REDIS_CONN, "the connection of the claim is gone");
  jd_log_task(JD_LOG_WARN, "task.unconfirmed", t->id,
              "claim %lld of attempt %d: no replica confirmed it in time; given back (%s), not run",
              b->claim, b->attempt, rc ? jd_queue_error(s->q) : "released");
  return false;
}

/* Starts an attempt of t: true when it is to run now with *attempt set and
 * the claim in s->claim; false when it was handled here (Redis away while
 * stopping, a result already stored, another run holds the task, attempts
 * used up). */
static bool begin_attempt(jd_daemon *d, jd_slot *s, const jd_task *t, int *attempt) {
  jd_entry *e = &s->entry;
  pthread_mutex_lock(&d->mu);
  int max = t->max_attempts ? t->max_attempts : d->cfg.max_attempts;
  pthread_mutex_unlock(&d->mu);
  jd_begin b;
  int rc;
  WITH_RETRY(rc, d, s->q, false, jd_queue_begin(&b, s->q, e->prio, e->id, t->id, max));
  uint64_t gen = jd_redis_generation(jd_queue_redis(s->q));
  if (rc) {
    /* Stopping while Redis is away: the entry stays pending; its lease
     * runs out and it is taken again. */
    jd_log_task(JD_LOG_WARN, "task.not_started", t->id, "%s", jd_queue_error(s->q));
    return false;
  }
  char why[64];
  switch (b.outcome) {
  case JD_BEGIN_RUN:
    if (!claim_confirmed(d, s, t, &b, gen))
      return false;
    pthread_mutex_lock(&d->mu);
    s->claim = b.claim;
    pthread_mutex_unlock(&d->mu);
    *attempt = b.attempt;
    return true;
  case JD_BEGIN_DONE:
    ack_unrun(d, s, t, "a result is already stored");
    return false;
  case JD_BEGIN_DUPLICATE:
    ack_unrun(d, s, t, "another entry of this task is running");
    return false;
  case JD_BEGIN_BUSY:
    /* Not ours to run yet: left pending, unrenewed, so it is claimed
     * again once the other run's claim and this entry's lease ran out. */
    jd_log_task(JD_LOG_INFO, "task.busy", t->id,
                "entry %s is still run elsewhere; left pending for the lease", e->id);
    return false;
  case JD_BEGIN_CANCELLED:
    /* begin.lua wrote its cancelled result and acked the entry. */
    jd_log_task(JD_LOG_INFO, "task.cancelled", t->id, "cancelled before it started");
    return false;
  case JD_BEGIN_EXHAUSTED:
  case JD_BEGIN_COUNT:
    break;
  }
  snprintf(why, sizeof why, "gave up after %d attempts", b.attempt);
  jd_attempt_dead_letter(d, s, t->id, JD_CLAIM_NONE, why, b.attempt);
  return false;
}

/* Why an entry can never be a task before it is parsed: too big. */
static bool entry_too_big(jd_daemon *d, jd_slot *s) {
  if (!s->entry.too_big)
    return false;
  char why[160];
  snprintf(why, sizeof why, "entry: %zu bytes, over entry_max_bytes (%lld)", s->entry.task_len,
           (long long)d->cfg.entry_max_bytes);
  jd_attempt_dead_letter(d, s, s->entry.task_id[0] ? s->entry.task_id : NULL, JD_CLAIM_NONE, why,
                         0);
  return true;
}

/* The entry in s: parsed, prepared (its spec parsed once, here), then run. */
static void handle(jd_daemon *d, jd_slot *s) {
  jd_entry *e = &s->entry;
  char err[512];
  jd_task *t = NULL;
  void *prepared = NULL;
  int rc, attempt = 0;
  if (e->deleted) {
    /* Deleted from the stream while pending: nothing left to run. */
    WITH_RETRY(rc, d, s->q, true, jd_queue_ack(s->q, e->prio, e->id));
    jd_log(JD_LOG_INFO, "entry.deleted", "entry %s (%s) no longer exists; acked", e->id,
           jd_priority_name(e->prio));
    return;
  }
  if (entry_too_big(d, s))
    return;
  if (e->taskset) {
    jd_daemon_taskset_entry(d, s);
    return;
  }
  if (jd_task_parse(&t, e->task_json, d->cfg.entry_max_depth, err, sizeof err)) {
    /* A taskset member names itself in its entry: its set counts it. */
    jd_attempt_dead_letter(d, s, e->task_id[0] ? e->task_id : NULL, JD_CLAIM_NONE, err, 0);
    return;
  }
  s->has_kind = true;
  s->kind = t->kind;
  if (d->exec.prepare && d->exec.prepare(&prepared, d->exec.self, t, err, sizeof err))
    jd_attempt_dead_letter(d, s, t->id, JD_CLAIM_NONE, err, 0);
  else if (begin_attempt(d, s, t, &attempt))
    run_task(d, s, t, prepared, attempt);
  if (d->exec.release)
    d->exec.release(d->exec.self, prepared);
  jd_task_free(t);
}

/* ---- the worker thread ------------------------------------------------------ */

/* The highest-priority entry, first come first served within a priority. */
static size_t best_index(const jd_entry_list *l) {
  size_t best = 0;
  for (size_t i = 1; i < l->count; i++)
    if (l->items[i].prio < l->items[best].prio)
      best = i;
  return best;
}

void *jd_worker_main(void *arg) {
  jd_slot *s = arg;
  jd_daemon *d = s->d;
  pthread_mutex_lock(&d->mu);
  for (;;) {
    while (!d->workers_exit && (d->stopping || d->backlog.count == 0 || jd_paused_locked(d)))
      pthread_cond_wait(&d->cv, &d->mu);
    if (d->workers_exit)
      break;
    jd_entry_list_take(&d->backlog, best_index(&d->backlog), &s->entry);
    jd_lookahead_left_locked(d, &s->entry, true);
    s->busy = true;
    d->busy++;
    jd_dmetrics_busy(d->metrics, d->busy);
    pthread_cond_broadcast(&d->cv); /* every slot busy: the look-ahead may begin */
    s->taken_unix_ms = jd_unix_ms();
    s->has_kind = false;
    pthread_mutex_unlock(&d->mu);
    handle(d, s);
    pthread_mutex_lock(&d->mu);
    free(s->entry.task_json);
    memset(&s->entry, 0, sizeof s->entry);
    s->busy = false;
    s->finishing = false;
    s->drained = false;
    d->busy--;
    jd_dmetrics_busy(d->metrics, d->busy);
    pthread_cond_broadcast(&d->cv);
  }
  pthread_mutex_unlock(&d->mu);
  return NULL;
}
