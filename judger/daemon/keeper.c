/* The keeper: every lease/3 it renews the leases of running and waiting
 * entries, ends stalled tasks, copies match progress into the tasks' status
 * records, writes the host heartbeat, and now and then removes the
 * containers of dead hosts (see daemon_internal.h and docs/daemon.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/version.h"
#include "daemon/daemon_internal.h"
#include "daemon/reconcile.h"

/* ---- the heartbeat ----------------------------------------------------------- */

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

/* The running tasks with their progress, as `judger status` lists them. */
static json_object *running_tasks_locked(const jd_daemon *d) {
  json_object *tasks = json_object_new_array();
  for (int i = 0; i < d->nslots; i++) {
    const jd_slot *s = &d->slots[i];
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
  return tasks;
}

/* The guard's state (guard.h): "paused" (the first reason in force, or
 * null), every reason in force, and the disks watched. */
static void guard_json_locked(json_object *o, const jd_daemon *d) {
  jd_pause p = jd_guard_paused(&d->guard);
  json_object *reasons = json_object_new_array(), *disks = json_object_new_object();
  for (int i = 0; i < JD_PAUSE_COUNT; i++)
    if (d->guard.paused[i])
      json_object_array_add(reasons, json_object_new_string(jd_pause_name((jd_pause)i)));
  for (int i = 0; i < JD_GUARDED_COUNT; i++) {
    const jd_guard_disk *k = &d->guard.disks[i];
    if (!k->checked)
      continue;
    json_object *g = json_object_new_object();
    json_object_object_add(g, "path", json_object_new_string(k->path));
    json_object_object_add(g, "free_bytes", json_object_new_int64((int64_t)k->r.free_bytes));
    json_object_object_add(g, "total_bytes", json_object_new_int64((int64_t)k->r.total_bytes));
    json_object_object_add(g, "free_inodes", json_object_new_int64((int64_t)k->r.free_inodes));
    json_object_object_add(g, "total_inodes", json_object_new_int64((int64_t)k->r.total_inodes));
    json_object_object_add(g, "low", json_object_new_boolean(k->low));
    json_object_object_add(disks, jd_guarded_name((jd_guarded)i), g);
  }
  json_object_object_add(o, "paused",
                         p < JD_PAUSE_COUNT ? json_object_new_string(jd_pause_name(p)) : NULL);
  json_object_object_add(o, "paused_reasons", reasons);
  json_object_object_add(o, "disks", disks);
}

static json_object *heartbeat_locked(const jd_daemon *d) {
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
  json_object_object_add(o, "tasks", running_tasks_locked(d));
  guard_json_locked(o, d);
  return o;
}

/* ---- dead hosts ------------------------------------------------------------------ */

typedef struct dead_host {
  char *id;
  int64_t since_ms; /* first seen without heartbeat */
} dead_host;

typedef struct dead_hosts {
  dead_host *items;
  size_t count;
} dead_hosts;

static void dead_hosts_clear(dead_hosts *l) {
  for (size_t i = 0; i < l->count; i++)
    free(l->items[i].id);
  free(l->items);
  l->items = NULL;
  l->count = 0;
}

static int64_t first_seen(const dead_hosts *known, const char *host, int64_t now) {
  for (size_t i = 0; i < known->count; i++)
    if (!strcmp(known->items[i].id, host))
      return known->items[i].since_ms;
  return now;
}

static void reap_host(jd_daemon *d, const char *host) {
  jd_reconcile_report rep = {0};
  /* A live run on this state dir under that host id (a `judger run`
   * with --host-id) is not the dead daemon's. */
  int rc = jd_reconcile_engine_in(&rep, d->ctx->dk, host, d->cfg.state_dir, NULL, NULL);
  if (rep.containers || rep.networks || rc)
    jd_log(rc ? JD_LOG_WARN : JD_LOG_INFO, "reconcile.dead_host",
           "host %s is dead: removed %zu containers, %zu networks%s%s", host, rep.containers,
           rep.networks, rc ? "; error: " : "", rc ? rep.error : "");
}

/* Containers of a host whose heartbeat expired are removed once it stayed
 * dead for two leases: a host merely cut off from Redis for a moment keeps
 * its running matches. known is rebuilt: hosts back alive drop out. */
static void reap_dead_hosts(jd_daemon *d, dead_hosts *known) {
  char **dead = NULL;
  if (jd_queue_dead_hosts(&dead, d->kq))
    return;
  int64_t now = jd_mono_ms();
  dead_hosts next = {calloc(1, sizeof *next.items), 0};
  for (char **h = dead; h && *h; h++) {
    int64_t since = first_seen(known, *h, now);
    if (now - since >= 2 * d->cfg.lease_ms)
      reap_host(d, *h);
    dead_host *grown = realloc(next.items, (next.count + 1) * sizeof *next.items);
    if (!grown)
      break;
    next.items = grown;
    next.items[next.count].id = strdup(*h);
    next.items[next.count].since_ms = since;
    if (next.items[next.count].id)
      next.count++;
  }
  dead_hosts_clear(known);
  *known = next;
  for (char **h = dead; h && *h; h++)
    free(*h);
  free(dead);
}

/* ---- one round ------------------------------------------------------------------ */

/* An entry whose lease the keeper renews. */
typedef struct lease_item {
  jd_priority prio;
  char id[48];
  int slot; /* -1: a backlog entry */
} lease_item;

typedef struct progress_item {
  char task_id[JD_TASK_ID_MAX + 1];
  long long claim;
  char progress[PROGRESS_MAX];
} progress_item;

/* A running task's claim, renewed with its entry's lease. */
typedef struct claim_item {
  char task_id[JD_TASK_ID_MAX + 1];
  long long claim;
  int slot;
} claim_item;

/* What one round writes to Redis, copied under d->mu so no Redis call
 * happens with the lock held. */
typedef struct round_state {
  lease_item *leases; /* running entries, then the backlog */
  size_t nleases;
  progress_item *progress; /* tasks whose progress changed */
  size_t nprogress;
  claim_item *claims; /* running tasks' claims */
  size_t nclaims;
  json_object *heartbeat;
  bool reap;
} round_state;

static void round_state_clear(round_state *r) {
  free(r->leases);
  free(r->progress);
  free(r->claims);
  json_object_put(r->heartbeat);
  memset(r, 0, sizeof *r);
}

static void add_lease(round_state *r, jd_priority prio, const char *id, int slot) {
  lease_item *it = &r->leases[r->nleases++];
  it->prio = prio;
  snprintf(it->id, sizeof it->id, "%s", id);
  it->slot = slot;
}

/* Ends a task that reported nothing for stall_ms: its executor sees the
 * cancel, the worker stores it as "stalled". */
static void end_if_stalled_locked(const jd_daemon *d, jd_slot *s, int64_t now) {
  if (d->cfg.stall_ms <= 0 || !s->cancel || s->stalled ||
      now - s->last_activity_ms <= d->cfg.stall_ms)
    return;
  s->stalled = true;
  dk_cancel_fire(s->cancel);
  jd_log_task(JD_LOG_WARN, "task.stalled", s->task_id, "no progress for %lld ms: ending it",
              (long long)(now - s->last_activity_ms));
}

/* Copies what the round needs from the slots and the backlog; ends stalled
 * tasks on the way. -1 when memory runs out (nothing is copied then, the
 * heartbeat is still made). */
static int round_collect_locked(round_state *r, jd_daemon *d, int round) {
  size_t cap = (size_t)d->nslots + d->backlog.count;
  r->leases = calloc(cap ? cap : 1, sizeof *r->leases);
  r->progress = calloc((size_t)d->nslots, sizeof *r->progress);
  r->claims = calloc((size_t)d->nslots, sizeof *r->claims);
  r->heartbeat = heartbeat_locked(d);
  d->heartbeat_due = false;
  r->reap = d->ctx && d->cfg.reap_dead_hosts && round % 10 == 0;
  if (!r->leases || !r->progress || !r->claims)
    return -1;
  int64_t now = jd_mono_ms();
  for (int i = 0; i < d->nslots; i++) {
    jd_slot *s = &d->slots[i];
    if (!s->busy)
      continue;
    add_lease(r, s->entry.prio, s->entry.id, i);
    /* A run that is finishing gives its claim up itself: not renewed. */
    if (s->claim != JD_CLAIM_NONE && s->task_id[0] && !s->claim_lost && !s->finishing) {
      claim_item *c = &r->claims[r->nclaims++];
      snprintf(c->task_id, sizeof c->task_id, "%s", s->task_id);
      c->claim = s->claim;
      c->slot = i;
    }
    if (s->progress_dirty && s->task_id[0]) {
      progress_item *p = &r->progress[r->nprogress++];
      snprintf(p->task_id, sizeof p->task_id, "%s", s->task_id);
      p->claim = s->claim;
      snprintf(p->progress, sizeof p->progress, "%s", s->progress);
      s->progress_dirty = false;
    }
    end_if_stalled_locked(d, s, now);
  }
  for (size_t i = 0; i < d->backlog.count; i++)
    add_lease(r, d->backlog.items[i].prio, d->backlog.items[i].id, -1);
  return 0;
}

/* An entry the renewal found no longer ours: a running task goes on (the
 * first result stored wins), a waiting one is forgotten. */
static void lease_lost_locked(jd_daemon *d, const lease_item *it) {
  if (it->slot >= 0) {
    jd_slot *s = &d->slots[it->slot];
    if (s->busy && !strcmp(s->entry.id, it->id) && !s->lease_lost && !s->finishing) {
      s->lease_lost = true;
      jd_log_task(JD_LOG_WARN, "lease.lost", s->task_id[0] ? s->task_id : NULL,
                  "entry %s is no longer pending on this host", it->id);
    }
    return;
  }
  /* Not started and someone else has it now: forget it. */
  for (size_t k = 0; k < d->backlog.count; k++) {
    if (strcmp(d->backlog.items[k].id, it->id) || d->backlog.items[k].prio != it->prio)
      continue;
    jd_entry gone;
    jd_entry_list_take(&d->backlog, k, &gone);
    free(gone.task_json);
    return;
  }
}

static void renew_leases(jd_daemon *d, const round_state *r) {
  size_t n = r->nleases;
  if (!n)
    return;
  jd_priority *prios = calloc(n, sizeof *prios);
  const char **ids = calloc(n, sizeof *ids);
  bool *ours = calloc(n, sizeof *ours);
  if (prios && ids && ours) {
    for (size_t i = 0; i < n; i++) {
      prios[i] = r->leases[i].prio;
      ids[i] = r->leases[i].id;
    }
    if (jd_queue_renew(ours, d->kq, prios, ids, n) == 0) {
      unsigned kept = 0;
      pthread_mutex_lock(&d->mu);
      for (size_t i = 0; i < n; i++)
        if (!ours[i])
          lease_lost_locked(d, &r->leases[i]);
        else
          kept++;
      pthread_mutex_unlock(&d->mu);
      jd_dmetrics_lease_renewals(d->metrics, kept);
      jd_dmetrics_lease_lost(d->metrics, (unsigned)n - kept);
    }
  }
  free(prios);
  free(ids);
  free(ours);
}

/* A run whose claim another run took: it is ended (its writes would be
 * refused anyway) and writes nothing but its log line. */
static void claim_lost_locked(jd_daemon *d, const claim_item *c) {
  jd_slot *s = &d->slots[c->slot];
  if (!s->busy || s->claim != c->claim || s->claim_lost)
    return;
  s->claim_lost = true;
  if (s->cancel)
    dk_cancel_fire(s->cancel);
  jd_log_task(JD_LOG_WARN, "claim.lost", s->task_id,
              "claim %lld went to another run: ending this one", c->claim);
}

/* A run whose task (or taskset) was cancelled (`judger taskset cancel`):
 * it is ended and stored as "cancelled" with the reason (attempt.c). */
static void cancel_asked_locked(jd_daemon *d, const claim_item *c) {
  jd_slot *s = &d->slots[c->slot];
  if (!s->busy || s->claim != c->claim || s->claim_lost || s->cancel_asked)
    return;
  s->cancel_asked = true;
  if (s->cancel)
    dk_cancel_fire(s->cancel);
  jd_log_task(JD_LOG_INFO, "task.cancel", s->task_id, "cancel asked: ending the run");
}

static void renew_claims(jd_daemon *d, const round_state *r) {
  size_t n = r->nclaims;
  if (!n)
    return;
  const char **ids = calloc(n, sizeof *ids);
  long long *claims = calloc(n, sizeof *claims);
  bool *ours = calloc(n, sizeof *ours), *cancel = calloc(n, sizeof *cancel);
  if (ids && claims && ours && cancel) {
    for (size_t i = 0; i < n; i++) {
      ids[i] = r->claims[i].task_id;
      claims[i] = r->claims[i].claim;
    }
    if (jd_queue_renew_claims(ours, cancel, d->kq, ids, claims, n) == 0) {
      pthread_mutex_lock(&d->mu);
      for (size_t i = 0; i < n; i++)
        if (!ours[i])
          claim_lost_locked(d, &r->claims[i]);
        else if (cancel[i])
          cancel_asked_locked(d, &r->claims[i]);
      pthread_mutex_unlock(&d->mu);
    } else {
      jd_log(JD_LOG_WARN, "claim.renew_failed", "could not renew %zu claims: %s", n,
             jd_queue_error(d->kq));
    }
  }
  free(ids);
  free(claims);
  free(ours);
  free(cancel);
}

static void keeper_round(jd_daemon *d, int round, dead_hosts *dead) {
  round_state r = {0};
  pthread_mutex_lock(&d->mu);
  round_collect_locked(&r, d, round);
  pthread_mutex_unlock(&d->mu);
  renew_leases(d, &r);
  renew_claims(d, &r);
  for (size_t i = 0; i < r.nprogress; i++)
    jd_queue_progress(d->kq, r.progress[i].task_id, r.progress[i].claim, r.progress[i].progress);
  jd_queue_heartbeat(d->kq, json_object_to_json_string_ext(r.heartbeat, JSON_C_TO_STRING_PLAIN),
                     d->cfg.lease_ms);
  if (r.reap)
    reap_dead_hosts(d, dead);
  jd_daemon_rank_tasksets(d, d->kq);
  /* Every third round: each host reads the same sets (see metrics.md). */
  if (round % 3 == 0)
    jd_daemon_taskset_gauges(d, d->kq);
  round_state_clear(&r);
}

/* When the keeper stores the unconfirmed results again: next (monotonic
 * ms; 0 = none due), every interval ms, doubled after each flush that left
 * some unconfirmed (a replica that hangs: each flush is a WAIT of
 * replica_wait_ms and up to JD_SPOOL_FLUSH_MAX stores) up to
 * JD_SPOOL_FLUSH_BACKOFF_MAX_MS, back to JD_SPOOL_FLUSH_MS once none is. */
typedef struct flush_timer {
  int64_t next, interval;
} flush_timer;

/* Waits until the next round (tick ms, or a heartbeat due); meanwhile
 * stores the results no replica confirmed yet again when ft says. d->mu
 * held; false on exit. */
static bool keeper_wait_locked(jd_daemon *d, int64_t tick, flush_timer *ft) {
  int64_t until = jd_mono_ms() + tick;
  while (!d->keeper_exit && !d->heartbeat_due && jd_mono_ms() < until) {
    int64_t now = jd_mono_ms();
    if (d->nunconfirmed && !ft->next) {
      ft->interval = JD_SPOOL_FLUSH_MS;
      ft->next = now + ft->interval; /* new ones: their WAIT just ran out */
    }
    if (d->nunconfirmed && now >= ft->next) {
      pthread_mutex_unlock(&d->mu);
      jd_spool_flush_unconfirmed(d, d->kq);
      pthread_mutex_lock(&d->mu);
      ft->interval = d->nunconfirmed ? ft->interval * 2 : JD_SPOOL_FLUSH_MS;
      if (ft->interval > JD_SPOOL_FLUSH_BACKOFF_MAX_MS)
        ft->interval = JD_SPOOL_FLUSH_BACKOFF_MAX_MS;
      ft->next = jd_mono_ms() + ft->interval;
      continue;
    }
    if (!d->nunconfirmed)
      ft->next = 0;
    int64_t wake = d->nunconfirmed && ft->next < until ? ft->next : until;
    jd_daemon_wait_ms(d, wake - now);
  }
  return !d->keeper_exit;
}

void *jd_keeper_main(void *arg) {
  jd_daemon *d = arg;
  int64_t tick = d->cfg.lease_ms / 3;
  flush_timer ft = {0, JD_SPOOL_FLUSH_MS};
  if (tick < 50)
    tick = 50;
  dead_hosts dead = {0};
  for (int round = 0;; round++) {
    keeper_round(d, round, &dead);
    pthread_mutex_lock(&d->mu);
    bool go_on = keeper_wait_locked(d, tick, &ft);
    pthread_mutex_unlock(&d->mu);
    if (!go_on)
      break;
  }
  /* A last try for what waits for its replicas (else: the next start). */
  if (jd_spool_unconfirmed_count(d))
    jd_spool_flush_unconfirmed(d, d->kq);
  dead_hosts_clear(&dead);
  return NULL;
}
