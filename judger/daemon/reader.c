/* The reader: the thread of jd_daemon_run reads the streams into the
 * backlog, in strict priority order, whenever a slot is free; claims the
 * entries whose lease ran out; and gives back what was read but not
 * started (see daemon_internal.h and docs/daemon.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "daemon/daemon_internal.h"

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
static void dispatch(jd_daemon *d, jd_entry_list *l) {
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
  }
  pthread_cond_broadcast(&d->cv);
  pthread_mutex_unlock(&d->mu);
  jd_entry_list_clear(l);
}

void jd_reader_take_own_pending(jd_daemon *d) {
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
    if (claim) {
      size_t before = l.count;
      rc = jd_queue_autoclaim(&l, d->rq, (jd_priority)p, free_slots - l.count);
      jd_dmetrics_lease_takeovers(d->metrics, (unsigned)(l.count - before));
    }
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

void jd_reader_release_backlog(jd_daemon *d) {
  jd_entry_list l = {0};
  pthread_mutex_lock(&d->mu);
  l = d->backlog;
  memset(&d->backlog, 0, sizeof d->backlog);
  for (size_t i = 0; i < l.count; i++)
    jd_lookahead_left_locked(d, &l.items[i], false);
  pthread_mutex_unlock(&d->mu);
  for (size_t i = 0; i < l.count; i++)
    if (jd_queue_release(d->rq, l.items[i].prio, l.items[i].id) == 0)
      jd_log(JD_LOG_INFO, "entry.released", "entry %s (%s) not started: given back", l.items[i].id,
             jd_priority_name(l.items[i].prio));
  jd_entry_list_clear(&l);
}

/* Whether the reader has nothing to do: every slot is taken, or a pause
 * (guard.h) is in force and nothing read is left to give back. (The
 * look-ahead never makes it read more: it peeks, lookahead.c.) */
static bool reader_waits_locked(const jd_daemon *d) {
  if (d->stopping)
    return false;
  if (jd_paused_locked(d))
    return d->backlog.count == 0;
  return d->busy + (int)d->backlog.count >= d->nslots;
}

/* Paused, the reader reads nothing and gives back what was read but not
 * started (for other hosts). */
void jd_reader_loop(jd_daemon *d) {
  int64_t next_claim = 0;
  bool redis_down = false;
  for (;;) {
    pthread_mutex_lock(&d->mu);
    while (reader_waits_locked(d))
      pthread_cond_wait(&d->cv, &d->mu);
    bool stop = d->stopping, give_back = jd_paused_locked(d) && d->backlog.count;
    size_t free_slots = (size_t)(d->nslots - d->busy - (int)d->backlog.count);
    pthread_mutex_unlock(&d->mu);
    if (stop)
      break;
    if (give_back) {
      jd_reader_release_backlog(d);
      continue;
    }
    bool claim = jd_mono_ms() >= next_claim;
    if (claim)
      next_claim = jd_mono_ms() + d->cfg.lease_ms / 2;
    int rc = read_round(d, free_slots, claim);
    bool lost = rc && jd_queue_lost(d->rq);
    jd_dmetrics_redis_up(d->metrics, !lost);
    if (lost) {
      if (!redis_down)
        jd_log(JD_LOG_WARN, "redis.down", "%s; running tasks go on, retrying with backoff",
               jd_queue_error(d->rq));
      redis_down = true;
      jd_daemon_redis_wait(d, d->rq, false);
    } else if (rc) {
      jd_log(JD_LOG_ERROR, "queue.read", "%s", jd_queue_error(d->rq));
      jd_daemon_redis_wait(d, d->rq, false);
    } else if (redis_down) {
      redis_down = false;
      jd_log(JD_LOG_INFO, "redis.up", "connected again");
    }
  }
}
