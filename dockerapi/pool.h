/* Private to libdockerapi: the client's pool of reusable connections. */
#ifndef DOCKERAPI_POOL_H
#define DOCKERAPI_POOL_H

#include <curl/curl.h>

#include "dockerapi/client.h"

/* One reusable connection: a multi handle (so calls can be woken for
 * cancellation) with its easy handle; reusing them keeps the connection. */
typedef struct dk__conn {
  CURLM *multi;
  CURL *easy;
  struct dk__conn *next;
} dk__conn;

/* A pooled connection (its easy handle reset) or a new one; NULL when out
 * of memory. The caller gives it back with dk__conn_put. */
dk__conn *dk__conn_get(dk_client *c);
/* Pools k, or destroys it when not reusable (a transfer aborted mid-stream
 * leaves the wire in an unknown state) or when the pool is full. */
void dk__conn_put(dk_client *c, dk__conn *k, int reusable);
/* Destroys every pooled connection (the client is being freed). */
void dk__conn_pool_free(dk_client *c);

#endif
