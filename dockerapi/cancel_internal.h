/* Private to libdockerapi: the layout of a cancel token and how a running
 * call registers to be woken when it fires. */
#ifndef DOCKERAPI_CANCEL_INTERNAL_H
#define DOCKERAPI_CANCEL_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include <curl/curl.h>

#include "dockerapi/cancel.h"

/* A call waiting in curl_multi_poll on `multi`; firing the token wakes it. */
typedef struct dk__waiter {
  CURLM *multi;
  struct dk__waiter *next;
} dk__waiter;

struct dk_cancel {
  atomic_int fired;
  pthread_mutex_t mu; /* guards waiters */
  dk__waiter *waiters;
};

/* Registers w (owned by the caller, on its stack) until unwatch; k NULL =
 * nothing to watch. */
void dk__cancel_watch(dk_cancel *k, dk__waiter *w);
void dk__cancel_unwatch(dk_cancel *k, dk__waiter *w);

/* Whether the call's token has fired (call and its token may be NULL). */
bool dk__call_canceled(const dk_call *call);
/* How long the call may wait now: max_ms, or less when its deadline is
 * nearer; 0 when the deadline has passed. */
long dk__call_wait_ms(const dk_call *call, long max_ms);

#endif
