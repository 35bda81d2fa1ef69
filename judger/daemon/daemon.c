/* The daemon: reader, workers, keeper (see daemon.h and docs/daemon.md). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/version.h"
#include "daemon/daemon.h"
#include "common/log.h"
#include "queue/queue.h"
#include "daemon/reconcile.h"
#include "daemon/upload.h"
#include "common/util.h"
#include "common/clock.h"

#define PROGRESS_MAX 1024

typedef struct slot {
  int index;
  struct jd_daemon *d;
  pthread_t th;
  bool started;
  jd_queue *q; /* this worker's own connection */
  /* Under d->mu: */
  bool busy;
  jd_entry entry;
  char task_id[JD_TASK_ID_MAX + 1];
  int attempt;
  dk_cancel *cancel;
  int64_t started_ms, last_activity_ms;
  char progress[PROGRESS_MAX];
  bool progress_dirty;
  bool lease_lost, stalled, drained;
  bool finishing; /* acking/storing: a lease that ends now is expected */
} slot;

struct jd_daemon {
  jd_config cfg; /* own copy; reloadable fields change under mu */
  jd_ctx *ctx;
  jd_executor exec;
  pthread_mutex_t mu;
  pthread_cond_t cv; /* any change: slot freed, backlog filled, stop */
  bool stopping, hard_stop, workers_exit, keeper_exit, ready;
  int64_t stop_deadline_ms; /* monotonic */
  jd_entry_list backlog;    /* taken, not yet started; sorted by priority */
  slot *slots;
  int nslots, busy;
  jd_queue *rq, *kq; /* reader's and keeper's connections */
  pthread_t keeper;
  bool keeper_started;
  jd_daemon_stats st;
  int64_t started_ms;
  char err[512];
};

/* cv uses CLOCK_MONOTONIC, so wall clock jumps do not stretch waits. */
static void wait_ms(jd_daemon *d, int64_t ms) {
  if (ms <= 0)
    return;
  struct timespec ts = jd_mono_after(ms);
  pthread_cond_timedwait(&d->cv, &d->mu, &ts);
}

void jd_exec_result_clear(jd_exec_result *r) {
  if (!r)
    return;
  free(r->result_json);
  free(r->status);
  free(r->summary);
  free(r->reason);
  memset(r, 0, sizeof *r);
}

static jd_log_level level_of(const char *s) {
  if (!strcmp(s, "debug"))
    return JD_LOG_DEBUG;
  if (!strcmp(s, "warn"))
    return JD_LOG_WARN;
  if (!strcmp(s, "error"))
    return JD_LOG_ERROR;
  return JD_LOG_INFO;
}

static jd_queue_opts queue_opts(const jd_daemon *d) {
  jd_queue_opts o = {.redis_url = d->cfg.redis,
                     .prefix = d->cfg.prefix,
                     .group = d->cfg.group,
                     .consumer = d->cfg.host_id,
                     .lease_ms = d->cfg.lease_ms};
  o.redis.io_timeout_ms = 5000;
  o.redis.connect_timeout_ms = 2000;
  return o;
}

int jd_daemon_new(jd_daemon **out, const jd_config *cfg, jd_ctx *ctx, const jd_executor *exec) {
  *out = NULL;
  jd_daemon *d = calloc(1, sizeof *d);
  if (!d)
    return -1;
  pthread_mutex_init(&d->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&d->cv, &ca);
  pthread_condattr_destroy(&ca);
  if (jd_config_copy(&d->cfg, cfg)) {
    jd_daemon_free(d);
    return -1;
  }
  if (!d->cfg.out_dir || !*d->cfg.out_dir) {
    free(d->cfg.out_dir);
    if (asprintf(&d->cfg.out_dir, "%s/tasks", d->cfg.state_dir) < 0) {
      d->cfg.out_dir = NULL;
      jd_daemon_free(d);
      return -1;
    }
  }
  d->ctx = ctx;
  d->exec = *exec;
  d->nslots = cfg->slots > 0 ? cfg->slots : 1;
  d->slots = calloc((size_t)d->nslots, sizeof *d->slots);
  jd_queue_opts qo = queue_opts(d);
  if (!d->slots || jd_queue_new(&d->rq, &qo) || jd_queue_new(&d->kq, &qo)) {
    jd_daemon_free(d);
    return -1;
  }
  for (int i = 0; i < d->nslots; i++) {
    d->slots[i].index = i;
    d->slots[i].d = d;
    if (jd_queue_new(&d->slots[i].q, &qo)) {
      jd_daemon_free(d);
      return -1;
    }
  }
  d->st.slots = d->nslots;
  *out = d;
  return 0;
}

void jd_daemon_free(jd_daemon *d) {
  if (!d)
    return;
  for (int i = 0; d->slots && i < d->nslots; i++)
    jd_queue_free(d->slots[i].q);
  free(d->slots);
  jd_queue_free(d->rq);
  jd_queue_free(d->kq);
  jd_entry_list_clear(&d->backlog);
  jd_config_clear(&d->cfg);
  pthread_cond_destroy(&d->cv);
  pthread_mutex_destroy(&d->mu);
  free(d);
}

const char *jd_daemon_error(const jd_daemon *d) { return d->err; }

void jd_daemon_stop(jd_daemon *d, bool drain) {
  pthread_mutex_lock(&d->mu);
  int64_t deadline = jd_mono_ms() + (drain ? d->cfg.grace_ms : 0);
  if (!d->stopping) {
    d->stopping = true;
    d->stop_deadline_ms = deadline;
  } else if (deadline < d->stop_deadline_ms) {
    d->stop_deadline_ms = deadline; /* a second request shortens the grace */
  }
  pthread_cond_broadcast(&d->cv);
  pthread_mutex_unlock(&d->mu);
}

void jd_daemon_reload(jd_daemon *d, const jd_config *cfg) {
  pthread_mutex_lock(&d->mu);
  d->cfg.stall_ms = cfg->stall_ms;
  d->cfg.grace_ms = cfg->grace_ms;
  d->cfg.max_attempts = cfg->max_attempts;
  d->cfg.upload_retries = cfg->upload_retries;
  d->cfg.upload_timeout_ms = cfg->upload_timeout_ms;
  d->cfg.reap_dead_hosts = cfg->reap_dead_hosts;
  d->cfg.log_json = cfg->log_json;
  char *labels = strdup(cfg->labels ? cfg->labels : "");
  char *level = strdup(cfg->log_level ? cfg->log_level : "info");
  if (labels && level) {
    free(d->cfg.labels);
    free(d->cfg.log_level);
    d->cfg.labels = labels;
    d->cfg.log_level = level;
  } else {
    free(labels);
    free(level);
  }
  jd_log_set_level(level_of(d->cfg.log_level));
  jd_log_set_json(d->cfg.log_json);
  pthread_mutex_unlock(&d->mu);
  jd_log(JD_LOG_INFO, "daemon.reload",
         "settings reloaded (slots, Redis and host id need a restart)");
}

void jd_daemon_stats_get(jd_daemon *d, jd_daemon_stats *out) {
  pthread_mutex_lock(&d->mu);
  *out = d->st;
  out->busy = d->busy;
  out->backlog = (int)d->backlog.count;
  out->ready = d->ready;
  pthread_mutex_unlock(&d->mu);
}

/* ---- Redis with retries ------------------------------------------------ */

/* Waits out a Redis backoff. Returns false when the caller should give up:
 * on stop (unless keep_on_stop) or, always, once the hard stop came. */
static bool redis_wait(jd_daemon *d, jd_queue *q, bool keep_on_stop) {
  int64_t ms = jd_queue_backoff_ms(q);
  if (ms < 50)
    ms = 50;
  pthread_mutex_lock(&d->mu);
  bool go = !d->hard_stop && (keep_on_stop || !d->stopping);
  if (go)
    wait_ms(d, ms);
  go = !d->hard_stop && (keep_on_stop || !d->stopping);
  pthread_mutex_unlock(&d->mu);
  return go;
}

#define WITH_RETRY(rc, d, q, keep, call)                                                           \
  do {                                                                                             \
    (rc) = (call);                                                                                 \
  } while ((rc) == JD_REDIS_ECONN && redis_wait((d), (q), (keep)))

/* ---- result spool: results survive Redis outages and restarts --------- */

static int spool_dir(char *out, size_t n, const jd_daemon *d) {
  return snprintf(out, n, "%s/spool/%s", d->cfg.state_dir, d->cfg.host_id) >= (int)n ? -1 : 0;
}

static int spool_path(char *out, size_t n, const jd_daemon *d, const char *task_id) {
  char dir[PATH_MAX];
  if (spool_dir(dir, sizeof dir, d))
    return -1;
  return snprintf(out, n, "%s/%s.json", dir, task_id) >= (int)n ? -1 : 0;
}

static int spool_write(const jd_daemon *d, jd_priority p, const char *entry_id,
                       const jd_result_rec *rec) {
  char dir[PATH_MAX], path[PATH_MAX];
  if (spool_dir(dir, sizeof dir, d) || spool_path(path, sizeof path, d, rec->task_id) ||
      jd_mkdir_p(dir, 0700))
    return -1;
  json_object *o = json_object_new_object();
  json_object_object_add(o, "priority", json_object_new_string(jd_priority_name(p)));
  json_object_object_add(o, "entry_id", json_object_new_string(entry_id));
  json_object_object_add(o, "task_id", json_object_new_string(rec->task_id));
  json_object_object_add(o, "attempt", json_object_new_int(rec->attempt));
  json_object_object_add(o, "status", json_object_new_string(rec->status));
  json_object_object_add(o, "summary", json_object_new_string(rec->summary ? rec->summary : ""));
  json_object_object_add(o, "result", json_object_new_string(rec->json));
  const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
  int rc = jd_write_file(path, s, strlen(s));
  json_object_put(o);
  return rc;
}

static const char *jget(json_object *o, const char *k) {
  json_object *v = NULL;
  return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string)
             ? json_object_get_string(v)
             : NULL;
}

/* Stores the results a previous run could not (Redis was away). */
static void spool_flush(jd_daemon *d) {
  char dir[PATH_MAX];
  if (spool_dir(dir, sizeof dir, d))
    return;
  DIR *dh = opendir(dir);
  if (!dh)
    return;
  struct dirent *de;
  while ((de = readdir(dh))) {
    size_t n = strlen(de->d_name);
    if (n < 6 || strcmp(de->d_name + n - 5, ".json"))
      continue;
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= (int)sizeof path)
      continue;
    char *text = NULL;
    json_object *o = NULL;
    if (jd_read_file(&text, NULL, path, 64u << 20) || !(o = json_tokener_parse(text))) {
      jd_log(JD_LOG_WARN, "spool.bad", "%s: unreadable, removed", path);
      unlink(path);
      free(text);
      continue;
    }
    jd_priority p = JD_PRIO_MATCH;
    jd_priority_parse(&p, jget(o, "priority"));
    json_object *att = NULL;
    json_object_object_get_ex(o, "attempt", &att);
    jd_result_rec rec = {jget(o, "task_id"), json_object_get_int(att), jget(o, "status"),
                         jget(o, "summary"), jget(o, "result")};
    bool written = false;
    int rc = JD_REDIS_EPROTO;
    if (rec.task_id && rec.status && rec.json)
      WITH_RETRY(rc, d, d->rq, false,
                 jd_queue_store_result(&written, d->rq, p, jget(o, "entry_id"), &rec));
    if (rc == 0 || rc == JD_REDIS_EPROTO) {
      unlink(path);
      if (rc == 0)
        jd_log_task(JD_LOG_INFO, "result.spooled", rec.task_id, "stored from the spool (%s)",
                    written ? "written" : "already there");
    }
    json_object_put(o);
    free(text);
  }
  closedir(dh);
}

/* ---- one task -------------------------------------------------------- */

static void on_progress(void *ud, const char *json_event) {
  slot *s = ud;
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

static json_object *do_uploads(jd_daemon *d, const jd_task *t, const char *out_dir) {
  json_object *arr = json_object_new_array();
  jd_upload_opts o = {.cancelled = upload_cancelled, .ud = d};
  pthread_mutex_lock(&d->mu);
  o.retries = d->cfg.upload_retries;
  o.timeout_ms = d->cfg.upload_timeout_ms;
  pthread_mutex_unlock(&d->mu);
  for (size_t i = 0; i < t->nuploads; i++) {
    const jd_upload *u = &t->uploads[i];
    char path[PATH_MAX];
    json_object *a = json_object_new_object();
    json_object_object_add(a, "path", json_object_new_string(u->path));
    json_object_object_add(a, "url", url_without_query(u->url));
    json_object_object_add(a, "gzip", json_object_new_boolean(u->gzip));
    json_object_array_add(arr, a);
    if (snprintf(path, sizeof path, "%s/%s", out_dir, u->path) >= (int)sizeof path ||
        !jd_path_exists(path)) {
      json_object_object_add(a, "uploaded", json_object_new_boolean(false));
      json_object_object_add(a, "error", json_object_new_string("no such output file"));
      continue;
    }
    jd_upload_report rep;
    int rc = jd_upload_file(&rep, path, u->url, u->gzip, &o);
    json_object_object_add(a, "uploaded", json_object_new_boolean(rc == 0));
    if (rep.sha256[0])
      json_object_object_add(a, "sha256", json_object_new_string(rep.sha256));
    json_object_object_add(a, "bytes", json_object_new_int64(rep.bytes));
    json_object_object_add(a, "attempts", json_object_new_int(rep.attempts));
    if (rc) {
      json_object_object_add(a, "error", json_object_new_string(rep.error));
      jd_log_task(JD_LOG_WARN, "upload.failed", t->id, "%s: %s after %d attempts", u->path,
                  rep.error, rep.attempts);
    }
  }
  return arr;
}

/* The executor's result.json plus what the daemon knows: the task, the
 * attempt, the host, the uploads. Returns a malloc'd text. */
static char *final_result(jd_daemon *d, const jd_task *t, int attempt, const jd_exec_result *res,
                          const char *status, json_object *artifacts) {
  json_object *o = res->result_json ? json_tokener_parse(res->result_json) : NULL;
  if (!o || !json_object_is_type(o, json_type_object)) {
    json_object_put(o);
    o = json_object_new_object();
    if (res->result_json)
      json_object_object_add(o, "raw", json_object_new_string(res->result_json));
  }
  json_object *task = json_object_new_object();
  json_object_object_add(task, "id", json_object_new_string(t->id));
  json_object_object_add(task, "type", json_object_new_string(jd_task_kind_name(t->kind)));
  json_object_object_add(task, "attempt", json_object_new_int(attempt));
  json_object_object_add(task, "host", json_object_new_string(d->cfg.host_id));
  json_object_object_add(task, "status", json_object_new_string(status));
  json_object_object_add(o, "task", task);
  json_object_object_add(o, "artifacts", json_object_get(artifacts));
  char *s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
  json_object_put(o);
  return s;
}

static void set_finishing(jd_daemon *d, slot *s) {
  pthread_mutex_lock(&d->mu);
  s->finishing = true;
  pthread_mutex_unlock(&d->mu);
}

static void dead_letter(jd_daemon *d, slot *s, const char *task_id, const char *reason,
                        int attempts) {
  int rc;
  set_finishing(d, s);
  WITH_RETRY(rc, d, s->q, true, jd_queue_dead(s->q, &s->entry, task_id, reason, attempts));
  if (rc)
    jd_log_task(JD_LOG_ERROR, "task.dead_failed", task_id, "could not dead-letter %s: %s",
                s->entry.id, jd_queue_error(s->q));
  else
    jd_log_task(JD_LOG_WARN, "task.dead", task_id, "entry %s (%s) dead-lettered: %s", s->entry.id,
                jd_priority_name(s->entry.prio), reason);
  pthread_mutex_lock(&d->mu);
  d->st.dead++;
  pthread_mutex_unlock(&d->mu);
}

static void store(jd_daemon *d, slot *s, const jd_task *t, int attempt, const char *status,
                  const char *summary, const char *json) {
  jd_result_rec rec = {t->id, attempt, status, summary, json};
  set_finishing(d, s);
  /* Spooled first: if Redis stays away until we stop (or we are killed),
   * the next start stores it. */
  bool spooled = spool_write(d, s->entry.prio, s->entry.id, &rec) == 0;
  bool written = false;
  int rc;
  WITH_RETRY(rc, d, s->q, true,
             jd_queue_store_result(&written, s->q, s->entry.prio, s->entry.id, &rec));
  if (rc) {
    jd_log_task(JD_LOG_ERROR, "result.unstored", t->id, "%s%s", jd_queue_error(s->q),
                spooled ? " (kept in the spool for the next start)" : "");
    return;
  }
  char path[PATH_MAX];
  if (spooled && !spool_path(path, sizeof path, d, t->id))
    unlink(path);
  pthread_mutex_lock(&d->mu);
  if (written)
    d->st.stored++;
  else
    d->st.duplicates++;
  pthread_mutex_unlock(&d->mu);
  jd_log_task(JD_LOG_INFO, written ? "task.done" : "task.duplicate", t->id, "attempt %d %s%s%s",
              attempt, status, summary && *summary ? ": " : "", summary ? summary : "");
}

static void run_task(jd_daemon *d, slot *s, jd_task *t, int attempt) {
  jd_exec_result res = {0};
  json_object *artifacts = NULL;
  char *json = NULL;
  dk_cancel *cancel = NULL;
  char out_dir[PATH_MAX];
  if (dk_cancel_new(&cancel) ||
      snprintf(out_dir, sizeof out_dir, "%s/%s", d->cfg.out_dir, t->id) >= (int)sizeof out_dir) {
    jd_queue_retry_later(s->q, t->id, "out of memory");
    goto cleanup;
  }
  pthread_mutex_lock(&d->mu);
  snprintf(s->task_id, sizeof s->task_id, "%s", t->id);
  s->attempt = attempt;
  s->cancel = cancel;
  s->started_ms = jd_unix_ms();
  s->last_activity_ms = jd_mono_ms();
  s->progress[0] = '\0';
  s->progress_dirty = s->lease_lost = s->stalled = s->drained = false;
  pthread_mutex_unlock(&d->mu);
  /* A re-run starts from an empty output directory. */
  if (jd_rm_rf(out_dir) || jd_mkdir_p(out_dir, 0755)) {
    jd_log_task(JD_LOG_ERROR, "task.outdir", t->id, "%s: %s", out_dir, strerror(errno));
    jd_queue_retry_later(s->q, t->id, "cannot make the output directory");
    goto cleanup;
  }
  jd_log_task(JD_LOG_INFO, "task.start", t->id, "%s task, attempt %d, entry %s (%s), slot %d",
              jd_task_kind_name(t->kind), attempt, s->entry.id, jd_priority_name(s->entry.prio),
              s->index);
  jd_exec_env env = {out_dir, d->cfg.host_id, attempt, cancel, on_progress, s};
  int outcome = d->exec.execute(d->exec.self, t, &env, &res);
  pthread_mutex_lock(&d->mu);
  bool drained = s->drained, stalled = s->stalled, lost = s->lease_lost;
  pthread_mutex_unlock(&d->mu);
  bool cancelled = outcome != JD_EXEC_DONE || !res.status || !strcmp(res.status, "cancelled");
  if (drained && cancelled) {
    /* Stopped by our own drain: not the task's fault, not an attempt. */
    int rc;
    set_finishing(d, s);
    WITH_RETRY(rc, d, s->q, true, jd_queue_drained(s->q, s->entry.prio, s->entry.id, t->id));
    pthread_mutex_lock(&d->mu);
    d->st.drained++;
    pthread_mutex_unlock(&d->mu);
    jd_log_task(JD_LOG_INFO, "task.drained", t->id, "given back on stop (%s)",
                rc ? jd_queue_error(s->q) : "released");
    goto cleanup;
  }
  if (lost)
    jd_log_task(JD_LOG_WARN, "task.lease_lost", t->id,
                "another judger took the entry over; the first result stored wins");
  if (outcome == JD_EXEC_INVALID) {
    dead_letter(d, s, t->id, res.reason ? res.reason : "invalid task", attempt);
    goto cleanup;
  }
  if (outcome != JD_EXEC_DONE || !res.status) {
    const char *why = res.reason ? res.reason : "system error";
    int rc;
    WITH_RETRY(rc, d, s->q, false, jd_queue_retry_later(s->q, t->id, why));
    pthread_mutex_lock(&d->mu);
    d->st.retried++;
    pthread_mutex_unlock(&d->mu);
    jd_log_task(JD_LOG_WARN, "task.retry", t->id,
                "attempt %d failed (%s); the entry is taken again after the lease", attempt, why);
    goto cleanup;
  }
  const char *status = stalled && !strcmp(res.status, "cancelled") ? "stalled" : res.status;
  artifacts = do_uploads(d, t, out_dir);
  json = final_result(d, t, attempt, &res, status, artifacts);
  if (!json) {
    jd_queue_retry_later(s->q, t->id, "out of memory");
    goto cleanup;
  }
  store(d, s, t, attempt, status, res.summary, json);
cleanup:
  pthread_mutex_lock(&d->mu);
  s->cancel = NULL;
  s->task_id[0] = '\0';
  pthread_mutex_unlock(&d->mu);
  dk_cancel_free(cancel);
  json_object_put(artifacts);
  free(json);
  jd_exec_result_clear(&res);
}

static void handle(jd_daemon *d, slot *s) {
  jd_entry *e = &s->entry;
  char err[512];
  jd_task *t = NULL;
  int rc;
  if (e->deleted) {
    /* Deleted from the stream while pending: nothing left to run. */
    WITH_RETRY(rc, d, s->q, true, jd_queue_ack(s->q, e->prio, e->id));
    jd_log(JD_LOG_INFO, "entry.deleted", "entry %s (%s) no longer exists; acked", e->id,
           jd_priority_name(e->prio));
    return;
  }
  if (jd_task_parse(&t, e->task_json, err, sizeof err)) {
    dead_letter(d, s, NULL, err, 0);
    return;
  }
  if (d->exec.validate && d->exec.validate(d->exec.self, t, err, sizeof err)) {
    dead_letter(d, s, t->id, err, 0);
    goto cleanup;
  }
  int attempt = 0;
  WITH_RETRY(rc, d, s->q, false, jd_queue_begin(&attempt, s->q, e->prio, e->id, t->id));
  if (rc) {
    /* Stopping while Redis is away: the entry stays pending; its lease
     * runs out and it is taken again. */
    jd_log_task(JD_LOG_WARN, "task.not_started", t->id, "%s", jd_queue_error(s->q));
    goto cleanup;
  }
  if (attempt == 0) {
    set_finishing(d, s);
    WITH_RETRY(rc, d, s->q, true, jd_queue_ack(s->q, e->prio, e->id));
    pthread_mutex_lock(&d->mu);
    d->st.duplicates++;
    pthread_mutex_unlock(&d->mu);
    jd_log_task(JD_LOG_INFO, "task.duplicate", t->id,
                "entry %s: a result is already stored; acked without running", e->id);
    goto cleanup;
  }
  pthread_mutex_lock(&d->mu);
  int max = t->max_attempts ? t->max_attempts : d->cfg.max_attempts;
  pthread_mutex_unlock(&d->mu);
  if (attempt > max) {
    snprintf(err, sizeof err, "gave up after %d attempts", attempt - 1);
    dead_letter(d, s, t->id, err, attempt - 1);
    goto cleanup;
  }
  run_task(d, s, t, attempt);
cleanup:
  jd_task_free(t);
}

/* ---- workers ------------------------------------------------------------ */

/* The highest-priority entry, first come first served within a priority. */
static size_t best_index(const jd_entry_list *l) {
  size_t best = 0;
  for (size_t i = 1; i < l->count; i++)
    if (l->items[i].prio < l->items[best].prio)
      best = i;
  return best;
}

static void *worker_main(void *arg) {
  slot *s = arg;
  jd_daemon *d = s->d;
  pthread_mutex_lock(&d->mu);
  for (;;) {
    while (!d->workers_exit && (d->stopping || d->backlog.count == 0))
      pthread_cond_wait(&d->cv, &d->mu);
    if (d->workers_exit)
      break;
    jd_entry_list_take(&d->backlog, best_index(&d->backlog), &s->entry);
    s->busy = true;
    d->busy++;
    pthread_mutex_unlock(&d->mu);
    handle(d, s);
    pthread_mutex_lock(&d->mu);
    free(s->entry.task_json);
    memset(&s->entry, 0, sizeof s->entry);
    s->busy = false;
    s->finishing = false;
    d->busy--;
    pthread_cond_broadcast(&d->cv);
  }
  pthread_mutex_unlock(&d->mu);
  return NULL;
}

/* ---- keeper: leases, heartbeat, progress, stalls, dead hosts ---------- */

static json_object *labels_object(const char *labels) {
  json_object *o = json_object_new_object();
  char *copy = strdup(labels ? labels : "");
  char *save = NULL;
  for (char *kv = copy ? strtok_r(copy, ",", &save) : NULL; kv; kv = strtok_r(NULL, ",", &save)) {
    while (*kv == ' ')
      kv++;
    char *eq = strchr(kv, '=');
    if (!eq || eq == kv)
      continue;
    *eq = '\0';
    json_object_object_add(o, kv, json_object_new_string(eq + 1));
  }
  free(copy);
  return o;
}

typedef struct lease_item {
  jd_priority prio;
  char id[48];
  int slot; /* -1: a backlog entry */
} lease_item;

static json_object *heartbeat_locked(jd_daemon *d) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "host", json_object_new_string(d->cfg.host_id));
  json_object_object_add(o, "version", json_object_new_string(JD_VERSION));
  json_object_object_add(o, "pid", json_object_new_int(getpid()));
  json_object_object_add(o, "state", json_object_new_string(d->stopping ? "draining" : "running"));
  json_object_object_add(o, "slots", json_object_new_int(d->nslots));
  json_object_object_add(o, "busy", json_object_new_int(d->busy));
  json_object_object_add(o, "backlog", json_object_new_int((int)d->backlog.count));
  json_object_object_add(o, "labels", labels_object(d->cfg.labels));
  json_object_object_add(o, "started_ms", json_object_new_int64(d->started_ms));
  json_object_object_add(o, "updated_ms", json_object_new_int64(jd_unix_ms()));
  json_object *tasks = json_object_new_array();
  for (int i = 0; i < d->nslots; i++) {
    slot *s = &d->slots[i];
    if (!s->busy || !s->task_id[0])
      continue;
    json_object *t = json_object_new_object();
    json_object_object_add(t, "task_id", json_object_new_string(s->task_id));
    json_object_object_add(t, "host", json_object_new_string(d->cfg.host_id));
    json_object_object_add(t, "slot", json_object_new_int(i));
    json_object_object_add(t, "attempt", json_object_new_int(s->attempt));
    json_object_object_add(t, "priority", json_object_new_string(jd_priority_name(s->entry.prio)));
    json_object_object_add(t, "entry_id", json_object_new_string(s->entry.id));
    json_object_object_add(t, "started_ms", json_object_new_int64(s->started_ms));
    json_object_object_add(t, "progress", s->progress[0] ? json_tokener_parse(s->progress) : NULL);
    json_object_array_add(tasks, t);
  }
  json_object_object_add(o, "tasks", tasks);
  return o;
}

typedef struct dead_host {
  char *id;
  int64_t since_ms; /* first seen without heartbeat */
} dead_host;

/* Containers of a host whose heartbeat expired are removed once it stayed
 * dead for two leases: a host merely cut off from Redis for a moment keeps
 * its running matches. */
static void reap_dead_hosts(jd_daemon *d, dead_host **known, size_t *nknown) {
  char **dead = NULL;
  if (jd_queue_dead_hosts(&dead, d->kq))
    return;
  int64_t now = jd_mono_ms();
  dead_host *next = calloc(1, sizeof *next); /* rebuilt: hosts back alive drop out */
  size_t nnext = 0;
  for (char **h = dead; h && *h; h++) {
    int64_t since = now;
    for (size_t i = 0; i < *nknown; i++)
      if (!strcmp((*known)[i].id, *h))
        since = (*known)[i].since_ms;
    if (now - since >= 2 * d->cfg.lease_ms) {
      jd_reconcile_report rep = {0};
      int rc = jd_reconcile_engine(&rep, d->ctx->dk, *h);
      if (rep.containers || rep.networks || rc)
        jd_log(rc ? JD_LOG_WARN : JD_LOG_INFO, "reconcile.dead_host",
               "host %s is dead: removed %zu containers, %zu networks%s%s", *h, rep.containers,
               rep.networks, rc ? "; error: " : "", rc ? dk_strerror(rc) : "");
    }
    dead_host *grown = realloc(next, (nnext + 1) * sizeof *next);
    if (!grown)
      break;
    next = grown;
    next[nnext].id = strdup(*h);
    next[nnext].since_ms = since;
    if (next[nnext].id)
      nnext++;
  }
  for (size_t i = 0; i < *nknown; i++)
    free((*known)[i].id);
  free(*known);
  *known = next;
  *nknown = nnext;
  for (char **h = dead; h && *h; h++)
    free(*h);
  free(dead);
}

static void keeper_round(jd_daemon *d, int round, dead_host **dead, size_t *ndead) {
  size_t cap = (size_t)d->nslots;
  pthread_mutex_lock(&d->mu);
  cap += d->backlog.count;
  lease_item *items = calloc(cap ? cap : 1, sizeof *items);
  char(*prog_task)[JD_TASK_ID_MAX + 1] = calloc((size_t)d->nslots, sizeof *prog_task);
  char(*prog)[PROGRESS_MAX] = calloc((size_t)d->nslots, sizeof *prog);
  size_t n = 0, nprog = 0;
  int64_t now = jd_mono_ms();
  for (int i = 0; items && prog && prog_task && i < d->nslots; i++) {
    slot *s = &d->slots[i];
    if (!s->busy)
      continue;
    items[n].prio = s->entry.prio;
    snprintf(items[n].id, sizeof items[n].id, "%s", s->entry.id);
    items[n++].slot = i;
    if (s->progress_dirty && s->task_id[0]) {
      snprintf(prog_task[nprog], sizeof prog_task[nprog], "%s", s->task_id);
      snprintf(prog[nprog++], PROGRESS_MAX, "%s", s->progress);
      s->progress_dirty = false;
    }
    if (d->cfg.stall_ms > 0 && s->cancel && !s->stalled &&
        now - s->last_activity_ms > d->cfg.stall_ms) {
      s->stalled = true;
      dk_cancel_fire(s->cancel);
      jd_log_task(JD_LOG_WARN, "task.stalled", s->task_id, "no progress for %lld ms: ending it",
                  (long long)(now - s->last_activity_ms));
    }
  }
  for (size_t i = 0; items && i < d->backlog.count; i++) {
    items[n].prio = d->backlog.items[i].prio;
    snprintf(items[n].id, sizeof items[n].id, "%s", d->backlog.items[i].id);
    items[n++].slot = -1;
  }
  json_object *hb = heartbeat_locked(d);
  bool reap = d->ctx && d->cfg.reap_dead_hosts && round % 10 == 0;
  pthread_mutex_unlock(&d->mu);

  if (items && n) {
    jd_priority *prios = calloc(n, sizeof *prios);
    const char **ids = calloc(n, sizeof *ids);
    bool *ours = calloc(n, sizeof *ours);
    if (prios && ids && ours) {
      for (size_t i = 0; i < n; i++) {
        prios[i] = items[i].prio;
        ids[i] = items[i].id;
      }
      if (jd_queue_renew(ours, d->kq, prios, ids, n) == 0) {
        pthread_mutex_lock(&d->mu);
        for (size_t i = 0; i < n; i++) {
          if (ours[i])
            continue;
          if (items[i].slot >= 0) {
            slot *s = &d->slots[items[i].slot];
            if (s->busy && !strcmp(s->entry.id, items[i].id) && !s->lease_lost && !s->finishing) {
              s->lease_lost = true;
              jd_log_task(JD_LOG_WARN, "lease.lost", s->task_id[0] ? s->task_id : NULL,
                          "entry %s is no longer pending on this host", items[i].id);
            }
          } else {
            /* Not started and someone else has it now: forget it. */
            for (size_t k = 0; k < d->backlog.count; k++)
              if (!strcmp(d->backlog.items[k].id, items[i].id) &&
                  d->backlog.items[k].prio == items[i].prio) {
                jd_entry gone;
                jd_entry_list_take(&d->backlog, k, &gone);
                free(gone.task_json);
                break;
              }
          }
        }
        pthread_mutex_unlock(&d->mu);
      }
    }
    free(prios);
    free(ids);
    free(ours);
  }
  for (size_t i = 0; i < nprog; i++)
    jd_queue_progress(d->kq, prog_task[i], prog[i]);
  jd_queue_heartbeat(d->kq, json_object_to_json_string_ext(hb, JSON_C_TO_STRING_PLAIN),
                     d->cfg.lease_ms);
  json_object_put(hb);
  if (reap)
    reap_dead_hosts(d, dead, ndead);
  free(items);
  free(prog_task);
  free(prog);
}

static void *keeper_main(void *arg) {
  jd_daemon *d = arg;
  int64_t tick = d->cfg.lease_ms / 3;
  if (tick < 50)
    tick = 50;
  dead_host *dead = NULL;
  size_t ndead = 0;
  for (int round = 0;; round++) {
    keeper_round(d, round, &dead, &ndead);
    pthread_mutex_lock(&d->mu);
    int64_t until = jd_mono_ms() + tick;
    while (!d->keeper_exit && jd_mono_ms() < until)
      wait_ms(d, until - jd_mono_ms());
    bool exit_now = d->keeper_exit;
    pthread_mutex_unlock(&d->mu);
    if (exit_now)
      break;
  }
  for (size_t i = 0; i < ndead; i++)
    free(dead[i].id);
  free(dead);
  return NULL;
}

/* ---- reader ------------------------------------------------------------- */

static bool in_flight_locked(const jd_daemon *d, const jd_entry *e) {
  for (int i = 0; i < d->nslots; i++)
    if (d->slots[i].busy && d->slots[i].entry.prio == e->prio &&
        !strcmp(d->slots[i].entry.id, e->id))
      return true;
  for (size_t i = 0; i < d->backlog.count; i++)
    if (d->backlog.items[i].prio == e->prio && !strcmp(d->backlog.items[i].id, e->id))
      return true;
  return false;
}

/* Moves every entry of l into the backlog (skipping ones already here:
 * an XAUTOCLAIM after a Redis outage may hand back our own entries). */
static int dispatch(jd_daemon *d, jd_entry_list *l) {
  int added = 0;
  pthread_mutex_lock(&d->mu);
  while (l->count) {
    jd_entry e;
    jd_entry_list_take(l, 0, &e);
    if (in_flight_locked(d, &e)) {
      free(e.task_json);
      continue;
    }
    if (d->backlog.count == d->backlog.cap) {
      size_t cap = d->backlog.cap ? d->backlog.cap * 2 : 8;
      jd_entry *items = realloc(d->backlog.items, cap * sizeof *items);
      if (!items) {
        free(e.task_json);
        continue; /* stays pending on us; the lease runs out, it is retaken */
      }
      d->backlog.items = items;
      d->backlog.cap = cap;
    }
    d->backlog.items[d->backlog.count++] = e;
    d->st.taken++;
    added++;
  }
  pthread_cond_broadcast(&d->cv);
  pthread_mutex_unlock(&d->mu);
  jd_entry_list_clear(l);
  return added;
}

/* Own pending entries first: what this host had taken before it stopped
 * or died is run (or given back) before anything new. */
static void take_own_pending(jd_daemon *d) {
  for (int p = 0; p < JD_PRIO_COUNT; p++) {
    char after[48] = "0";
    for (;;) {
      jd_entry_list l = {0};
      int rc;
      WITH_RETRY(rc, d, d->rq, false, jd_queue_read_own(&l, d->rq, (jd_priority)p, after, 100));
      size_t got = l.count;
      if (got) {
        /* Renewing them first also tells which ones another judger took
         * over meanwhile (our lease had run out): those are not ours. */
        const char *ids[100];
        jd_priority prios[100];
        bool ours[100];
        for (size_t i = 0; i < got; i++) {
          ids[i] = l.items[i].id;
          prios[i] = l.items[i].prio;
        }
        if (jd_queue_renew(ours, d->rq, prios, ids, got) == 0)
          for (size_t i = got; i-- > 0;)
            if (!ours[i]) {
              jd_entry gone;
              jd_entry_list_take(&l, i, &gone);
              free(gone.task_json);
            }
      }
      if (l.count)
        jd_log(JD_LOG_INFO, "queue.own_pending", "%zu pending %s entries of this host taken back",
               l.count, jd_priority_name((jd_priority)p));
      dispatch(d, &l);
      if (rc || got == 0)
        break;
    }
  }
}

/* One round: fills up to `free` slots in strict priority order. */
static int read_round(jd_daemon *d, size_t free_slots, bool claim) {
  jd_entry_list l = {0};
  int rc = 0;
  for (int p = 0; p < JD_PRIO_COUNT && l.count < free_slots; p++) {
    if (claim)
      rc = jd_queue_autoclaim(&l, d->rq, (jd_priority)p, free_slots - l.count);
    if (!rc && l.count < free_slots)
      rc = jd_queue_read_new(&l, d->rq, (jd_priority)p, free_slots - l.count);
    if (rc)
      break;
  }
  if (!rc && l.count == 0) {
    /* Nothing anywhere: block on all three until something comes. When
     * it does, Redis serves the stream that got it. */
    rc = jd_queue_read_block(&l, d->rq, 1, (long)d->cfg.block_ms);
  }
  dispatch(d, &l); /* whatever came before an error is still handled */
  return rc;
}

static void reconcile_startup(jd_daemon *d) {
  if (!d->ctx)
    return;
  jd_reconcile_report rep = {0};
  int rc = jd_reconcile_engine(&rep, d->ctx->dk, d->cfg.host_id);
  int rc2 = jd_reconcile_workdirs(&rep, d->ctx->dk, d->cfg.state_dir);
  jd_log(rc || rc2 ? JD_LOG_WARN : JD_LOG_INFO, "reconcile.startup",
         "removed %zu containers, %zu networks, %zu match work dirs of host %s%s%s", rep.containers,
         rep.networks, rep.workdirs, d->cfg.host_id, rc || rc2 ? "; error: " : "",
         rc || rc2 ? dk_strerror(rc ? rc : rc2) : "");
}

static void release_backlog(jd_daemon *d) {
  jd_entry_list l = {0};
  pthread_mutex_lock(&d->mu);
  l = d->backlog;
  memset(&d->backlog, 0, sizeof d->backlog);
  pthread_mutex_unlock(&d->mu);
  for (size_t i = 0; i < l.count; i++)
    if (jd_queue_release(d->rq, l.items[i].prio, l.items[i].id) == 0)
      jd_log(JD_LOG_INFO, "entry.released", "entry %s (%s) not started: given back", l.items[i].id,
             jd_priority_name(l.items[i].prio));
  jd_entry_list_clear(&l);
}

static void drain(jd_daemon *d) {
  release_backlog(d);
  pthread_mutex_lock(&d->mu);
  if (d->busy)
    jd_log(JD_LOG_INFO, "daemon.drain", "%d running tasks get %lld ms to finish", d->busy,
           (long long)(d->stop_deadline_ms - jd_mono_ms()));
  while (d->busy > 0 && jd_mono_ms() < d->stop_deadline_ms)
    wait_ms(d, d->stop_deadline_ms - jd_mono_ms());
  if (d->busy > 0) {
    jd_log(JD_LOG_WARN, "daemon.drain_timeout", "cancelling %d running tasks and giving them back",
           d->busy);
    for (int i = 0; i < d->nslots; i++)
      if (d->slots[i].busy) {
        d->slots[i].drained = true;
        if (d->slots[i].cancel)
          dk_cancel_fire(d->slots[i].cancel);
      }
  }
  /* Cancelled tasks end quickly; Redis waits end at a short hard stop. */
  int64_t hard = jd_mono_ms() + 10000;
  while (d->busy > 0 && jd_mono_ms() < hard)
    wait_ms(d, hard - jd_mono_ms());
  d->hard_stop = true;
  pthread_cond_broadcast(&d->cv);
  while (d->busy > 0)
    wait_ms(d, 1000);
  d->workers_exit = true;
  d->keeper_exit = true;
  pthread_cond_broadcast(&d->cv);
  pthread_mutex_unlock(&d->mu);
}

int jd_daemon_run(jd_daemon *d) {
  d->started_ms = jd_unix_ms();
  jd_log_set_level(level_of(d->cfg.log_level));
  jd_log_set_json(d->cfg.log_json);
  jd_log(JD_LOG_INFO, "daemon.start", "host %s, %d slots, Redis %s, lease %lld ms", d->cfg.host_id,
         d->nslots, jd_redis_display_url(jd_queue_redis(d->rq)), (long long)d->cfg.lease_ms);
  if (jd_mkdir_p(d->cfg.state_dir, 0755) || jd_mkdir_p(d->cfg.out_dir, 0755)) {
    snprintf(d->err, sizeof d->err, "cannot make %s or %s: %s", d->cfg.state_dir, d->cfg.out_dir,
             strerror(errno));
    return -1;
  }
  /* Before the first task: what a previous run of this host left. */
  reconcile_startup(d);
  int rc;
  bool warned = false;
  while ((rc = jd_queue_setup(d->rq)) == JD_REDIS_ECONN) {
    if (!warned)
      jd_log(JD_LOG_WARN, "redis.down", "%s; retrying with backoff", jd_queue_error(d->rq));
    warned = true;
    if (!redis_wait(d, d->rq, false))
      return 0;
  }
  if (rc) {
    snprintf(d->err, sizeof d->err, "Redis: %s", jd_queue_error(d->rq));
    return -1;
  }
  spool_flush(d);
  take_own_pending(d);
  for (int i = 0; i < d->nslots; i++) {
    if (pthread_create(&d->slots[i].th, NULL, worker_main, &d->slots[i]) == 0)
      d->slots[i].started = true;
  }
  d->keeper_started = pthread_create(&d->keeper, NULL, keeper_main, d) == 0;
  pthread_mutex_lock(&d->mu);
  d->ready = true;
  pthread_mutex_unlock(&d->mu);
  jd_log(JD_LOG_INFO, "daemon.ready", "taking tasks");
  int64_t next_claim = 0;
  bool redis_down = false;
  for (;;) {
    pthread_mutex_lock(&d->mu);
    while (!d->stopping && d->busy + (int)d->backlog.count >= d->nslots)
      pthread_cond_wait(&d->cv, &d->mu);
    bool stop = d->stopping;
    size_t free_slots = (size_t)(d->nslots - d->busy - (int)d->backlog.count);
    pthread_mutex_unlock(&d->mu);
    if (stop)
      break;
    bool claim = jd_mono_ms() >= next_claim;
    if (claim)
      next_claim = jd_mono_ms() + d->cfg.lease_ms / 2;
    rc = read_round(d, free_slots, claim);
    if (rc == JD_REDIS_ECONN) {
      if (!redis_down)
        jd_log(JD_LOG_WARN, "redis.down", "%s; running tasks go on, retrying with backoff",
               jd_queue_error(d->rq));
      redis_down = true;
      redis_wait(d, d->rq, false);
    } else if (rc) {
      jd_log(JD_LOG_ERROR, "queue.read", "%s", jd_queue_error(d->rq));
      redis_wait(d, d->rq, false);
    } else if (redis_down) {
      redis_down = false;
      jd_log(JD_LOG_INFO, "redis.up", "connected again");
    }
  }
  jd_log(JD_LOG_INFO, "daemon.stop", "no new tasks; draining");
  drain(d);
  for (int i = 0; i < d->nslots; i++)
    if (d->slots[i].started)
      pthread_join(d->slots[i].th, NULL);
  if (d->keeper_started)
    pthread_join(d->keeper, NULL);
  jd_queue_host_gone(d->rq);
  jd_log(JD_LOG_INFO, "daemon.exit", "stopped");
  return 0;
}
