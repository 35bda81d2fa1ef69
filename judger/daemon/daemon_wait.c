/* What every thread of the daemon shares, apart from the lifecycle in
 * daemon.c (so the reader, the guard, the sweeper, the keeper and the
 * workers depend on this file and daemon.c on them, never both ways):
 * waiting on the daemon's one condition variable, waiting out a Redis
 * backoff, counting under the one lock. */
#include <pthread.h>

#include "common/clock.h"
#include "daemon/daemon_internal.h"

void jd_daemon_wait_ms(jd_daemon *d, int64_t ms) {
  if (ms <= 0)
    return;
  struct timespec ts = jd_mono_after(ms);
  pthread_cond_timedwait(&d->cv, &d->mu, &ts);
}

void jd_daemon_count(jd_daemon *d, uint64_t *counter) {
  pthread_mutex_lock(&d->mu);
  (*counter)++;
  pthread_mutex_unlock(&d->mu);
}

bool jd_daemon_redis_wait(jd_daemon *d, jd_queue *q, bool keep_on_stop) {
  int64_t ms = jd_queue_backoff_ms(q);
  if (ms < 50)
    ms = 50;
  pthread_mutex_lock(&d->mu);
  bool go = !d->hard_stop && (keep_on_stop || !d->stopping);
  if (go)
    jd_daemon_wait_ms(d, ms);
  go = !d->hard_stop && (keep_on_stop || !d->stopping);
  pthread_mutex_unlock(&d->mu);
  return go;
}
