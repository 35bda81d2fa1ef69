/* The workers: take an entry from the backlog, run its task through the
 * executor, upload its artifacts, store its result (see daemon_internal.h
 * and docs/daemon.md). */
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
#include "daemon/fault.h"
#include "daemon/upload.h"
#include "match/match_result.h"

static void exec_result_clear(jd_exec_result *r) {
  if (!r)
    return;
  json_object_put(r->result);
  free(r->summary);
  free(r->reason);
  memset(r, 0, sizeof *r);
}

static void count(jd_daemon *d, uint64_t *counter) {
  pthread_mutex_lock(&d->mu);
  (*counter)++;
  pthread_mutex_unlock(&d->mu);
}

/* judger_tasks_total: how this slot's attempt ended. */
static void task_end(jd_slot *s, jd_task_end e) {
  jd_dmetrics_task(s->d->metrics, s->has_kind ? &s->kind : NULL, e);
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

static void set_finishing(jd_daemon *d, jd_slot *s) {
  pthread_mutex_lock(&d->mu);
  s->finishing = true;
  pthread_mutex_unlock(&d->mu);
}

/* ---- progress and uploads ------------------------------------------------ */

static void on_progress(void *ud, const char *json_event) {
  jd_slot *s = ud;
  jd_daemon *d = s->d;
  pthread_mutex_lock(&d->mu);
  s->last_activity_ms = jd_mono_ms();
  /* Only the game logic's own progress reports become the task's
   * progress; every other event still counts as activity. */
  if (json_event && strstr(json_event, "\"match.progress\"") &&
      strlen(json_event) < sizeof s->progress) {
    snprintf(s->progress, sizeof s->progress, "%s", json_event);
    s->progress_dirty = true;
  }
  pthread_mutex_unlock(&d->mu);
}

static int upload_cancelled(void *ud) {
  jd_daemon *d = ud;
  pthread_mutex_lock(&d->mu);
  int r = d->hard_stop;
  pthread_mutex_unlock(&d->mu);
  return r;
}

/* A URL without its query: pre-signed signatures are secrets. */
static json_object *url_without_query(const char *url) {
  size_t n = strcspn(url, "?#");
  return json_object_new_string_len(url, (int)n);
}

/* Uploads one file the task asks for; a describes it in the result. */
static void upload_one(json_object *a, const jd_task *t, const jd_upload *u, const char *out_dir,
                       const jd_upload_opts *o) {
  char path[PATH_MAX];
  json_object_object_add(a, "path", json_object_new_string(u->path));
  json_object_object_add(a, "url", url_without_query(u->url));
  json_object_object_add(a, "gzip", json_object_new_boolean(u->gzip));
  if (snprintf(path, sizeof path, "%s/%s", out_dir, u->path) >= (int)sizeof path ||
      !jd_path_exists(path)) {
    json_object_object_add(a, "uploaded", json_object_new_boolean(false));
    json_object_object_add(a, "error", json_object_new_string("no such output file"));
    return;
  }
  jd_upload_report rep;
  int rc = jd_upload_file(&rep, path, u->url, u->gzip, o);
  json_object_object_add(a, "uploaded", json_object_new_boolean(rc == 0));
  if (rep.sha256[0])
    json_object_object_add(a, "sha256", json_object_new_string(rep.sha256));
  json_object_object_add(a, "bytes", json_object_new_int64(rep.bytes));
  json_object_object_add(a, "attempts", json_object_new_int(rep.attempts));
  if (rc) {
    json_object_object_add(a, "error", json_object_new_string(rep.error));
    jd_log_task(JD_LOG_WARN, "upload.failed", t->id, "%s: %s after %d attempts", u->path, rep.error,
                rep.attempts);
  }
}

static json_object *do_uploads(jd_daemon *d, const jd_task *t, const char *out_dir) {
  json_object *arr = json_object_new_array();
  jd_upload_opts o = {.cancelled = upload_cancelled, .ud = d};
  pthread_mutex_lock(&d->mu);
  o.retries = d->cfg.upload_retries;
  o.timeout_ms = d->cfg.upload_timeout_ms;
  pthread_mutex_unlock(&d->mu);
  for (size_t i = 0; i < t->nuploads; i++) {
    json_object *a = json_object_new_object();
    json_object_array_add(arr, a);
    upload_one(a, t, &t->uploads[i], out_dir, &o);
  }
  return arr;
}

/* The executor's result.json plus what the daemon knows: the task, the
 * attempt, the host, the uploads. Returns a malloc'd text. */
static char *final_result(jd_daemon *d, const jd_task *t, int attempt, const jd_exec_result *res,
                          jd_task_status status, json_object *artifacts) {
  json_object *o = res->result && json_object_is_type(res->result, json_type_object)
                       ? json_object_get(res->result)
                       : json_object_new_object();
  json_object *task = json_object_new_object();
  json_object_object_add(task, "id", json_object_new_string(t->id));
  json_object_object_add(task, "type", json_object_new_string(jd_task_kind_name(t->kind)));
  json_object_object_add(task, "attempt", json_object_new_int(attempt));
  json_object_object_add(task, "host", json_object_new_string(d->cfg.host_id));
  json_object_object_add(task, "status", json_object_new_string(jd_task_status_name(status)));
  json_object_object_add(o, "task", task);
  json_object_object_add(o, "artifacts", json_object_get(artifacts));
  /* The text judger run writes into result.json, on one line. */
  char *s = jd_result_text(o, false);
  json_object_put(o);
  return s;
}

/* ---- the ends of an attempt ---------------------------------------------- */

/* A run that lost its task's claim writes nothing but this line: another
 * run has the task now (docs/queue.md "One run per task"). */
static void claim_lost(jd_daemon *d, const char *task_id, const char *what) {
  count(d, &d->st.fenced);
  jd_log_task(JD_LOG_WARN, "task.claim_lost", task_id,
              "another run holds the task now; this run's %s is not written", what);
}

static void dead_letter(jd_daemon *d, jd_slot *s, const char *task_id, long long claim,
                        const char *reason, int attempts) {
  int rc;
  bool held = false;
  set_finishing(d, s);
  WITH_RETRY(rc, d, s->q, true,
             jd_queue_dead(&held, s->q, &s->entry, task_id, claim, reason, attempts));
  if (rc) {
    jd_log_task(JD_LOG_ERROR, "task.dead_failed", task_id, "could not dead-letter %s: %s",
                s->entry.id, jd_queue_error(s->q));
    return;
  }
  if (!held) {
    claim_lost(d, task_id, "dead letter");
    return;
  }
  jd_log_task(JD_LOG_WARN, "task.dead", task_id, "entry %s (%s) dead-lettered: %s", s->entry.id,
              jd_priority_name(s->entry.prio), reason);
  count(d, &d->st.dead);
  task_end(s, JD_TASK_END_DEAD);
}

/* True when the result was written (not refused, not a duplicate). */
static bool store(jd_daemon *d, jd_slot *s, const jd_task *t, int attempt, jd_task_status status,
                  const char *summary, const char *json) {
  jd_result_rec rec = {t->id, attempt, s->claim, status, summary, json};
  set_finishing(d, s);
  /* Spooled first: if Redis stays away until we stop (or we are killed),
   * the next start stores it. */
  bool spooled = jd_spool_write(d, s->entry.prio, s->entry.id, &rec) == 0;
  jd_store_outcome out = JD_STORE_REFUSED;
  int rc;
  WITH_RETRY(rc, d, s->q, true,
             jd_queue_store_result(&out, s->q, s->entry.prio, s->entry.id, &rec));
  if (rc) {
    jd_log_task(JD_LOG_ERROR, "result.unstored", t->id, "%s%s", jd_queue_error(s->q),
                spooled ? " (kept in the spool for the next start)" : "");
    return false;
  }
  if (spooled)
    jd_spool_remove(d, t->id);
  if (out == JD_STORE_REFUSED) {
    claim_lost(d, t->id, "result");
    return false;
  }
  count(d, out == JD_STORE_WRITTEN ? &d->st.stored : &d->st.duplicates);
  if (out == JD_STORE_WRITTEN)
    task_end(s, jd_task_end_of_status(status));
  jd_log_task(JD_LOG_INFO, out == JD_STORE_WRITTEN ? "task.done" : "task.duplicate", t->id,
              "attempt %d %s%s%s", attempt, jd_task_status_name(status),
              summary && *summary ? ": " : "", summary ? summary : "");
  return out == JD_STORE_WRITTEN;
}

/* Stopped by our own drain: not the task's fault, not an attempt. */
static void give_back(jd_daemon *d, jd_slot *s, const jd_task *t) {
  int rc;
  set_finishing(d, s);
  WITH_RETRY(rc, d, s->q, true,
             jd_queue_drained(s->q, s->entry.prio, s->entry.id, t->id, s->claim));
  count(d, &d->st.drained);
  task_end(s, JD_TASK_END_GIVEN_BACK);
  jd_log_task(JD_LOG_INFO, "task.drained", t->id, "given back on stop (%s)",
              rc ? jd_queue_error(s->q) : "released");
}

/* A system fault: the claim is given up, the entry stays pending and is
 * taken again after the lease. */
static void retry_later(jd_daemon *d, jd_slot *s, const jd_task *t, int attempt, const char *why) {
  int rc;
  bool held = false;
  set_finishing(d, s);
  WITH_RETRY(rc, d, s->q, false, jd_queue_retry_later(&held, s->q, t->id, s->claim, why));
  if (!rc && !held) {
    claim_lost(d, t->id, "retry");
    return;
  }
  count(d, &d->st.retried);
  task_end(s, JD_TASK_END_RETRIED);
  jd_log_task(JD_LOG_WARN, "task.retry", t->id,
              "attempt %d failed (%s); the entry is taken again after the lease", attempt, why);
}

/* A result to store: the artifacts are uploaded first, so the result
 * says where they went. */
static void finish(jd_daemon *d, jd_slot *s, const jd_task *t, int attempt,
                   const jd_exec_result *res, const char *out_dir, bool stalled) {
  jd_task_status status =
      stalled && res->status == JD_TASK_STATUS_CANCELLED ? JD_TASK_STATUS_STALLED : res->status;
  int64_t up0 = jd_mono_ms();
  json_object *artifacts = do_uploads(d, t, out_dir);
  if (t->nuploads)
    jd_dmetrics_phase(d->metrics, JD_PHASE_UPLOAD, (double)(jd_mono_ms() - up0) / 1000.0);
  char *json = final_result(d, t, attempt, res, status, artifacts);
  if (json && store(d, s, t, attempt, status, res->summary, json))
    for (int v = 0; v < JD_VERDICT_COUNT; v++)
      jd_dmetrics_verdict(d->metrics, (jd_verdict)v, res->verdicts[v]);
  else if (!json)
    retry_later(d, s, t, attempt, "out of memory");
  json_object_put(artifacts);
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
  s->progress_dirty = s->lease_lost = s->claim_lost = s->stalled = false;
  /* `drained` is kept (it is cleared when the slot's task is over): a drain
   * that timed out while this slot was between taking its entry and here
   * found no cancel to fire; it is fired now. */
  if (s->drained)
    dk_cancel_fire(cancel);
  pthread_mutex_unlock(&d->mu);
  if (jd_rm_rf(out_dir) || jd_mkdir_p(out_dir, 0755)) {
    jd_log_task(JD_LOG_ERROR, "task.outdir", t->id, "%s: %s", out_dir, strerror(errno));
    retry_later(d, s, t, attempt, "cannot make the output directory");
    return -1;
  }
  jd_log_task(JD_LOG_INFO, "task.start", t->id,
              "%s task, attempt %d, claim %lld, entry %s (%s), slot %d", jd_task_kind_name(t->kind),
              attempt, s->claim, s->entry.id, jd_priority_name(s->entry.prio), s->index);
  return 0;
}

/* Whether the engine went away since the run started (epoch0), or is
 * away now. Without an engine (tests with a fake executor) it never is.
 * d->mu held. */
static bool engine_went_away_locked(const jd_daemon *d, uint64_t epoch0) {
  return d->ctx && (d->engine_epoch != epoch0 || !d->engine_up);
}

/* Waits up to JD_FAULT_CONFIRM_MS for the engine watcher to see the engine
 * go away (see fault.h); true when it did. */
static bool engine_confirm(jd_daemon *d, const char *task_id, uint64_t epoch0) {
  jd_log_task(JD_LOG_INFO, "fault.confirm", task_id,
              "a container died by a signal the judger did not send; watching the engine");
  pthread_mutex_lock(&d->mu);
  int64_t until = jd_mono_ms() + JD_FAULT_CONFIRM_MS;
  while (d->ctx && !d->hard_stop && !engine_went_away_locked(d, epoch0) && jd_mono_ms() < until)
    jd_daemon_wait_ms(d, until - jd_mono_ms());
  bool gone = engine_went_away_locked(d, epoch0);
  pthread_mutex_unlock(&d->mu);
  return gone;
}

/* Fault attribution's verdict on what execute() came to (fault.h). */
static jd_blame blame_of(jd_daemon *d, const jd_task *t, int outcome, const jd_exec_result *res,
                         uint64_t epoch0) {
  pthread_mutex_lock(&d->mu);
  jd_fault_facts f = {outcome, res->status, res->engine_error, res->signal_exit,
                      engine_went_away_locked(d, epoch0)};
  pthread_mutex_unlock(&d->mu);
  if (jd_fault_needs_confirm(&f))
    f.engine_went_away = engine_confirm(d, t->id, epoch0);
  return jd_fault_blame(&f);
}

/* A system fault: retried, the program not blamed, and the sweeper asked to
 * remove what the run could not (the engine was away when it cleaned up). */
static void system_fault(jd_daemon *d, jd_slot *s, const jd_task *t, int attempt, int outcome,
                         const jd_exec_result *res) {
  char why[512];
  if (outcome == JD_EXEC_DONE)
    snprintf(why, sizeof why, "the engine failed or went away mid-run (the run said: %s)",
             res->summary ? res->summary : jd_task_status_name(res->status));
  else
    snprintf(why, sizeof why, "%s", res->reason ? res->reason : "system error");
  retry_later(d, s, t, attempt, why);
  if (d->ctx)
    jd_sweep_request(d);
}

/* What execute() came to, once fault attribution had its say. */
static void end_attempt(jd_daemon *d, jd_slot *s, jd_task *t, int attempt, int outcome,
                        const jd_exec_result *res, const char *out_dir, uint64_t epoch0) {
  pthread_mutex_lock(&d->mu);
  bool drained = s->drained, stalled = s->stalled, lost = s->lease_lost, fenced = s->claim_lost;
  pthread_mutex_unlock(&d->mu);
  bool cancelled = outcome != JD_EXEC_DONE || res->status == JD_TASK_STATUS_CANCELLED;
  if (fenced) {
    claim_lost(d, t->id, "outcome");
    return;
  }
  if (drained && cancelled) {
    give_back(d, s, t);
    return;
  }
  if (lost)
    jd_log_task(JD_LOG_WARN, "task.lease_lost", t->id,
                "another judger took the entry over; this run still holds the claim");
  switch (blame_of(d, t, outcome, res, epoch0)) {
  case JD_BLAME_TASK:
    dead_letter(d, s, t->id, s->claim, res->reason ? res->reason : "invalid task", attempt);
    return;
  case JD_BLAME_SYSTEM:
    system_fault(d, s, t, attempt, outcome, res);
    return;
  case JD_BLAME_NONE:
  case JD_BLAME_PROGRAM:
  case JD_BLAME_COUNT:
    break;
  }
  finish(d, s, t, attempt, res, out_dir, stalled);
}

static void run_task(jd_daemon *d, jd_slot *s, jd_task *t, void *prepared, int attempt) {
  jd_exec_result res = {0};
  dk_cancel *cancel = NULL;
  char out_dir[PATH_MAX];
  if (dk_cancel_new(&cancel) ||
      snprintf(out_dir, sizeof out_dir, "%s/%s", d->cfg.out_dir, t->id) >= (int)sizeof out_dir) {
    retry_later(d, s, t, attempt, "out of memory");
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
  jd_exec_env env = {out_dir, d->cfg.host_id, attempt, cancel, on_progress, s};
  int outcome = d->exec.execute(d->exec.self, t, prepared, &env, &res);
  for (int p = 0; p < JD_PHASE_COUNT; p++)
    if (res.phases & (1u << p))
      jd_dmetrics_phase(d->metrics, (jd_phase)p, res.phase_s[p]);
  end_attempt(d, s, t, attempt, outcome, &res, out_dir, epoch0);
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
  set_finishing(d, s);
  WITH_RETRY(rc, d, s->q, true, jd_queue_ack(s->q, s->entry.prio, s->entry.id));
  count(d, &d->st.duplicates);
  jd_log_task(JD_LOG_INFO, "task.duplicate", t->id, "entry %s: %s; acked without running",
              s->entry.id, why);
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
  if (rc) {
    /* Stopping while Redis is away: the entry stays pending; its lease
     * runs out and it is taken again. */
    jd_log_task(JD_LOG_WARN, "task.not_started", t->id, "%s", jd_queue_error(s->q));
    return false;
  }
  char why[64];
  switch (b.outcome) {
  case JD_BEGIN_RUN:
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
  case JD_BEGIN_EXHAUSTED:
  case JD_BEGIN_COUNT:
    break;
  }
  snprintf(why, sizeof why, "gave up after %d attempts", b.attempt);
  dead_letter(d, s, t->id, JD_CLAIM_NONE, why, b.attempt);
  return false;
}

/* Why an entry can never be a task before it is parsed: too big. */
static bool entry_too_big(jd_daemon *d, jd_slot *s) {
  if (!s->entry.too_big)
    return false;
  char why[160];
  snprintf(why, sizeof why, "entry: %zu bytes, over entry_max_bytes (%lld)", s->entry.task_len,
           (long long)d->cfg.entry_max_bytes);
  dead_letter(d, s, NULL, JD_CLAIM_NONE, why, 0);
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
  if (jd_task_parse(&t, e->task_json, d->cfg.entry_max_depth, err, sizeof err)) {
    dead_letter(d, s, NULL, JD_CLAIM_NONE, err, 0);
    return;
  }
  s->has_kind = true;
  s->kind = t->kind;
  if (d->exec.prepare && d->exec.prepare(&prepared, d->exec.self, t, err, sizeof err))
    dead_letter(d, s, t->id, JD_CLAIM_NONE, err, 0);
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
    s->busy = true;
    d->busy++;
    jd_dmetrics_busy(d->metrics, d->busy);
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
