/* Teardowns off the slots: a run's result is stored and its slot freed
 * before what it created is removed; the removal (the executor's
 * teardown()) runs here, on a few threads of its own (see
 * daemon_internal.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "daemon/daemon_internal.h"

struct jd_teardown_rec {
  void *handle;    /* NULL: a free record */
  bool taken;      /* a teardown thread runs it */
  char owner[320]; /* the run's owner label: reconciliation leaves it alone */
  char task_id[JD_TASK_ID_MAX + 1];
};

int jd_teardowns_new(jd_daemon *d) {
  d->ntd = d->nslots;
  d->tds = calloc((size_t)d->ntd, sizeof *d->tds);
  d->td_th = calloc((size_t)d->ntd, sizeof *d->td_th);
  return d->tds && d->td_th ? 0 : -1;
}

void jd_teardowns_free(jd_daemon *d) {
  free(d->tds);
  free(d->td_th);
}

/* Runs one teardown (d->mu not held) and notes its time. */
static void run_one(jd_daemon *d, void *handle, const char *task_id) {
  double s = d->exec.teardown(d->exec.self, handle);
  if (s >= 0)
    jd_dmetrics_phase(d->metrics, JD_PHASE_TEARDOWN, s);
  jd_log_task(JD_LOG_DEBUG, "task.teardown", task_id, "removed in %.3f s", s);
}

static jd_teardown_rec *next_locked(jd_daemon *d) {
  for (int i = 0; i < d->ntd; i++)
    if (d->tds[i].handle && !d->tds[i].taken)
      return &d->tds[i];
  return NULL;
}

static void *teardown_main(void *arg) {
  jd_daemon *d = arg;
  pthread_mutex_lock(&d->mu);
  for (;;) {
    jd_teardown_rec *r = next_locked(d);
    if (!r && d->td_exit)
      break;
    if (!r) {
      pthread_cond_wait(&d->cv, &d->mu);
      continue;
    }
    r->taken = true;
    char task_id[sizeof r->task_id];
    memcpy(task_id, r->task_id, sizeof task_id);
    pthread_mutex_unlock(&d->mu);
    run_one(d, r->handle, task_id);
    pthread_mutex_lock(&d->mu);
    r->handle = NULL;
    r->taken = false;
    r->owner[0] = '\0';
    d->td_pending--;
    pthread_cond_broadcast(&d->cv);
  }
  pthread_mutex_unlock(&d->mu);
  return NULL;
}

void jd_teardowns_start(jd_daemon *d) {
  if (!d->exec.teardown)
    return;
  for (int i = 0; i < d->ntd; i++)
    if (pthread_create(&d->td_th[i], NULL, teardown_main, d) == 0)
      d->ntd_started++;
}

void jd_teardowns_join(jd_daemon *d) {
  pthread_mutex_lock(&d->mu);
  d->td_exit = true;
  pthread_cond_broadcast(&d->cv);
  pthread_mutex_unlock(&d->mu);
  for (int i = 0; i < d->ntd_started; i++)
    pthread_join(d->td_th[i], NULL);
  d->ntd_started = 0;
}

void jd_teardown_hand_off(jd_daemon *d, jd_slot *s, void *handle) {
  if (!handle || !d->exec.teardown)
    return;
  pthread_mutex_lock(&d->mu);
  /* Bounded: with every record taken the slot stays busy until one is
   * free, so a slow engine cannot pile teardowns up. */
  jd_teardown_rec *r = NULL;
  while (d->ntd_started > 0 && !d->td_exit) {
    for (int i = 0; i < d->ntd && !r; i++)
      if (!d->tds[i].handle)
        r = &d->tds[i];
    if (r)
      break;
    pthread_cond_wait(&d->cv, &d->mu);
  }
  if (!r) {
    /* No teardown thread: removed here, on the slot. */
    pthread_mutex_unlock(&d->mu);
    run_one(d, handle, s->task_id);
    return;
  }
  r->handle = handle;
  r->taken = false;
  snprintf(r->owner, sizeof r->owner, "%s", s->owner);
  snprintf(r->task_id, sizeof r->task_id, "%s", s->task_id);
  d->td_pending++;
  pthread_cond_broadcast(&d->cv);
  pthread_mutex_unlock(&d->mu);
}

size_t jd_teardown_owners_locked(const jd_daemon *d, char **v, size_t cap) {
  size_t n = 0;
  for (int i = 0; i < d->ntd && n < cap; i++)
    if (d->tds[i].handle && d->tds[i].owner[0]) {
      v[n] = strdup(d->tds[i].owner);
      n += v[n] != NULL;
    }
  return n;
}
