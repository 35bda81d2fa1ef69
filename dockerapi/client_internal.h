/* Private layout of dk_client and dk_cancel, shared by client.c and http.c. */
#ifndef DOCKERAPI_CLIENT_INTERNAL_H
#define DOCKERAPI_CLIENT_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include <curl/curl.h>

#include "dockerapi/client.h"

/* One reusable connection: a multi handle (so calls can be woken for
 * cancellation) with its easy handle; reusing them keeps the connection. */
typedef struct dk__conn {
  CURLM *multi;
  CURL *easy;
  struct dk__conn *next;
} dk__conn;

struct dk_client {
  dk_host_url url;
  char *host; /* as given, for messages */
  int tls;
  char *ca, *cert, *key;
  char base[300]; /* "http://localhost" or "https://host:port" */
  char version[16];
  int negotiated;
  long connect_timeout_ms;
  pthread_mutex_t mu; /* guards version/negotiated and the pool */
  dk__conn *pool;
  int pool_size;
};

typedef struct dk__waiter {
  CURLM *multi;
  struct dk__waiter *next;
} dk__waiter;

struct dk_cancel {
  atomic_int fired;
  pthread_mutex_t mu;
  dk__waiter *waiters;
};

int dk__negotiate(dk_client *c);
void dk__conn_pool_free(dk_client *c);
/* TLS options of an easy handle for this client (nothing when plain). */
void dk__set_tls(CURL *e, const dk_client *c);
void dk__cancel_watch(dk_cancel *k, dk__waiter *w);
void dk__cancel_unwatch(dk_cancel *k, dk__waiter *w);

#endif
