/* The client's pool of reusable connections (libcurl multi + easy pairs). */
#include <pthread.h>
#include <stdlib.h>

#include "client_internal.h"
#include "pool.h"

#define POOL_MAX 8

dk__conn *dk__conn_get(dk_client *c) {
  pthread_mutex_lock(&c->mu);
  dk__conn *k = c->pool;
  if (k) {
    c->pool = k->next;
    c->pool_size--;
  }
  pthread_mutex_unlock(&c->mu);
  if (k) {
    curl_easy_reset(k->easy);
    return k;
  }
  k = calloc(1, sizeof *k);
  if (!k)
    return NULL;
  k->multi = curl_multi_init();
  k->easy = curl_easy_init();
  if (!k->multi || !k->easy) {
    if (k->multi)
      curl_multi_cleanup(k->multi);
    if (k->easy)
      curl_easy_cleanup(k->easy);
    free(k);
    return NULL;
  }
  return k;
}

static void conn_destroy(dk__conn *k) {
  curl_easy_cleanup(k->easy);
  curl_multi_cleanup(k->multi);
  free(k);
}

void dk__conn_put(dk_client *c, dk__conn *k, int reusable) {
  if (!reusable) {
    conn_destroy(k);
    return;
  }
  pthread_mutex_lock(&c->mu);
  if (c->pool_size < POOL_MAX) {
    k->next = c->pool;
    c->pool = k;
    c->pool_size++;
    k = NULL;
  }
  pthread_mutex_unlock(&c->mu);
  if (k)
    conn_destroy(k);
}

void dk__conn_pool_free(dk_client *c) {
  while (c->pool) {
    dk__conn *k = c->pool;
    c->pool = k->next;
    conn_destroy(k);
  }
  c->pool_size = 0;
}
