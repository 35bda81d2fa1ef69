/* Cancel tokens and the clock of deadlines. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "cancel_internal.h"
#include "dockerapi/error.h"

int64_t dk_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int dk_cancel_new(dk_cancel **out) {
  *out = NULL;
  dk_cancel *k = calloc(1, sizeof *k);
  if (!k)
    return DK_ENOMEM;
  atomic_init(&k->fired, 0);
  pthread_mutex_init(&k->mu, NULL);
  *out = k;
  return DK_OK;
}

void dk_cancel_fire(dk_cancel *k) {
  if (!k)
    return;
  atomic_store(&k->fired, 1);
  pthread_mutex_lock(&k->mu);
  for (dk__waiter *w = k->waiters; w; w = w->next)
    curl_multi_wakeup(w->multi);
  pthread_mutex_unlock(&k->mu);
}

bool dk_cancel_fired(const dk_cancel *k) { return k && atomic_load(&k->fired); }

void dk_cancel_free(dk_cancel *k) {
  if (!k)
    return;
  pthread_mutex_destroy(&k->mu);
  free(k);
}

void dk__cancel_watch(dk_cancel *k, dk__waiter *w) {
  if (!k)
    return;
  pthread_mutex_lock(&k->mu);
  w->next = k->waiters;
  k->waiters = w;
  pthread_mutex_unlock(&k->mu);
}

void dk__cancel_unwatch(dk_cancel *k, dk__waiter *w) {
  if (!k)
    return;
  pthread_mutex_lock(&k->mu);
  for (dk__waiter **p = &k->waiters; *p; p = &(*p)->next) {
    if (*p == w) {
      *p = w->next;
      break;
    }
  }
  pthread_mutex_unlock(&k->mu);
}

bool dk__call_canceled(const dk_call *call) { return call && dk_cancel_fired(call->cancel); }

long dk__call_wait_ms(const dk_call *call, long max_ms) {
  if (!call || !call->deadline_ms)
    return max_ms;
  int64_t left = call->deadline_ms - dk_now_ms();
  if (left <= 0)
    return 0;
  return left < max_ms ? (long)left : max_ms;
}
