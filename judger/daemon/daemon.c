/* The daemon's lifecycle: new, run (start up, threads, drain, stop), stop,
 * reload (see daemon.h, daemon_internal.h and docs/daemon.md). The reader
 * is in reader.c, the workers in worker.c, how an attempt ends in
 * attempt.c, the keeper in keeper.c, the result spool in spool.c, the
 * waits every thread shares in daemon_wait.c. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "common/clock.h"
#include "common/context.h"
#include "common/engine.h"
#include "common/log.h"
#include "common/util.h"
#include "common/watch_token.h"
#include "daemon/daemon_internal.h"
#include "daemon/engine_watch.h"
#include "daemon/reconcile.h"

static jd_queue_opts queue_opts(jd_daemon *d) {
  jd_queue_opts o = {.redis_url = d->cfg.redis,
                     .prefix = d->cfg.prefix,
                     .group = d->cfg.group,
                     .consumer = d->cfg.host_id,
                     .lease_ms = d->cfg.lease_ms,
                     .entry_max_bytes = (size_t)d->cfg.entry_max_bytes,
                     .min_replicas_acked = d->cfg.min_replicas_acked,
                     .replica_wait_ms = d->cfg.replica_wait_ms};
  o.redis.io_timeout_ms = 5000;
  o.redis.connect_timeout_ms = 2000;
  o.redis.stats = &d->redis_stats;
  return o;
}

/* The engine client's error observer (dockerapi/client.h). */
static void on_engine_error(void *ud, const char *method, const char *path, int code) {
  (void)code;
  jd_dmetrics_engine_error(ud, method, path);
}

int jd_daemon_new(jd_daemon **out, const jd_config *cfg, jd_ctx *ctx, const jd_executor *exec) {
  *out = NULL;
  jd_daemon *d = calloc(1, sizeof *d);
  if (!d)
    return -1;
  pthread_mutex_init(&d->mu, NULL);
  jd_redis_stats_init(&d->redis_stats);
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
  d->engine_up = ctx != NULL; /* until its event stream says otherwise */
  d->exec = *exec;
  d->nslots = cfg->slots > 0 ? cfg->slots : 1;
  d->slots = calloc((size_t)d->nslots, sizeof *d->slots);
  jd_queue_opts qo = queue_opts(d);
  if (!d->slots || jd_teardowns_new(d) || jd_queue_new(&d->rq, &qo) || jd_queue_new(&d->kq, &qo)) {
    jd_daemon_free(d);
    return -1;
  }
  if (d->cfg.lookahead && ctx && jd_queue_new(&d->la.q, &qo)) { /* the look-ahead's peeks */
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
  if (d->cfg.metrics_listen && *d->cfg.metrics_listen) {
    if (jd_dmetrics_new(&d->metrics, d->nslots)) {
      jd_daemon_free(d);
      return -1;
    }
    jd_dmetrics_engine_up(d->metrics, d->engine_up);
    if (ctx && ctx->dk) {
      dk_client_set_error_observer(ctx->dk, on_engine_error, d->metrics);
      jd_dmetrics_engine_client(d->metrics, ctx->dk);
    }
    jd_dmetrics_redis_stats(d->metrics, &d->redis_stats);
  }
  *out = d;
  return 0;
}

void jd_daemon_free(jd_daemon *d) {
  if (!d)
    return;
  for (int i = 0; d->slots && i < d->nslots; i++)
    jd_queue_free(d->slots[i].q);
  free(d->slots);
  jd_teardowns_free(d);
  jd_queue_free(d->rq);
  jd_queue_free(d->kq);
  jd_queue_free(d->la.q);
  jd_entry_list_clear(&d->backlog);
  dk_cancel_free(d->sweeper_cancel);
  /* The server first: it makes the hub's watchers leave. */
  jd_metrics_server_stop(d->metrics_srv);
  jd_live_hub_free(d->hub);
  /* The last entries and the TTLs of the streams that ended (2 s at most). */
  jd_live_push_stop(d->push);
  if (d->watch_key)
    OPENSSL_cleanse(d->watch_key, d->watch_keylen);
  free(d->watch_key);
  if (d->metrics && d->ctx && d->ctx->dk)
    dk_client_set_error_observer(d->ctx->dk, NULL, NULL);
  jd_dmetrics_free(d->metrics);
  jd_spool_unconfirmed_free(d);
  /* After the last queue (the live pusher's went with it). */
  jd_redis_stats_destroy(&d->redis_stats);
  jd_config_clear(&d->cfg);
  pthread_cond_destroy(&d->cv);
  pthread_mutex_destroy(&d->mu);
  free(d);
}

const char *jd_daemon_error(const jd_daemon *d) { return d->err; }

int jd_daemon_metrics_port(const jd_daemon *d) { return jd_metrics_server_port(d->metrics_srv); }

jd_dmetrics *jd_daemon_metrics(jd_daemon *d) { return d->metrics; }

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
  d->cfg.disk_low = cfg->disk_low;
  d->cfg.disk_high = cfg->disk_high;
  d->cfg.disk_low_inodes = cfg->disk_low_inodes;
  d->cfg.disk_high_inodes = cfg->disk_high_inodes;
  d->cfg.guard_ms = cfg->guard_ms;
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
  jd_log_set_level(jd_config_log_level(&d->cfg));
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
  out->teardowns = d->td_pending;
  pthread_mutex_unlock(&d->mu);
}

static void drain(jd_daemon *d) {
  jd_reader_release_backlog(d);
  pthread_mutex_lock(&d->mu);
  jd_lookahead_stop_locked(d); /* a build in flight for a running task stops too */
  if (d->busy)
    jd_log(JD_LOG_INFO, "daemon.drain", "%d running tasks get %lld ms to finish", d->busy,
           (long long)(d->stop_deadline_ms - jd_mono_ms()));
  while (d->busy > 0 && jd_mono_ms() < d->stop_deadline_ms)
    jd_daemon_wait_ms(d, d->stop_deadline_ms - jd_mono_ms());
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
    jd_daemon_wait_ms(d, hard - jd_mono_ms());
  d->hard_stop = true;
  pthread_cond_broadcast(&d->cv);
  while (d->busy > 0)
    jd_daemon_wait_ms(d, 1000);
  /* No run is left to hand one off: what is pending is removed before we
   * exit (a kill -9 leaves it to the next start's reconciliation). */
  if (d->td_pending)
    jd_log(JD_LOG_INFO, "daemon.drain", "waiting for %d teardowns", d->td_pending);
  while (d->td_pending > 0)
    jd_daemon_wait_ms(d, 1000);
  d->workers_exit = true;
  d->keeper_exit = true;
  d->sweeper_exit = true;
  d->guard_exit = true;
  if (d->sweeper_cancel)
    dk_cancel_fire(d->sweeper_cancel);
  pthread_cond_broadcast(&d->cv);
  pthread_mutex_unlock(&d->mu);
}

/* The guarantees of docs/security.md "Engines" before any task is
 * claimed: an engine that lacks one not accepted by engine_accept stops
 * the start (-1 with d->err, the message of jd_engine_require_mask), so no
 * task is taken to be refused here and retried; other hosts take them.
 * An engine that does not answer yet is waited for (backoff up to 5 s;
 * 0 with *stopped when a stop comes meanwhile): which engine it is decides
 * whether this host may claim anything. `judger daemon` checks once
 * before starting (cmd_daemon.c); this is for an engine down then. */
#define ENGINE_WAIT_MIN_MS 250
#define ENGINE_WAIT_MAX_MS 5000
static int engine_check(jd_daemon *d, bool *stopped) {
  *stopped = false;
  if (!d->ctx || !d->ctx->dk)
    return 0; /* no engine (tests with a fake executor) */
  char why[512];
  int64_t wait_ms = ENGINE_WAIT_MIN_MS;
  const jd_engine *e;
  for (bool warned = false; !(e = jd_ctx_engine(d->ctx, why, sizeof why)); warned = true) {
    /* Changed before the watch starts (the network stock's creates came
     * first): no waiting makes it answer as the engine learnt. */
    if (dk_client_engine_changed(d->ctx->dk)) {
      snprintf(d->err, sizeof d->err, "%s", why);
      return -1;
    }
    if (!warned)
      jd_log(JD_LOG_WARN, "engine.wait", "%s; waiting for it to learn its guarantees", why);
    pthread_mutex_lock(&d->mu);
    if (!d->stopping)
      jd_daemon_wait_ms(d, wait_ms);
    *stopped = d->stopping;
    pthread_mutex_unlock(&d->mu);
    if (*stopped)
      return 0;
    wait_ms = wait_ms * 2 > ENGINE_WAIT_MAX_MS ? ENGINE_WAIT_MAX_MS : wait_ms * 2;
  }
  unsigned accepted = d->ctx->engine_accept;
  if (jd_engine_require_mask(e, JD_GUARANTEE_ALL, accepted, d->err, sizeof d->err))
    return -1;
  unsigned gaps = e->lacking & accepted;
  char names[128];
  jd_guarantee_names(names, sizeof names, gaps);
  jd_log(JD_LOG_INFO, "daemon.engine", "%s %s: %s%s", dk_engine_kind_name(e->kind), e->version,
         gaps ? "guarantees not kept, accepted by engine_accept: " : "every guarantee kept", names);
  return 0;
}

/* Everything before the first read: the directories, reconciliation, the
 * consumer groups (waiting for Redis as long as it takes). 0 with *stopped
 * set when a stop came while waiting; -1 with d->err set. */
static int start_up(jd_daemon *d, bool *stopped) {
  *stopped = false;
  if (jd_mkdir_mode(d->cfg.state_dir, 0700) || jd_mkdir_p(d->cfg.out_dir, 0755)) {
    snprintf(d->err, sizeof d->err, "cannot make %s or %s: %s", d->cfg.state_dir, d->cfg.out_dir,
             strerror(errno));
    return -1;
  }
  /* Before the first task: what a previous run of this host left (the
   * sweeper looks again after reconcile_grace_ms: creates in flight). */
  jd_sweep_startup(d);
  bool warned = false;
  int rc = jd_queue_setup(d->rq);
  for (; rc && jd_queue_lost(d->rq); rc = jd_queue_setup(d->rq)) {
    if (!warned)
      jd_log(JD_LOG_WARN, "redis.down", "%s; retrying with backoff", jd_queue_error(d->rq));
    warned = true;
    if (!jd_daemon_redis_wait(d, d->rq, false)) {
      *stopped = true;
      return 0;
    }
  }
  if (rc) {
    snprintf(d->err, sizeof d->err, "Redis: %s", jd_queue_error(d->rq));
    return -1;
  }
  jd_dmetrics_redis_up(d->metrics, true);
  return 0;
}

static void start_threads(jd_daemon *d) {
  for (int i = 0; i < d->nslots; i++) {
    if (pthread_create(&d->slots[i].th, NULL, jd_worker_main, &d->slots[i]) == 0)
      d->slots[i].started = true;
  }
  jd_teardowns_start(d);
  if (jd_lookahead_on(d))
    d->la.started = pthread_create(&d->la.th, NULL, jd_lookahead_main, d) == 0;
  d->keeper_started = pthread_create(&d->keeper, NULL, jd_keeper_main, d) == 0;
  d->guard_started = pthread_create(&d->guard_th, NULL, jd_guard_main, d) == 0;
  if (d->ctx && dk_cancel_new(&d->sweeper_cancel) == 0)
    d->sweeper_started = pthread_create(&d->sweeper, NULL, jd_sweeper_main, d) == 0;
  pthread_mutex_lock(&d->mu);
  d->ready = true;
  pthread_mutex_unlock(&d->mu);
}

static void join_threads(jd_daemon *d) {
  for (int i = 0; i < d->nslots; i++)
    if (d->slots[i].started)
      pthread_join(d->slots[i].th, NULL);
  jd_teardowns_join(d);
  if (d->la.started)
    pthread_join(d->la.th, NULL);
  if (d->keeper_started)
    pthread_join(d->keeper, NULL);
  if (d->sweeper_started)
    pthread_join(d->sweeper, NULL);
  if (d->guard_started)
    pthread_join(d->guard_th, NULL);
}

/* The live streams' metrics, read at each scrape. */
static void live_counts(void *ud, int64_t *entries, int64_t *dropped, int *watchers) {
  jd_daemon *d = ud;
  *entries = jd_live_push_written(d->push);
  *dropped = jd_live_push_dropped(d->push);
  *watchers = jd_live_hub_watchers(d->hub);
}

/* The live streams (docs/queue.md "Live streams"): the watch key when one
 * is set (a key that cannot be read stops the start), the hub of the HTTP
 * watchers and the pusher into Redis. 0, or -1 with d->err set. */
static int live_start(jd_daemon *d) {
  const char *kf = d->cfg.watch_key_file;
  /* Its error names the setting and the path. */
  if (kf && *kf && jd_watch_key_read(&d->watch_key, &d->watch_keylen, kf, d->err, sizeof d->err))
    return -1;
  jd_live_caps caps = {.entries = (size_t)d->cfg.live_entries,
                       .bytes = (size_t)d->cfg.live_max_bytes,
                       .per_match = d->cfg.watchers_per_match,
                       .per_host = d->cfg.watchers_per_host,
                       .keep_ms = d->cfg.live_ttl_ms,
                       .per_ip = d->cfg.http_per_ip};
  if (jd_live_hub_new(&d->hub, &caps)) {
    snprintf(d->err, sizeof d->err, "live streams: out of memory");
    return -1;
  }
  if (jd_live_push_start_stats(&d->push, &d->cfg, &d->redis_stats, d->err, sizeof d->err))
    return -1;
  jd_dmetrics_live(d->metrics, live_counts, d);
  return 0;
}

/* Serves /metrics (and GET /live/<task>, with a watch key) when asked to
 * (before anything else: an operator sees a daemon waiting for Redis too).
 * 0, or -1 with d->err set. */
static int metrics_start(jd_daemon *d) {
  if (!d->metrics)
    return 0;
  if (jd_metrics_server_start_live(&d->metrics_srv, jd_dmetrics_registry(d->metrics),
                                   d->cfg.metrics_listen, d->hub, d->watch_key, d->watch_keylen,
                                   d->err, sizeof d->err))
    return -1;
  jd_log(JD_LOG_INFO, "metrics.listen", "serving GET /metrics%s on %s (port %d)",
         d->watch_keylen ? " and GET /live/<task id>" : "", d->cfg.metrics_listen,
         jd_metrics_server_port(d->metrics_srv));
  return 0;
}

/* From the start-up to the exit, once the engine is learnt: 0, or -1 with
 * d->err set. */
static int serve(jd_daemon *d) {
  bool stopped = false;
  if (start_up(d, &stopped))
    return -1;
  if (stopped)
    return 0;
  /* Before taking work: an engine that does not answer or a low disk
   * pauses the daemon from the start (and reclaims space first). */
  jd_guard_check(d);
  jd_spool_flush(d, d->rq);
  jd_reader_take_own_pending(d);
  start_threads(d);
  jd_log(JD_LOG_INFO, "daemon.ready", "taking tasks");
  jd_reader_loop(d);
  jd_log(JD_LOG_INFO, "daemon.stop", "no new tasks; draining");
  drain(d);
  join_threads(d);
  jd_queue_host_gone(d->rq);
  jd_log(JD_LOG_INFO, "daemon.exit", "stopped");
  return 0;
}

int jd_daemon_run(jd_daemon *d) {
  d->started_ms = jd_unix_ms();
  jd_log_set_level(jd_config_log_level(&d->cfg));
  jd_log_set_json(d->cfg.log_json);
  if (live_start(d) || metrics_start(d))
    return -1;
  jd_log(JD_LOG_INFO, "daemon.start", "host %s, %d slots, Redis %s, lease %lld ms", d->cfg.host_id,
         d->nslots, jd_redis_display_url(jd_queue_redis(d->rq)), (long long)d->cfg.lease_ms);
  bool stopped = false;
  if (engine_check(d, &stopped))
    return -1;
  if (stopped)
    return 0;
  /* From here the engine must stay the one learnt (engine_watch.h). */
  jd_engine_watch *w = NULL;
  if (jd_engine_watch_start(&w, d)) {
    snprintf(d->err, sizeof d->err, "cannot start the engine watch: out of threads or memory");
    return -1;
  }
  int rc = serve(d);
  if (jd_engine_watch_end(w, d->err, sizeof d->err))
    rc = -1; /* the engine changed: its message is the error (exit 3) */
  return rc;
}
