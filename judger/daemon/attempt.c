/* How an attempt ends: its result uploaded and stored, or the attempt
 * retried later, given back on a drain, dead-lettered, or silenced because
 * the run lost its claim; fault attribution decides which (fault.h). The
 * worker (worker.c) runs the attempt and hands its outcome here (see
 * daemon_internal.h and docs/daemon.md). */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/size.h"
#include "common/utf8.h"
#include "common/util.h"
#include "daemon/daemon_internal.h"
#include "daemon/fault.h"
#include "daemon/upload.h"
#include "match/match_result.h"

/* judger_tasks_total: how this slot's attempt ended. */
static void task_end(jd_slot *s, jd_task_end e) {
  jd_dmetrics_task(s->d->metrics, s->has_kind ? &s->kind : NULL, e);
}

void jd_slot_set_finishing(jd_daemon *d, jd_slot *s) {
  pthread_mutex_lock(&d->mu);
  s->finishing = true;
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
  json_object_object_add(a, "path", json_object_new_string(u->path));
  json_object_object_add(a, "url", url_without_query(u->url));
  /* Opened below out_dir without following a link (programs wrote it). */
  jd_upload_report rep;
  int rc = jd_upload_under(&rep, out_dir, u->path, u->url, u->gzip, o);
  json_object_object_add(a, "gzip", json_object_new_boolean(rep.missing ? u->gzip : rep.gzip));
  if (rep.missing) {
    json_object_object_add(a, "uploaded", json_object_new_boolean(false));
    json_object_object_add(a, "error", json_object_new_string("no such output file"));
    return;
  }
  json_object_object_add(a, "uploaded", json_object_new_boolean(rc == 0));
  if (rep.sha256[0])
    json_object_object_add(a, "sha256", json_object_new_string(rep.sha256));
  json_object_object_add(a, "bytes", json_object_new_int64(rep.bytes));
  if (rep.sha256_plain[0]) {
    json_object_object_add(a, "sha256_plain", json_object_new_string(rep.sha256_plain));
    json_object_object_add(a, "bytes_plain", json_object_new_int64(rep.bytes_plain));
  }
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
  o.gzip_min_bytes = d->cfg.upload_gzip_min_bytes;
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
                          jd_task_status status, const char *reason, json_object *artifacts) {
  json_object *o = res->result && json_object_is_type(res->result, json_type_object)
                       ? json_object_get(res->result)
                       : json_object_new_object();
  json_object *task = json_object_new_object();
  json_object_object_add(task, "id", json_object_new_string(t->id));
  json_object_object_add(task, "type", json_object_new_string(jd_task_kind_name(t->kind)));
  json_object_object_add(task, "attempt", json_object_new_int(attempt));
  json_object_object_add(task, "host", json_object_new_string(d->cfg.host_id));
  json_object_object_add(task, "status", json_object_new_string(jd_task_status_name(status)));
  if (t->taskset)
    json_object_object_add(task, "taskset", json_object_new_string(t->taskset));
  if (reason)
    json_object_object_add(task, "reason", json_object_new_string(reason));
  json_object_object_add(o, "task", task);
  json_object_object_add(o, "artifacts", json_object_get(artifacts));
  /* The text judger run writes into result.json, on one line. */
  char *s = jd_result_text(o, false);
  json_object_put(o);
  return s;
}

/* ---- the ends -------------------------------------------------------------- */

/* A run that lost its task's claim writes nothing but this line: another
 * run has the task now (docs/queue.md "One run per task"). */
static void claim_lost(jd_daemon *d, const char *task_id, const char *what) {
  jd_daemon_count(d, &d->st.fenced);
  jd_log_task(JD_LOG_WARN, "task.claim_lost", task_id,
              "another run holds the task now; this run's %s is not written", what);
}

void jd_attempt_dead_letter(jd_daemon *d, jd_slot *s, const char *task_id, long long claim,
                            const char *reason, int attempts) {
  int rc;
  bool held = false;
  jd_slot_set_finishing(d, s);
  WITH_RETRY(rc, d, s->q, true,
             jd_queue_dead(&held, s->q, &s->entry, task_id, claim, reason, attempts));
  uint64_t gen = jd_redis_generation(jd_queue_redis(s->q));
  if (rc) {
    jd_log_task(JD_LOG_ERROR, "task.dead_failed", task_id, "could not dead-letter %s: %s",
                s->entry.id, jd_queue_error(s->q));
    return;
  }
  if (!held) {
    claim_lost(d, task_id, "dead letter");
    return;
  }
  /* Unconfirmed: a failover may bring the entry back, to be dead-lettered
   * again (docs/queue.md "Failover: what is guaranteed"). */
  if (!jd_daemon_confirm(NULL, d, s->q, gen, task_id, "dead letter"))
    jd_log_task(JD_LOG_WARN, "task.dead_unconfirmed", task_id,
                "entry %s: no replica confirmed its dead letter in time", s->entry.id);
  jd_log_task(JD_LOG_WARN, "task.dead", task_id, "entry %s (%s) dead-lettered: %s", s->entry.id,
              jd_priority_name(s->entry.prio), reason);
  jd_daemon_count(d, &d->st.dead);
  task_end(s, JD_TASK_END_DEAD);
}

/* The store of a spooled result not confirmed (or refused by a primary
 * short of replicas, NOREPLICAS: nothing written): the file stays and the
 * keeper stores it again until it is confirmed. */
static void keep_unconfirmed(jd_daemon *d, const char *task_id, bool spooled, const char *why) {
  if (spooled) {
    jd_log_task(JD_LOG_WARN, "result.unconfirmed", task_id, "%s: kept in the spool", why);
    jd_spool_unconfirmed(d, task_id);
  } else {
    jd_log_task(JD_LOG_ERROR, "result.unconfirmed", task_id, "%s, and it could not be spooled",
                why);
  }
}

/* True when the result was written (not refused, not a duplicate). */
static bool store(jd_daemon *d, jd_slot *s, const jd_task *t, int attempt, jd_task_status status,
                  const char *summary, const char *json) {
  jd_result_rec rec = {t->id, attempt, s->claim, status, summary, json};
  jd_slot_set_finishing(d, s);
  /* Spooled first: if Redis stays away until we stop (or we are killed),
   * the next start stores it. */
  ino_t ino = 0;
  bool spooled = jd_spool_write(&ino, d, s->entry.prio, s->entry.id, &rec) == 0;
  jd_store_outcome out = JD_STORE_REFUSED;
  int rc;
  WITH_RETRY(rc, d, s->q, true,
             jd_queue_store_result(&out, s->q, s->entry.prio, s->entry.id, &rec));
  uint64_t gen = jd_redis_generation(jd_queue_redis(s->q));
  if (rc && jd_queue_noreplicas(s->q)) {
    keep_unconfirmed(d, t->id, spooled, "the primary refused it for want of replicas");
    return false;
  }
  if (rc) {
    jd_log_task(JD_LOG_ERROR, "result.unstored", t->id, "%s%s", jd_queue_error(s->q),
                spooled ? " (kept in the spool for the next start)" : "");
    return false;
  }
  if (out == JD_STORE_REFUSED) {
    if (spooled)
      jd_spool_remove(d, t->id, ino);
    claim_lost(d, t->id, "result");
    return false;
  }
  /* The spool file goes once the replicas have the result; until then
   * the keeper stores it again (a failover may have lost it). */
  if (jd_daemon_confirm(NULL, d, s->q, gen, t->id, "result")) {
    if (spooled)
      jd_spool_remove(d, t->id, ino);
  } else {
    keep_unconfirmed(d, t->id, spooled, "stored, but no replica confirmed it in time");
  }
  jd_daemon_count(d, out == JD_STORE_WRITTEN ? &d->st.stored : &d->st.duplicates);
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
  jd_slot_set_finishing(d, s);
  WITH_RETRY(rc, d, s->q, true,
             jd_queue_drained(s->q, s->entry.prio, s->entry.id, t->id, s->claim));
  jd_daemon_count(d, &d->st.drained);
  task_end(s, JD_TASK_END_GIVEN_BACK);
  jd_log_task(JD_LOG_INFO, "task.drained", t->id, "given back on stop (%s)",
              rc ? jd_queue_error(s->q) : "released");
}

/* A system fault: the claim is given up, the entry stays pending and is
 * taken again after the lease. */
void jd_attempt_retry_later(jd_daemon *d, jd_slot *s, const jd_task *t, int attempt,
                            const char *why) {
  int rc;
  bool held = false;
  jd_slot_set_finishing(d, s);
  WITH_RETRY(rc, d, s->q, false, jd_queue_retry_later(&held, s->q, t->id, s->claim, why));
  if (!rc && !held) {
    claim_lost(d, t->id, "retry");
    return;
  }
  jd_daemon_count(d, &d->st.retried);
  task_end(s, JD_TASK_END_RETRIED);
  jd_log_task(JD_LOG_WARN, "task.retry", t->id,
              "attempt %d failed (%s); the entry is taken again after the lease", attempt, why);
}

/* A result to store: the artifacts are uploaded first, so the result
 * says where they went. */
static void finish(jd_daemon *d, jd_slot *s, const jd_task *t, int attempt,
                   const jd_exec_result *res, const char *out_dir, jd_task_status status,
                   const char *reason) {
  int64_t up0 = jd_mono_ms();
  json_object *artifacts = do_uploads(d, t, out_dir);
  if (t->nuploads)
    jd_dmetrics_phase(d->metrics, JD_PHASE_UPLOAD, (double)(jd_mono_ms() - up0) / 1000.0);
  char *json = final_result(d, t, attempt, res, status, reason, artifacts);
  if (json && store(d, s, t, attempt, status, res->summary, json)) {
    for (int v = 0; v < JD_VERDICT_COUNT; v++)
      jd_dmetrics_verdict(d->metrics, (jd_verdict)v, res->verdicts[v]);
    jd_dmetrics_turns(d->metrics, res->turns_ended, res->turns_timed_out);
    /* The set's last result: its standings now, not at the next keeper
     * round (one read of the unranked set when nothing ended). */
    if (t->taskset)
      jd_daemon_rank_tasksets(d, s->q);
  } else if (!json) {
    jd_attempt_retry_later(d, s, t, attempt, "out of memory");
  }
  json_object_put(artifacts);
  free(json);
}

/* ---- fault attribution ---------------------------------------------------- */

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
  jd_attempt_retry_later(d, s, t, attempt, why);
  if (d->ctx)
    jd_sweep_request(d);
}

/* A run ended because its task or taskset was cancelled (keeper.c): stored
 * as "cancelled" with the reason asked, whatever the executor came to. */
static void finish_cancelled(jd_daemon *d, jd_slot *s, const jd_attempt *a,
                             const jd_exec_result *res) {
  char reason[300], why[256] = "";
  if (jd_queue_cancel_reason(why, sizeof why, s->q, a->task->id))
    jd_log_task(JD_LOG_WARN, "task.cancel", a->task->id, "cancel reason unread: %s",
                jd_queue_error(s->q));
  /* Written by whoever asked: valid UTF-8 before it goes into JSON. */
  jd_utf8_clean(reason, sizeof reason, why[0] ? why : "cancelled",
                strlen(why[0] ? why : "cancelled"), JD_UTF8_ESCAPE_CONTROLS);
  finish(d, s, a->task, a->number, res, a->out_dir, JD_TASK_STATUS_CANCELLED, reason);
}

void jd_attempt_end(jd_daemon *d, jd_slot *s, const jd_attempt *a, int outcome,
                    const jd_exec_result *res) {
  const jd_task *t = a->task;
  pthread_mutex_lock(&d->mu);
  bool drained = s->drained, stalled = s->stalled, lost = s->lease_lost, fenced = s->claim_lost;
  bool cancel_asked = s->cancel_asked;
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
  if (cancel_asked && cancelled) {
    finish_cancelled(d, s, a, res);
    return;
  }
  if (lost)
    jd_log_task(JD_LOG_WARN, "task.lease_lost", t->id,
                "another judger took the entry over; this run still holds the claim");
  switch (blame_of(d, t, outcome, res, a->epoch0)) {
  case JD_BLAME_TASK:
    jd_attempt_dead_letter(d, s, t->id, s->claim, res->reason ? res->reason : "invalid task",
                           a->number);
    return;
  case JD_BLAME_SYSTEM:
    system_fault(d, s, t, a->number, outcome, res);
    return;
  case JD_BLAME_NONE:
  case JD_BLAME_PROGRAM:
  case JD_BLAME_COUNT:
    break;
  }
  finish(d, s, t, a->number, res, a->out_dir,
         stalled && res->status == JD_TASK_STATUS_CANCELLED ? JD_TASK_STATUS_STALLED : res->status,
         NULL);
}

/* ---- live streams ------------------------------------------------------------ */

/* The replay kept for a stream's late joiners: at most this many bytes. */
#define LIVE_REPLAY_MAX ((size_t)4 << 20)
/* Its containers deeper than this become null. */
#define LIVE_REPLAY_DEPTH 64

/* A limit of the match spec's "limits" (an integer, or a size text such as
 * "64k"), def when absent or unreadable (the executor checks the spec). */
static int64_t spec_limit(const jd_task *t, const char *name, int64_t def) {
  json_object *limits = NULL, *v = NULL;
  if (!t->spec || !json_object_object_get_ex(t->spec, "limits", &limits) ||
      !json_object_is_type(limits, json_type_object) ||
      !json_object_object_get_ex(limits, name, &v))
    return def;
  int64_t n = 0;
  if (json_object_is_type(v, json_type_int))
    n = json_object_get_int64(v);
  else if (!json_object_is_type(v, json_type_string) ||
           jd_parse_size(&n, json_object_get_string(v)))
    return def;
  return n > 0 ? n : def;
}

void jd_attempt_live_begin(jd_daemon *d, jd_slot *s, const jd_task *t, int attempt) {
  s->live = s->live_http = false;
  if (t->kind != JD_TASK_MATCH || !d->push)
    return;
  snprintf(s->live_id, sizeof s->live_id, "%s", t->id);
  /* While it runs, a stream whose daemon died still goes: its deadline
   * (the builds before it come on top, and every append sets it again)
   * and the time a finished one is kept. */
  int64_t ttl = spec_limit(t, "deadline_ms", 600000) + d->cfg.live_ttl_ms;
  int64_t frame_max = spec_limit(t, "frame_max_bytes", 8192);
  size_t maxlen = jd_live_maxlen(&d->cfg, frame_max);
  /* The hub only when something serves it (no copies nobody can read). */
  s->live_http = d->hub && d->metrics_srv && d->watch_keylen;
  if (s->live_http && jd_live_hub_open(d->hub, t->id)) {
    jd_log_task(JD_LOG_WARN, "live.open", t->id, "no HTTP live stream: out of memory");
    s->live_http = false;
  }
  jd_live_push_begin_cap(d->push, t->id, attempt, ttl, maxlen, s->claim,
                         jd_live_entry_cap(frame_max));
  s->live = true;
}

/* <out_dir>/replay.json when it is a regular file of at most
 * LIVE_REPLAY_MAX bytes, read without following a link; NULL otherwise. */
static char *read_replay(const char *out_dir, size_t *len) {
  *len = 0;
  int dfd = open(out_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0)
    return NULL;
  int fd = openat(dfd, "replay.json", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  close(dfd);
  struct stat st;
  char *buf = NULL;
  if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
      (size_t)st.st_size <= LIVE_REPLAY_MAX && (buf = malloc((size_t)st.st_size + 1))) {
    size_t n = 0;
    ssize_t r = 1;
    while (n < (size_t)st.st_size && (r = read(fd, buf + n, (size_t)st.st_size - n)) > 0)
      n += (size_t)r;
    /* Shorter than it said (or an error): not a replay to hand out. */
    if (r < 0 || n != (size_t)st.st_size) {
      free(buf);
      buf = NULL;
    } else {
      buf[n] = '\0';
      *len = n;
    }
  }
  if (fd >= 0)
    close(fd);
  return buf;
}

/* The replay as the watchers get it: parsed (a game logic wrote it: any
 * bytes), cleaned (strings to valid UTF-8, numbers valid JSON, containers
 * deeper than LIVE_REPLAY_DEPTH null) and compact, at most
 * LIVE_REPLAY_MAX bytes. NULL (logged) when it is not JSON. raw[len] is
 * its NUL. */
static char *replay_clean(const char *task_id, const char *raw, size_t len, size_t *outlen) {
  *outlen = 0;
  json_tokener *tok = json_tokener_new_ex(LIVE_REPLAY_DEPTH * 2);
  /* With its NUL (raw is a C string): a top-level number ends there. */
  json_object *o = tok ? json_tokener_parse_ex(tok, raw, (int)len + 1) : NULL;
  bool whole = o && json_tokener_get_error(tok) == json_tokener_success;
  for (size_t i = whole ? json_tokener_get_parse_end(tok) : len; whole && i < len; i++)
    whole = raw[i] == ' ' || raw[i] == '\n' || raw[i] == '\r' || raw[i] == '\t';
  json_object *c = whole ? jd_json_clean(o, LIVE_REPLAY_DEPTH) : NULL;
  const char *text =
      c ? json_object_to_json_string_ext(c, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
        : NULL;
  size_t n = text ? strlen(text) : 0;
  char *out = text && n <= LIVE_REPLAY_MAX ? strdup(text) : NULL;
  if (out)
    *outlen = n;
  else if (tok) /* out of memory before the tokener is not the replay's fault */
    jd_log_task(JD_LOG_WARN, "live.replay", task_id,
                "replay.json is %s: no replay for the watchers",
                !whole ? "not one JSON value" : "over 4 MiB once cleaned");
  json_object_put(c);
  json_object_put(o);
  if (tok)
    json_tokener_free(tok);
  return out;
}

void jd_attempt_live_end(jd_daemon *d, jd_slot *s, const char *out_dir) {
  if (!s->live)
    return;
  if (s->live_http) {
    size_t raw_len = 0, len = 0;
    char *raw = read_replay(out_dir, &raw_len);
    char *replay = raw ? replay_clean(s->live_id, raw, raw_len, &len) : NULL;
    free(raw);
    jd_live_hub_close(d->hub, s->live_id, replay, len);
    free(replay);
  }
  jd_live_push_end(d->push, s->live_id);
  s->live = s->live_http = false;
}
